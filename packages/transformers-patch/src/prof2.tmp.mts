import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { decodeModel, encodeModel } from './onnx/proto.js';
import { findLayout } from './graph/layout.js';
import { buildSegments } from './graph/segments.js';
const ort = createRequire(import.meta.resolve('@huggingface/transformers'))('onnxruntime-node');
const [file, Bs, heads, side, pa] = process.argv.slice(2) as [string, string, string, string, string];
const B = Number(Bs); const S = Number(side);
const bytes = readFileSync(file);
const proto = decodeModel(bytes);
const layout = findLayout(proto);
const segs = buildSegments(proto, layout, { blocks: [4, 7, 10], proportionalAttention: pa === 'pa', heads: Number(heads) });
const variants: Record<string, any> = {
  'arena+spin': {},
  'noarena+spin': { enableCpuMemArena: false },
  'arena+nospin': { extra: { session: { intra_op: { allow_spinning: '0' } } } },
  'noarena+nospin': { enableCpuMemArena: false, extra: { session: { intra_op: { allow_spinning: '0' } } } },
  'arena+nospin+shrink': { extra: { session: { intra_op: { allow_spinning: '0' } } } },
};
const plainNoSpin = await ort.InferenceSession.create(bytes, { extra: { session: { intra_op: { allow_spinning: '0' } } } });
const full = await ort.InferenceSession.create(bytes, {});
const sess: Record<string, any[]> = {};
for (const [k, o] of Object.entries(variants)) { sess[k] = []; for (const s of segs) sess[k]!.push(await ort.InferenceSession.create(encodeModel(s.model), o)); }
const px = new ort.Tensor('float32', new Float32Array(B * 3 * S * S).map((_, i) => Math.sin(i)), [B, 3, S, S]);
async function runSegs(list: any[], ro: any = {}) {
  let feeds: any = { pixel_values: px };
  for (let k = 0; k < list.length; k++) {
    const out = await list[k].run(feeds, ro);
    if (k < list.length - 1) { const h = out.jmp_hidden_out; feeds = { jmp_hidden: h }; if (pa === 'pa') feeds.jmp_log_size = new ort.Tensor('float32', new Float32Array(h.dims[0] * h.dims[1]), [h.dims[0], h.dims[1]]); }
  }
}
const t: Record<string, number[]> = { plain: [], 'plain-nospin': [] }; for (const k of Object.keys(variants)) t[k] = [];
for (let r = 0; r < 12; r++) {
  let t0 = performance.now(); await full.run({ pixel_values: px }); if (r > 1) t.plain!.push(performance.now() - t0);
  t0 = performance.now(); await plainNoSpin.run({ pixel_values: px }); if (r > 1) t['plain-nospin']!.push(performance.now() - t0);
  for (const k of Object.keys(variants)) { t0 = performance.now(); await runSegs(sess[k]!, k.endsWith('shrink') ? { extra: { memory: { enable_memory_arena_shrinkage: 'cpu:0' } } } : {}); if (r > 1) t[k]!.push(performance.now() - t0); }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(Object.entries(t).map(([k, v]) => `${k} ${med(v).toFixed(1)}`).join(' | '));
