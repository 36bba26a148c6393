import { readFileSync } from 'node:fs';
import path from 'node:path';
import { modelPath, pixelValuesFromU8, xorshift32Bytes } from '@jmpjs/fixtures';
import { describe, expect, it } from 'vitest';
import { compileJMP, compiledOutputs, type CompileOptions } from '../../src/graph/compile.js';
import { findLayout } from '../../src/graph/layout.js';
import { DataType, decodeModel, encodeModel, type ModelProto } from '../../src/onnx/proto.js';
import { maxAbsDiff, ortNode as ort, type OrtNodeSession } from '../helpers.js';

/**
 * The token grid a dense neck reads, restored by the compiled graph (graph/compile.ts: `jmp_grid_{k}`
 * at each block output the DPT neck reads, from the composed restore maps of the methods), against
 * the independent PyTorch reference (tooling/fixtures/jmp_reference.py, run_depth: the class row, then
 * each original patch's row from the token it ended in: the token it merged into, its match if it was
 * pruned, its B token under ToMe), on tiny-depth-anything (4 blocks, 8×8 patches + the class token,
 * the neck reading every block). Per reference case: the grids at the four read-out blocks
 * (jmp_grid_{k}, made graph outputs here for the test; before the first reduction the plain block
 * output, where the graph has no grid), predicted_depth (every second row and column), and JMP's
 * merged counts per reduction, in fp32 against the reference's tolerance. Each case in the float form
 * and in the index form (ScatterElements / GatherND: what the CPU and wasm providers get). The cases
 * with `options.gridRestore` 'residual' compile with `gridRestore: 'residual'` (each original patch's
 * row plus its offset: the sum over the reductions of its token's attention-residual row minus the row
 * of the token that one went to); the others with the default 'copy'.
 */
const NAME = 'tiny-depth-anything';

interface F32 {
  shape: number[];
  f32le_base64: string;
}
interface DepthCase {
  name: string;
  options: {
    method: 'jmp' | 'tome';
    blocks: number[];
    keep?: number;
    r?: number;
    strategy?: CompileOptions['strategy'];
    select?: CompileOptions['select'];
    match?: CompileOptions['match'];
    metric?: CompileOptions['metric'];
    tau?: number;
    gridRestore?: CompileOptions['gridRestore'];
    proportionalAttention: boolean;
  };
  input: 'square' | 'wide';
  batch: number;
  merged: number[][];
  dropped: number[][];
  restored: boolean[];
  grids: F32[];
  predictedDepth: F32;
}
interface DepthReference {
  format: string;
  tolerance: { grid: number; depth: number };
  inputs: Record<'square' | 'wide', { seed: number; batch: number; height: number; width: number; channels: number; mean: number[]; std: number[] }>;
  readoutBlocks: number[];
  depthStride: number;
  cases: DepthCase[];
}

const ref = JSON.parse(readFileSync(path.join(modelPath(NAME), 'jmp-reference.json'), 'utf8')) as DepthReference;
const config = JSON.parse(readFileSync(path.join(modelPath(NAME), 'config.json'), 'utf8')) as { backbone_config: { num_attention_heads: number } };
const proto = decodeModel(readFileSync(path.join(modelPath(NAME), 'onnx', 'model.onnx')));
const layout = findLayout(proto);

const f32 = (t: F32): Float32Array => {
  const bytes = Buffer.from(t.f32le_base64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
const pixelsOf = (key: 'square' | 'wide'): { data: Float32Array; dims: number[] } => {
  const { seed, batch, height, width, channels, mean, std } = ref.inputs[key];
  return {
    data: pixelValuesFromU8(xorshift32Bytes(seed, batch * height * width * channels), { batch, height, width, channels, mean, std }),
    dims: [batch, 3, height, width],
  };
};
/** Every `stride`-th row and column of predicted_depth [B, H, W]: what the reference stores. */
const strided = (d: ArrayLike<number>, [B, H, W]: readonly number[], stride: number): Float32Array => {
  const out: number[] = [];
  for (let b = 0; b < B!; b++) for (let y = 0; y < H!; y += stride) for (let x = 0; x < W!; x += stride) out.push(d[(b * H! + y) * W! + x]!);
  return Float32Array.from(out);
};

const compileOptions = (o: DepthCase['options'], indexOps: boolean): CompileOptions => ({
  method: o.method,
  blocks: o.blocks,
  ...(o.method === 'tome' ? { rs: o.blocks.map(() => o.r!) } : { keeps: o.blocks.map(() => o.keep!) }),
  ...(o.strategy !== undefined ? { strategy: o.strategy } : {}),
  ...(o.select !== undefined ? { select: o.select } : {}),
  ...(o.match !== undefined ? { match: o.match } : {}),
  ...(o.metric !== undefined ? { metric: o.metric } : {}),
  ...(o.tau !== undefined ? { tau: o.tau } : {}),
  ...(o.gridRestore !== undefined ? { gridRestore: o.gridRestore } : {}),
  proportionalAttention: o.proportionalAttention,
  heads: config.backbone_config.num_attention_heads,
  indexOps,
});

/**
 * The compiled model with the grid each read-out block gives the neck as an output: `jmp_grid_{k}`
 * where the graph restores one, else (nothing reduced yet) the block output itself.
 */
function withGridOutputs(compiled: ModelProto, restored: boolean[]): { model: ModelProto; grids: string[] } {
  const made = new Set(compiled.graph.node.flatMap((n) => n.output));
  const grids = layout.gridReadouts.map((r, i) => {
    const name = compiledOutputs(r.block).grid;
    expect(made.has(name), `${name} is made iff a reduction came at or before block ${r.block}`).toBe(restored[i]);
    return made.has(name) ? name : r.tensor;
  });
  const dim = (d: string) => ({ dimParam: d });
  const outputs = grids.map((name) => ({
    name,
    type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [dim('batch_size'), dim('grid_tokens'), dim('grid_width')] } } },
  }));
  return { model: { ...compiled, graph: { ...compiled.graph, output: [...compiled.graph.output, ...outputs] } }, grids };
}

describe(`${NAME}: the restored token grids and the depth = the independent PyTorch reference`, () => {
  it('reads the reference and finds the neck’s read-outs', () => {
    expect(ref.format).toBe('jmp-fixtures/jmp-depth-reference@1');
    expect(layout.gridReadouts.map((r) => r.block)).toEqual(ref.readoutBlocks);
    expect(ref.cases.length).toBeGreaterThanOrEqual(4);
    // the residual restore: at least the default JMP on both inputs and ToMe
    const residual = ref.cases.filter((c) => c.options.gridRestore === 'residual');
    const kinds = residual.map((c) => `${c.options.method} ${c.options.strategy ?? ''} ${c.input}`);
    expect(kinds).toEqual(expect.arrayContaining(['jmp adaptive-token square', 'jmp adaptive-token wide', 'tome  square']));
  });

  const runs = ref.cases.flatMap((c) => (['float', 'index'] as const).map((form) => [`${c.name}, ${form} form`, c, form] as const));
  it.each(runs)('%s', async (_name, c, form) => {
    const compiled = compileJMP(proto, layout, compileOptions(c.options, form === 'index'));
    const { model, grids } = withGridOutputs(compiled, c.restored);
    const pixels = pixelsOf(c.input);
    expect(pixels.dims[0]).toBe(c.batch);
    const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1 });
    let out: Awaited<ReturnType<OrtNodeSession['run']>>;
    try {
      out = await session.run({ pixel_values: new ort.Tensor('float32', pixels.data, pixels.dims) });
    } finally {
      await session.release();
    }
    const { height, width } = ref.inputs[c.input];
    const patches = Math.floor(height / 14) * Math.floor(width / 14);
    const diffs = grids.map((name, i) => {
      expect(out[name]!.dims, name).toEqual(c.grids[i]!.shape);
      expect(c.grids[i]!.shape).toEqual([c.batch, 1 + patches, 32]);
      return maxAbsDiff(out[name]!.data, f32(c.grids[i]!));
    });
    const depth = out.predicted_depth!;
    expect(depth.dims).toEqual([c.batch, height, width]);
    const depthDiff = maxAbsDiff(strided(depth.data, depth.dims, ref.depthStride), f32(c.predictedDepth));
    // the decisions: tokens merged at each reduction (JMP's statistics outputs), as in the reference
    if (c.options.method === 'jmp') {
      c.options.blocks.forEach((_block, k) => {
        const merged = Array.from(out[compiledOutputs(k).merged]!.data);
        expect(merged, `merged ${k}`).toEqual(c.merged.map((m) => m[k]));
      });
    }
    console.log(`${c.name} (${form}): max |Δ| grids ${diffs.map((d) => d.toExponential(2)).join(' ')}, depth ${depthDiff.toExponential(2)}`);
    diffs.forEach((d, i) => expect(d, `grid of block ${ref.readoutBlocks[i]}`).toBeLessThanOrEqual(ref.tolerance.grid));
    expect(depthDiff, 'predicted_depth').toBeLessThanOrEqual(ref.tolerance.depth);
  });
});
