// The documented fallback from WebGPU to wasm: where WebGPU is not available when a pipeline is
// created, and when onnxruntime's WebGPU device is lost while JMP runs.
import { JmpError } from '../errors.js';
import { onWebGPU } from '../plan.js';
import { platform } from '#platform';

/** The same session options on the wasm execution provider (outputs on the CPU). */
export function onWasm(options: Record<string, unknown>): Record<string, unknown> {
  const { preferredOutputLocation: _location, ...rest } = options;
  return { ...rest, executionProviders: ['wasm'] };
}

/**
 * Pipeline options for createJMPPipeline: device `webgpu` where WebGPU is not available becomes
 * `wasm`, with a warning (transformers.js itself would throw "Unsupported device").
 */
export async function wasmWithoutWebGPU(pipelineOptions: Record<string, unknown>, warn: (message: string) => void): Promise<Record<string, unknown>> {
  if (pipelineOptions.device !== 'webgpu' || (await platform.webgpuAvailable())) return pipelineOptions;
  warn("[jmp] WebGPU is not available here (no navigator.gpu adapter): the pipeline runs on device 'wasm' instead.");
  return { ...pipelineOptions, device: 'wasm' };
}

/**
 * A handle's watch on onnxruntime's WebGPU device: once the device is lost, `goOnWasm()` warns
 * once and runs `rebuild` (the handle's sessions again, on wasm); the calls that saw the loss all
 * wait for that one rebuild.
 */
export class WebGPUFallback {
  /** With a WebGPU session: says whether onnxruntime's WebGPU device was lost (then JMP goes on on wasm). */
  private lost: (() => boolean) | null = null;
  /** The switch to wasm after a lost WebGPU device, shared by the calls that saw it. */
  private recovery: Promise<void> | null = null;

  constructor(
    private readonly warn: (message: string) => void,
    private readonly rebuild: () => Promise<void>,
  ) {}

  /** Watches the device where sessions with these options run on WebGPU (else nothing to watch). */
  async watch(sessionOptions: Record<string, unknown>): Promise<void> {
    this.lost = onWebGPU(sessionOptions) ? await platform.watchWebGPUDevice() : null;
  }

  /** The device is known to be lost (and the switch to wasm has not started). */
  get deviceLost(): boolean {
    return this.lost?.() ?? false;
  }

  /** A failed run is the device's loss: it is known lost, or the switch to wasm has happened. */
  get explainsFailure(): boolean {
    return this.deviceLost || this.recovery !== null;
  }

  /** The switch to wasm (once), its failure typed. */
  async goOnWasm(): Promise<void> {
    try {
      await this.recoverOnWasm();
    } catch (failure) {
      throw new JmpError(
        `The WebGPU device was lost and JMP could not go on with device 'wasm' (${failure instanceof Error ? failure.message : String(failure)}). Create the pipeline again.`,
        { cause: failure },
      );
    }
  }

  private recoverOnWasm(): Promise<void> {
    this.recovery ??= (async () => {
      this.warn("[jmp] The WebGPU device was lost: JMP goes on with device 'wasm' (the same results, more slowly).");
      this.lost = null;
      await this.rebuild();
    })();
    return this.recovery;
  }
}
