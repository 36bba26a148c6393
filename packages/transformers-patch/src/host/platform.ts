import type { OrtModule } from './sessions.js';

/**
 * What differs between Node and the browser. `#platform` resolves to `platform.node.ts` or
 * `platform.web.ts` through the package's `imports` conditions (`browser` picks the web one), so
 * nothing else in the package checks which environment it runs in.
 */
export interface Platform {
  readonly name: 'node' | 'web';
  /** The onnxruntime module transformers.js itself uses here (sessions and tensors must come from it). */
  ort(): OrtModule;
  /** The bytes of a model given as a file path (Node) or URL (browser), or the bytes themselves. */
  readSource(source: string | Uint8Array): Promise<Uint8Array>;
  /**
   * Whether device `webgpu` can work here: the browser has a WebGPU adapter. In Node, transformers.js
   * decides (onnxruntime-node's experimental WebGPU), so this says true.
   */
  webgpuAvailable(): Promise<boolean>;
  /**
   * For a session on WebGPU: a check that says whether onnxruntime's WebGPU device has been lost
   * since (null where there is no such device to watch).
   */
  watchWebGPUDevice(): Promise<(() => boolean) | null>;
}
