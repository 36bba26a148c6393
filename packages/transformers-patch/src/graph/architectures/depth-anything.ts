// Depth Anything (DepthAnythingForDepthEstimation, depth-estimation; V1 and V2): a DINOv2 backbone
// under `/backbone` whose DPT neck reads the token grid of several blocks (config.backbone_config
// .out_indices). The compiled graph restores the full grid at each of them (GraphLayout.gridReadouts).
import { configNumber, EAGER_OR_SDPA, type ArchitectureSpec } from './spec.js';
import { dinov2Scheme } from './dinov2.js';

const record = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/**
 * The backbone's config (backbone_config) with the model's model_type; its image size is the one the
 * plan is made for (the processor's, set on the full config by the host), else the backbone's own.
 */
const backboneTower = (full: Record<string, unknown>): Record<string, unknown> => {
  const backbone = record(full.backbone_config);
  return { ...backbone, model_type: full.model_type, image_size: full.image_size ?? backbone.image_size };
};

const numbers = (v: unknown, fallback: number[]): number[] => (Array.isArray(v) && v.every((x) => typeof x === 'number' && x > 0) ? (v as number[]) : fallback);

/**
 * Multiply-accumulates of the DPT neck and the depth head for a square image of `side` pixels (a
 * constant of the cost model: JMP does not change them). Per read-out i (channels c_i, factor f_i)
 * on the h × w patch grid: the 1×1 projection from the width C, the resize (a transposed
 * convolution k = s = f, nothing, or a 3×3 convolution of stride 1/f), the 3×3 convolution to the
 * fusion width F; the fusion stage from the deepest map up (residual units of two 3×3 F → F
 * convolutions, one unit for the first map and two for the others; a 1×1 projection after each
 * upsampling, to the next map's size or ×2 for the last); the head: 3×3 F → F/2 at the last fused
 * size, 3×3 F/2 → head_hidden_size at the image size, 1×1 to one channel. Biases and activations apart.
 */
export function dptHeadMacs(full: Record<string, unknown>, side: number, hint?: string): number {
  const backbone = record(full.backbone_config);
  const patch = configNumber(backbone, 'patch_size', hint);
  const width = typeof full.reassemble_hidden_size === 'number' ? full.reassemble_hidden_size : configNumber(backbone, 'hidden_size', hint);
  const necks = numbers(full.neck_hidden_sizes, [48, 96, 192, 384]);
  const factors = numbers(full.reassemble_factors, [4, 2, 1, 0.5]);
  const F = typeof full.fusion_hidden_size === 'number' ? full.fusion_hidden_size : 64;
  const headHidden = typeof full.head_hidden_size === 'number' ? full.head_hidden_size : 32;
  const h = Math.floor(side / patch);
  let macs = 0;
  const sides: number[] = [];
  necks.forEach((c, i) => {
    const f = factors[i] ?? 1;
    macs += h * h * width * c; // projection
    let s = h;
    if (f > 1) {
      macs += h * h * c * c * f * f;
      s = h * f;
    } else if (f < 1) {
      s = Math.floor((h - 1) * f) + 1;
      macs += s * s * c * c * 9;
    }
    macs += s * s * c * F * 9; // neck conv
    sides.push(s);
  });
  const deepestFirst = [...sides].reverse();
  let out = 0;
  deepestFirst.forEach((s, i) => {
    macs += (i === 0 ? 2 : 4) * s * s * F * F * 9; // residual units
    out = i + 1 < deepestFirst.length ? deepestFirst[i + 1]! : 2 * s;
    macs += out * out * F * F; // projection after the upsampling
  });
  const imageSide = h * patch;
  macs += out * out * F * Math.floor(F / 2) * 9; // head conv1
  macs += imageSide * imageSide * Math.floor(F / 2) * headHidden * 9; // head conv2
  macs += imageSide * imageSide * headHidden; // head conv3
  return macs;
}

export const depthAnything: ArchitectureSpec<'depth_anything'> = {
  name: 'depth_anything',
  schemes: [dinov2Scheme('backbone')],
  attention: EAGER_OR_SDPA,
  head: { classToken: 'required' },
  io: 'dense',
  // DPTImageProcessor keeps the aspect ratio (sides rounded to multiples of 14): every image its own grid
  gridFromInput: true,
  config: {
    tower: backboneTower,
    classes: () => 0,
    headMacs: (full, tower, hint) => dptHeadMacs(full, configNumber(tower, 'image_size', hint), hint),
    imageSizeFromCrop: true,
  },
  runners: {
    segments: {
      lookedFor: 'a model whose head reads the last block only',
      found:
        'a dense-prediction neck (Depth Anything) reading the token grid of several blocks: the compiled runner restores the grid there, the segments runner does not',
    },
  },
};
