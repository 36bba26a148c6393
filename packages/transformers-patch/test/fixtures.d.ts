declare module '@jmpjs/fixtures' {
  export function modelPath(name: string): string;
  export const dtypeFiles: Record<'fp32' | 'fp16' | 'q8', string>;
  export function xorshift32Bytes(seed: number, n: number): Uint8Array;
  export function pixelValuesFromU8(
    u8: Uint8Array,
    o: { batch: number; height: number; width: number; channels: number; modelChannels?: number; mean: number[]; std: number[] },
  ): Float32Array;
  export function loadReference(name: string): { pixelValues: Float32Array; dims: number[]; logits: Float32Array; numLabels: number };
  export function ensureBenchModel(name?: string, o?: { dtypes?: string[]; quiet?: boolean }): Promise<string>;
}
