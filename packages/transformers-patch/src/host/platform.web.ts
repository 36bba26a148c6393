/// <reference lib="dom" />
import * as ort from 'onnxruntime-web/webgpu';
import { JmpArgumentError } from '@jmpjs/core';
import type { Platform } from './platform.js';
import type { OrtModule } from './sessions.js';

/**
 * Browser: transformers.js's web build runs on `onnxruntime-web/webgpu` (the WebGPU and wasm
 * execution providers). The bundler must resolve this import to the same copy transformers.js
 * imports (one `onnxruntime-web` version in the app), or sessions are not recognised.
 */
export const platform: Platform = {
  name: 'web',
  ort() {
    return ort as unknown as OrtModule;
  },
  async readSource(source) {
    if (typeof source !== 'string') return source;
    const response = await fetch(source);
    if (!response.ok) {
      throw new JmpArgumentError({
        argument: 'options.modelSource',
        expected: 'the URL of an ONNX file that can be fetched',
        found: `${source} (HTTP ${response.status})`,
      });
    }
    return new Uint8Array(await response.arrayBuffer());
  },
  async watchWebGPUDevice() {
    // onnxruntime-web's env.webgpu.device resolves to the GPUDevice its WebGPU backend uses
    const device = (await Promise.resolve((ort.env as { webgpu?: { device?: unknown } }).webgpu?.device).catch(() => undefined)) as
      { lost?: Promise<unknown> } | undefined;
    if (!device?.lost) return null;
    let lost = false;
    void device.lost.then(() => {
      lost = true;
    });
    return () => lost;
  },
  async webgpuAvailable() {
    const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
    if (!gpu) return false;
    try {
      return (await gpu.requestAdapter()) !== null;
    } catch {
      return false;
    }
  },
};
