import type { Stats } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { JmpArgumentError, baselineMacs, countMacs, type BlockTokens, type ModelShape, type JmpMatch, type JmpSelect, type Strategy } from '@jmpjs/core';
import { UnsupportedModelError } from './errors.js';
import { compileJMP } from './graph/compile.js';
import { findLayout, type Architecture, type GraphLayout } from './graph/layout.js';
import { shapeFromConfig } from './graph/model-shape.js';
import { DataType, decodeModel, encodeModel, toNumber, type ModelProto } from './onnx/proto.js';
import type { JmpMetric } from './option-values.js';
import { optionsForModel, resolveOptions, type JMPOptions } from './options.js';
import { COMPILE_OPTION_NAMES } from './options-schema.js';
import { planSchedule, resolveHeadOnly } from './plan.js';

/** Which ONNX file of a model folder: `onnx/model.onnx`, `onnx/model_fp16.onnx` or `onnx/model_quantized.onnx`. */
export type ModelDtype = 'fp32' | 'fp16' | 'q8';

const DTYPE_FILES: Record<ModelDtype, string> = { fp32: 'model.onnx', fp16: 'model_fp16.onnx', q8: 'model_quantized.onnx' };

/** The JMP options a compiled model can have: the reduction is fixed in the graph; method 'jmp' only, with any of its metrics. */
export interface CompileJMPOptions {
  /** Only `'jmp'` (the default): ToMe and EViT are not compiled. */
  method?: 'jmp';
  /** Share of the plain model's GMACs to spend, in (0, 1]: the keep rates are planned for it (within ±1 %). Default 0.65 when no `keep` is given. */
  budget?: number;
  /** Keep rate of the patch tokens at each reduction block, one value or one per block. Default: planned from `budget`. */
  keep?: JMPOptions['keep'];
  /** 1-based reduction blocks, strictly increasing. Default every second block (`[4, 7, 10]`, scaled for other depths, with select 'attention'). */
  blocks?: JMPOptions['blocks'];
  /** Which tokens leave: `'redundancy'` (default) or `'attention'` (the paper's rule), as in `enableJMP`. */
  select?: JmpSelect;
  /** `'adaptive-token'` (default), `'adaptive'`, `'merge'` or `'prune'`. */
  strategy?: Strategy;
  /** Similarity threshold τ of the adaptive strategies (compiled into the graph). Default `DEFAULT_TAU`, as in `enableJMP`. */
  tau?: number | readonly number[];
  /** What the similarities are of, as in `enableJMP`: `'keys-per-head'`, `'keys'` (head-mean keys) or `'hidden'` (the token states). */
  metric?: JmpMetric;
  /** Select 'redundancy': how the tokens are paired, `'bipartite'` (ToMe's split, the default) or `'nearest'`, as in `enableJMP`. */
  match?: JmpMatch;
  /** Add log(size) to the attention logits after the first reduction. Default true. */
  proportionalAttention?: boolean;
  /** Run the last block's MLP on the class (and distillation) token only, as in `enableJMP`. Default: on where the head reads only those. */
  headOnly?: boolean;
}

/** Parameters of {@link compileJMPModel} and {@link inspectModel}. */
export interface CompileJMPModelParams {
  /** A model folder in transformers.js layout (`config.json`, `onnx/model*.onnx`), or an `.onnx` file. */
  model: string;
  /** Which file of a model folder (default `'fp32'`). For an `.onnx` file it is read from the graph; if given, it must agree. */
  dtype?: ModelDtype;
  options?: CompileJMPOptions;
  /**
   * Attention heads. Read from `config.json` for a model folder; required for a bare `.onnx` file
   * (to compile; inspecting does not need it).
   */
  heads?: number;
}

/** What was found in a model and planned for it, as {@link inspectModel} and {@link compileJMPModel} report it. */
export interface ModelInspection {
  /** The ONNX file that was read. */
  file: string;
  /** The model folder, or null for a bare `.onnx` file. */
  folder: string | null;
  dtype: ModelDtype;
  architecture: Architecture;
  /** Number of transformer blocks. */
  depth: number;
  /** 1 (CLS) or 2 (CLS, distillation). */
  protectedTokens: number;
  /** Default-domain opset of the graph. */
  opset: number;
  /** How its attention is written: eager (Div by √d) or SDPA as torch ≥ 2.1 exports it. */
  attention: 'eager' | 'sdpa' | 'clip';
  /** Width C of the residual stream. */
  hidden: number;
  /** Attention heads; null when unknown (bare `.onnx` file without `heads`). */
  heads: number | null;
  /** Image side in pixels (square images). */
  imageSize: number;
  /** Where the sizes of the cost model came from. */
  sizesFrom: 'config.json' | 'graph';
  strategy: Strategy;
  /** How the non-critical tokens are chosen ('attention' or 'redundancy'). */
  select: JmpSelect;
  /** τ of the adaptive strategies; null where not set (or not used). */
  tau: number | readonly number[] | null;
  /** The similarity metric: the keys (per head or head-mean) or the token states. */
  metric: JmpMetric;
  /** How select 'redundancy' pairs the tokens ('bipartite' with select 'attention', where it does not apply). */
  match: JmpMatch;
  /** The GMACs budget the keep rates were planned for (share of the plain model's), or null when keep was given. */
  budget: number | null;
  proportionalAttention: boolean;
  /** The last block's MLP runs on the protected tokens only. */
  headOnly: boolean;
  /** 1-based reduction blocks and their keep rates. */
  schedule: { block: number; keep: number }[];
  /** Token counts of every block at the model's image size. */
  plannedTokens: BlockTokens[];
  /** Sizes for the cost model (`countMacs` of `@jmpjs/core`). */
  shape: ModelShape;
  /** GMACs per image without and with JMP (reduction overhead not included), and the saving in percent. */
  gmacs: { baseline: number; jmp: number; reductionPercent: number };
}

/** What {@link compileJMPModel} compiled. */
export interface CompiledModelInfo extends ModelInspection {
  heads: number;
  /** Graph inputs and outputs of the compiled model: `pixel_values`; `logits`, then `jmp_sigma_{k}`, `jmp_merged_{k}` per reduction k (none where keep = 1). */
  inputs: string[];
  outputs: string[];
}

/** Hint of the unsupported-model errors here (the library's default one is about enableJMP's passthrough). */
const SUPPORTED = 'JMP compiles Hugging Face ViT, DeiT and DINOv2 image classifiers as Optimum exports them to ONNX (the transformers.js model layout).';

interface Loaded {
  proto: ModelProto;
  layout: GraphLayout;
  config: Record<string, unknown> | null;
  file: string;
  folder: string | null;
  dtype: ModelDtype;
}

async function statOrNull(p: string): Promise<Stats | null> {
  try {
    return await stat(p);
  } catch {
    return null;
  }
}

function checkDtype(dtype: unknown): asserts dtype is ModelDtype | undefined {
  if (dtype !== undefined && !(typeof dtype === 'string' && dtype in DTYPE_FILES)) {
    throw new JmpArgumentError({ argument: 'dtype', expected: "'fp32', 'fp16' or 'q8'", found: dtype });
  }
}

/** fp32, fp16 or q8, from the graph itself. */
function graphDtype(proto: ModelProto, layout: GraphLayout): ModelDtype {
  if (layout.floatType === DataType.FLOAT16) return 'fp16';
  const quantized = new Set(['MatMulInteger', 'ConvInteger', 'DynamicQuantizeLinear', 'QLinearMatMul', 'QLinearConv', 'DequantizeLinear']);
  return proto.graph.node.some((n) => quantized.has(n.opType)) ? 'q8' : 'fp32';
}

async function loadModel(model: unknown, dtype: ModelDtype | undefined): Promise<Loaded> {
  if (typeof model !== 'string' || model === '') {
    throw new JmpArgumentError({ argument: 'model', expected: 'a model folder (transformers.js layout) or an .onnx file path', found: model });
  }
  const info = await statOrNull(model);
  if (!info) {
    throw new JmpArgumentError({
      argument: 'model',
      expected: 'an existing model folder (transformers.js layout) or .onnx file',
      found: model,
      hint: `Nothing at ${path.resolve(model)}. Hub model ids are not fetched: download the model folder first.`,
    });
  }
  let file: string;
  let folder: string | null = null;
  let config: Record<string, unknown> | null = null;
  if (info.isDirectory()) {
    folder = path.resolve(model);
    const name = DTYPE_FILES[dtype ?? 'fp32'];
    file = path.join(folder, 'onnx', name);
    if (!(await statOrNull(file))?.isFile()) {
      const present = await readdir(path.join(folder, 'onnx')).catch(() => null);
      throw new JmpArgumentError({
        argument: 'model',
        expected: `a model folder with onnx/${name} (dtype ${dtype ?? 'fp32'})`,
        found: model,
        hint: present
          ? `Its onnx/ folder has ${present.filter((f) => f.endsWith('.onnx')).join(', ') || 'no .onnx file'}: choose another dtype (--dtype).`
          : `There is no onnx/ folder in ${folder}.`,
      });
    }
    const configFile = path.join(folder, 'config.json');
    let text: string;
    try {
      text = await readFile(configFile, 'utf8');
    } catch {
      throw new JmpArgumentError({
        argument: 'model',
        expected: 'a model folder with config.json (transformers.js layout)',
        found: model,
        hint: `There is no ${configFile}; for a bare .onnx file, pass the file itself (and the attention heads).`,
      });
    }
    try {
      config = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new JmpArgumentError({
        argument: 'model',
        expected: 'a config.json that parses as JSON',
        found: model,
        hint: `${configFile}: ${(e as Error).message}`,
      });
    }
    const type = config.model_type;
    if (type !== 'vit' && type !== 'deit' && type !== 'dinov2' && type !== 'clip' && type !== 'siglip') {
      throw new UnsupportedModelError({
        lookedFor: "a ViT-family model (config.model_type 'vit', 'deit', 'dinov2', 'clip' or 'siglip')",
        found: `model_type ${JSON.stringify(type)}`,
        hint: SUPPORTED,
      });
    }
  } else {
    file = path.resolve(model);
  }
  let proto: ModelProto;
  try {
    proto = decodeModel(await readFile(file));
  } catch (e) {
    if (UnsupportedModelError.isInstance(e)) throw rehint(e, file); // bytes that do not decode
    throw new UnsupportedModelError({ lookedFor: 'an ONNX model file', found: `${file}, which could not be read (${(e as Error).message})`, hint: SUPPORTED });
  }
  let layout: GraphLayout;
  try {
    layout = findLayout(proto);
  } catch (e) {
    throw rehint(e, file);
  }
  const found = graphDtype(proto, layout);
  if (!folder && dtype !== undefined && dtype !== found) {
    throw new JmpArgumentError({ argument: 'dtype', expected: `the .onnx file's own dtype (${found}) or none`, found: dtype });
  }
  return { proto, layout, config, file, folder, dtype: folder ? (dtype ?? 'fp32') : found };
}

/** The library's unsupported-model errors, with this module's hint (and the file) instead of enableJMP's. */
function rehint(e: unknown, file: string): unknown {
  if (!UnsupportedModelError.isInstance(e)) return e;
  return new UnsupportedModelError({ lookedFor: e.lookedFor, found: `${e.found} (in ${file})`, hint: SUPPORTED });
}

/** Sizes from config.json, as enableJMP reads them. */
function sizesFromConfig(config: Record<string, unknown>, layout: GraphLayout): { shape: ModelShape; imageSize: number; heads: number } {
  const { shape, heads } = shapeFromConfig(config, layout, SUPPORTED);
  return { shape, heads, imageSize: Math.sqrt(shape.patches) * shape.patchSize };
}

/** Sizes from the graph's initializers (bare .onnx file). */
function shapeFromGraph(proto: ModelProto, layout: GraphLayout): { shape: ModelShape; imageSize: number } {
  const dims = new Map(proto.graph.initializer.map((t) => [t.name ?? '', t.dims.map(toNumber)]));
  const root = layout.root;
  const find = (what: string, names: string[], rank: number): number[] => {
    for (const name of names) {
      const d = dims.get(name);
      if (d && d.length === rank) return d;
    }
    throw new UnsupportedModelError({ lookedFor: `${what} (initializer ${names.map((n) => `'${n}'`).join(' or ')})`, found: 'none', hint: SUPPORTED });
  };
  const pos = find('the position embeddings [1, N, C]', [`${root}.embeddings.position_embeddings`], 3);
  const patchWeight = `${root}.embeddings.patch_embeddings.projection.weight`;
  const conv = find('the patch embedding weight [C, channels, p, p]', [patchWeight, `${patchWeight}_quantized`], 4);
  const intermediate = find('the MLP bias of block 1 [I]', [`${root}.encoder.layer.0.intermediate.dense.bias`], 1);
  const logits = proto.graph.output[0]?.type?.tensorType?.shape?.dim[1]?.dimValue;
  const classifier = ['classifier.bias', 'cls_classifier.bias'].map((n) => dims.get(n)).find((d) => d?.length === 1);
  const classes = logits !== undefined ? toNumber(logits) : (classifier?.[0] ?? 0);
  const patches = pos[1]! - layout.protectedTokens;
  const patchSize = conv[2]!;
  return {
    shape: {
      hidden: layout.hidden,
      depth: layout.blocks.length,
      patches,
      intermediate: intermediate[0]!,
      channels: conv[1]!,
      patchSize,
      classes,
      heads: layout.protectedTokens,
      protectedTokens: layout.protectedTokens,
    },
    imageSize: Math.round(Math.sqrt(patches)) * patchSize,
  };
}

function checkHeads(heads: unknown, hidden: number, argument: string): number {
  if (typeof heads !== 'number' || !Number.isInteger(heads) || heads < 1 || hidden % heads !== 0) {
    throw new JmpArgumentError({ argument, expected: `a positive integer that divides the width ${hidden}`, found: heads });
  }
  return heads;
}

function needsTau(strategy: unknown): boolean {
  return strategy === undefined || strategy === 'adaptive' || strategy === 'adaptive-token';
}

interface Prepared {
  loaded: Loaded;
  inspection: ModelInspection;
  keeps: number[];
}

async function prepare(params: CompileJMPModelParams, purpose: 'compile' | 'inspect'): Promise<Prepared> {
  if (!params || typeof params !== 'object') {
    throw new JmpArgumentError({ argument: 'params', expected: '{ model, dtype?, options?, heads? }', found: params });
  }
  if (params.options !== undefined && (typeof params.options !== 'object' || params.options === null || Array.isArray(params.options))) {
    throw new JmpArgumentError({ argument: 'options', expected: 'an options object', found: params.options });
  }
  const options: Record<string, unknown> = { ...params.options };
  for (const key of Object.keys(options)) {
    if (!COMPILE_OPTION_NAMES.has(key)) {
      throw new JmpArgumentError({
        argument: `options.${key}`,
        expected: `one of the options a compiled model can have (${[...COMPILE_OPTION_NAMES].join(', ')})`,
        found: 'an unknown option',
      });
    }
  }
  if (options.method !== undefined && options.method !== 'jmp') {
    throw new JmpArgumentError({ argument: 'options.method', expected: "'jmp' (ToMe and EViT are not compiled)", found: options.method });
  }
  checkDtype(params.dtype);
  const given = resolveOptions(options as JMPOptions);

  const loaded = await loadModel(params.model, params.dtype);
  const { layout, proto, config } = loaded;
  let heads: number | null = params.heads === undefined ? null : checkHeads(params.heads, layout.hidden, 'heads');
  let sizes: { shape: ModelShape; imageSize: number };
  if (config) {
    const fromConfig = sizesFromConfig(config, layout);
    const configHeads = checkHeads(fromConfig.heads, layout.hidden, 'config.num_attention_heads');
    if (heads !== null && heads !== configHeads) {
      throw new JmpArgumentError({ argument: 'heads', expected: `none, or config.json's num_attention_heads (${configHeads})`, found: heads });
    }
    heads = configHeads;
    sizes = fromConfig;
  } else {
    sizes = shapeFromGraph(proto, layout);
  }
  if (purpose === 'compile' && heads === null) {
    throw new JmpArgumentError({
      argument: 'heads',
      expected: 'the number of attention heads (an .onnx file without config.json does not say it)',
      found: undefined,
      hint: 'Pass heads (CLI: --heads), or give the model folder with its config.json.',
    });
  }
  const o = optionsForModel(given, sizes.shape.patches);
  const depth = layout.blocks.length;
  let headOnly: boolean;
  try {
    headOnly = resolveHeadOnly(o.headOnly, layout);
  } catch (e) {
    throw rehint(e, loaded.file);
  }
  const { steps, planned: plannedTokens, budget } = planSchedule({ ...o, method: 'jmp', headOnly }, sizes.shape);
  const baseline = baselineMacs(sizes.shape).gmacs;
  const jmp = countMacs(sizes.shape, plannedTokens).gmacs;
  return {
    loaded,
    keeps: steps.map((s) => s.amount),
    inspection: {
      file: loaded.file,
      folder: loaded.folder,
      dtype: loaded.dtype,
      architecture: layout.root,
      depth,
      protectedTokens: layout.protectedTokens,
      opset: layout.opset,
      attention: layout.attention,
      hidden: layout.hidden,
      heads,
      imageSize: sizes.imageSize,
      sizesFrom: config ? 'config.json' : 'graph',
      strategy: o.strategy,
      select: o.select,
      tau: o.tau === undefined || !needsTau(o.strategy) ? null : o.tau,
      metric: o.metric,
      match: o.match,
      proportionalAttention: o.proportionalAttention,
      headOnly,
      budget,
      schedule: steps.map((s) => ({ block: s.block, keep: s.amount })),
      plannedTokens,
      shape: sizes.shape,
      gmacs: { baseline, jmp, reductionPercent: baseline > 0 ? (1 - jmp / baseline) * 100 : 0 },
    },
  };
}

/**
 * What {@link compileJMPModel} would find and plan for a model and options — architecture, blocks,
 * protected tokens, opset, token counts per block, GMACs with and without JMP — without compiling.
 * An adaptive strategy without τ is allowed here (the token counts do not depend on τ).
 *
 * Bad options or parameters throw a `JmpArgumentError`; a model that is not a recognised ViT / DeiT
 * throws an `UnsupportedModelError`.
 */
export async function inspectModel(params: CompileJMPModelParams): Promise<ModelInspection> {
  return (await prepare(params, 'inspect')).inspection;
}

/**
 * Compiles JMP into a model's ONNX graph: the result is one standalone ONNX file of standard
 * operators (at the model's opset, ≥ 11) that runs in any ONNX Runtime, without this package. Input
 * `pixel_values`, outputs `logits` plus `jmp_sigma_{k}` (σ, [batch]) and `jmp_merged_{k}` (merged
 * tokens, [batch]) for each reduction k (0-based; none where keep = 1). Same options and defaults
 * as `enableJMP` with `method: 'jmp'` (select 'redundancy', strategy 'adaptive-token', which
 * needs `tau`), and the same logits.
 *
 * Bad options or parameters throw a `JmpArgumentError`; a model that is not a recognised ViT / DeiT
 * throws an `UnsupportedModelError`.
 */
export async function compileJMPModel(params: CompileJMPModelParams): Promise<{ bytes: Uint8Array; info: CompiledModelInfo }> {
  const { loaded, inspection, keeps } = await prepare(params, 'compile');
  const heads = inspection.heads!;
  let compiled: ModelProto;
  try {
    compiled = compileJMP(loaded.proto, loaded.layout, {
      blocks: inspection.schedule.map((s) => s.block),
      keeps,
      strategy: inspection.strategy,
      select: inspection.select,
      metric: inspection.metric,
      match: inspection.match,
      ...(inspection.tau !== null ? { tau: inspection.tau } : {}),
      proportionalAttention: inspection.proportionalAttention,
      headOnly: inspection.headOnly,
      heads,
    });
  } catch (e) {
    throw rehint(e, loaded.file);
  }
  const initializers = new Set(compiled.graph.initializer.map((t) => t.name));
  return {
    bytes: encodeModel(compiled),
    info: {
      ...inspection,
      heads,
      inputs: compiled.graph.input.filter((v) => !initializers.has(v.name)).map((v) => v.name),
      outputs: compiled.graph.output.map((v) => v.name),
    },
  };
}
