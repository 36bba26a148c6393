import { JmpArgumentError, baselineMacs, countMacs, type BlockTokens, type ModelShape, type JmpMatch, type JmpSelect, type Strategy } from '@jmpjs/core';
import { compileJMP } from './graph/compile.js';
import type { Architecture } from './graph/layout.js';
import { encodeModel, type ModelProto } from './onnx/proto.js';
import { checkDtype, checkHeads, loadModel, rehint, shapeFromGraph, sizesFromConfig, type Loaded, type ModelDtype } from './model-files.js';
import type { JmpMetric } from './option-values.js';
import { optionsForModel, resolveOptions, type JMPOptions } from './options.js';
import { COMPILE_OPTION_NAMES } from './options-schema.js';
import { planSchedule, resolveHeadOnly } from './plan.js';

export type { ModelDtype };

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
