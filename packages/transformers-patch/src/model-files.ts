// Reading a model for compileJMPModel and inspectModel: a transformers.js model folder or a bare
// .onnx file, which of its files (fp32, fp16, q8), its config and the sizes of the cost model.
import type { Stats } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { JmpArgumentError, type ModelShape } from '@jmpjs/core';
import { UnsupportedModelError } from './errors.js';
import { SUPPORTED_MODEL_TYPES_TEXT, isArchitecture } from './graph/architectures/index.js';
import { findLayout, type GraphLayout } from './graph/layout.js';
import { shapeFromConfig } from './graph/model-shape.js';
import { DataType, decodeModel, toNumber, type ModelProto } from './onnx/proto.js';

/** Which ONNX file of a model folder: `onnx/model.onnx`, `onnx/model_fp16.onnx` or `onnx/model_quantized.onnx`. */
export type ModelDtype = 'fp32' | 'fp16' | 'q8';

const DTYPE_FILES: Record<ModelDtype, string> = { fp32: 'model.onnx', fp16: 'model_fp16.onnx', q8: 'model_quantized.onnx' };

/** Hint of the unsupported-model errors here (the library's default one is about enableJMP's passthrough). */
export const SUPPORTED = 'JMP compiles Hugging Face ViT, DeiT and DINOv2 image classifiers as Optimum exports them to ONNX (the transformers.js model layout).';

export interface Loaded {
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

export function checkDtype(dtype: unknown): asserts dtype is ModelDtype | undefined {
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

export async function loadModel(model: unknown, dtype: ModelDtype | undefined): Promise<Loaded> {
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
    if (!isArchitecture(type)) {
      throw new UnsupportedModelError({
        lookedFor: SUPPORTED_MODEL_TYPES_TEXT,
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
export function rehint(e: unknown, file: string): unknown {
  if (!UnsupportedModelError.isInstance(e)) return e;
  return new UnsupportedModelError({ lookedFor: e.lookedFor, found: `${e.found} (in ${file})`, hint: SUPPORTED });
}

/** Sizes from config.json, as enableJMP reads them. */
export function sizesFromConfig(config: Record<string, unknown>, layout: GraphLayout): { shape: ModelShape; imageSize: number; heads: number } {
  const { shape, heads } = shapeFromConfig(config, layout, SUPPORTED);
  return { shape, heads, imageSize: Math.sqrt(shape.patches) * shape.patchSize };
}

/** Sizes from the graph's initializers (bare .onnx file). */
export function shapeFromGraph(proto: ModelProto, layout: GraphLayout): { shape: ModelShape; imageSize: number } {
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

export function checkHeads(heads: unknown, hidden: number, argument: string): number {
  if (typeof heads !== 'number' || !Number.isInteger(heads) || heads < 1 || hidden % heads !== 0) {
    throw new JmpArgumentError({ argument, expected: `a positive integer that divides the width ${hidden}`, found: heads });
  }
  return heads;
}
