/**
 * A minimal PNG encoder (8-bit grayscale or RGB, no interlace, filter 0) on node:zlib, for the
 * token-map images that the report embeds as data URIs.
 */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const out = Buffer.alloc(8 + data.length + 4);
  out.writeUInt32BE(data.length, 0);
  typed.copy(out, 4);
  out.writeUInt32BE(crc32(typed), 8 + data.length);
  return out;
}

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

/** Encodes `width · height · channels` uint8 values (row-major) as a PNG; channels 1 or 3. */
export function encodePng(width: number, height: number, channels: 1 | 3, pixels: ArrayLike<number>): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`encodePng: bad size ${width}x${height}`);
  }
  if (pixels.length < width * height * channels) {
    throw new RangeError(`encodePng: ${pixels.length} values for ${width}x${height}x${channels}`);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 1 ? 0 : 2; // colour type: grayscale / truecolour
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1);
    raw[row] = 0; // filter: none
    for (let i = 0; i < stride; i++) {
      const v = Number(pixels[y * stride + i]);
      raw[row + 1 + i] = Number.isFinite(v) ? Math.max(0, Math.min(255, Math.round(v))) : 0;
    }
  }
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

/**
 * Resamples an image to `outW × outH` by averaging the source pixels under each output pixel
 * (nearest pixel when enlarging, so small images stay crisp).
 */
export function resample(width: number, height: number, channels: number, pixels: ArrayLike<number>, outW: number, outH: number): Uint8Array {
  const out = new Uint8Array(outW * outH * channels);
  for (let oy = 0; oy < outH; oy++) {
    const y0 = Math.floor((oy * height) / outH);
    const y1 = Math.max(y0 + 1, Math.floor(((oy + 1) * height) / outH));
    for (let ox = 0; ox < outW; ox++) {
      const x0 = Math.floor((ox * width) / outW);
      const x1 = Math.max(x0 + 1, Math.floor(((ox + 1) * width) / outW));
      for (let ch = 0; ch < channels; ch++) {
        let sum = 0;
        let n = 0;
        for (let y = y0; y < y1 && y < height; y++) {
          for (let x = x0; x < x1 && x < width; x++) {
            sum += Number(pixels[(y * width + x) * channels + ch] ?? 0);
            n++;
          }
        }
        out[(oy * outW + ox) * channels + ch] = n > 0 ? Math.round(sum / n) : 0;
      }
    }
  }
  return out;
}

export function pngDataUri(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}
