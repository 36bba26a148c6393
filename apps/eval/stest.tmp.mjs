import { pipeline, RawImage } from '@huggingface/transformers';
import { enableJMP } from '@jmpjs/transformers-patch';
import { modelPath } from '@jmpjs/fixtures';
const dir = modelPath('tiny-clip').replace('tiny-clip', 'tiny-siglip');
const task = process.argv[3] ?? 'zero-shot-image-classification';
const pipe = await pipeline(task, dir, { dtype: process.argv[2] ?? 'fp32', local_files_only: true });
const imgs = Array.from({ length: 3 }, (_, k) => new RawImage(new Uint8ClampedArray(28 * 28 * 3).map((_, i) => (i * (37 + k) + k * 11) % 251), 28, 28, 3));
const labels = ['a photo of a shirt', 'a photo of a bag', 'a photo of a boot', 'a photo of a dress'];
const call = () => task.startsWith('zero') ? pipe(imgs, labels) : pipe(imgs);
const flat = (o) => task.startsWith('zero') ? o.flatMap((r) => r.map((x) => x.score)) : Array.from(o.data);
const plain = flat(await call());
for (const opts of [{ strategy: 'prune', keep: 1 }, {}, { strategy: 'merge', keep: 0.5, blocks: [1, 2, 3] }, { select: 'attention', strategy: 'adaptive', tau: 0.5, keep: 0.7, blocks: [2] }, { method: 'evit', keep: 0.7, blocks: [2] }, { method: 'tome', r: 6 }]) {
  try {
  const jmp = await enableJMP(pipe, opts);
  const out = flat(await call());
  const st = jmp.stats();
  let m = 0; for (let i = 0; i < out.length; i++) m = Math.max(m, Math.abs(out[i] - plain[i]));
  console.log(JSON.stringify(opts), jmp.info.architecture, jmp.info.protectedTokens, jmp.info.reductionBlocks, jmp.info.headOnly, st.lastCall.blocks.map((b) => `${b.tokensIn}>${b.tokensOut}`).join(' '), 'gmacs', st.meanGmacsPerImage.toFixed(5), '/', st.plainGmacsPerImage.toFixed(5), 'max|Δ|', m.toFixed(5), out.length);
  await jmp.dispose();
  } catch (e) { console.log(JSON.stringify(opts), 'ERROR', e.message); }
}
