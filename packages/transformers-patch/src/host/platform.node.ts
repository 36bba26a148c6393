import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Platform } from './platform.js';
import type { OrtModule } from './sessions.js';

let ort: OrtModule | undefined;

/** Node: transformers.js runs on onnxruntime-node, resolved from transformers.js's own location. */
export const platform: Platform = {
  name: 'node',
  ort() {
    ort ??= createRequire(import.meta.resolve('@huggingface/transformers'))('onnxruntime-node') as OrtModule;
    return ort;
  },
  async readSource(source) {
    return typeof source === 'string' ? readFile(source) : source;
  },
  async webgpuAvailable() {
    return true;
  },
  async watchWebGPUDevice() {
    return null;
  },
};
