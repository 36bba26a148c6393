// Seeded pixels for the benchmarks, in Node and in the browser bench page (no Node imports here).
import { Tensor } from '@huggingface/transformers';

/** Seeded pixel values in [-1, 1], [batch, 3, size, size] (the benchmark models have random weights). */
export function randomPixels(batch: number, size = 224): Tensor {
  const data = new Float32Array(batch * 3 * size * size);
  let x = 12345;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    data[i] = (x / 0x7fffffff) * 2 - 1;
  }
  return new Tensor('float32', data, [batch, 3, size, size]);
}
