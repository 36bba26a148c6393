// The registry of the backbones this package reduces, one file each: adding one is a file and a line here.
import { clip } from './clip.js';
import { deit } from './deit.js';
import { depthAnything } from './depth-anything.js';
import { dinov2 } from './dinov2.js';
import { siglip } from './siglip.js';
import type { ArchitectureSpec, Scheme } from './spec.js';
import { vit } from './vit.js';

export type { ArchitectureSpec, AttentionForm, Refusal, Scheme } from './spec.js';
export { blockScope, softmaxBlock } from './spec.js';
export { REFUSED_TYPES, whyRefused } from './refused.js';

/** Every architecture, in the order the detector tries their schemes. */
export const ARCHITECTURES = [vit, deit, dinov2, clip, siglip, depthAnything] as const;

/** The backbones this package finds: their config.json `model_type`, and `GraphLayout.root`. */
export type Architecture = (typeof ARCHITECTURES)[number]['name'];

/** The config.json `model_type`s this package reduces. */
export const SUPPORTED_MODEL_TYPES: readonly Architecture[] = ARCHITECTURES.map((a) => a.name);

const BY_NAME = new Map<string, ArchitectureSpec<Architecture>>(ARCHITECTURES.map((a) => [a.name, a]));

/** Whether a config.json `model_type` is one this package reduces. */
export const isArchitecture = (type: unknown): type is Architecture => typeof type === 'string' && BY_NAME.has(type);

/** The architecture of a name. */
export const architecture = (name: Architecture): ArchitectureSpec<Architecture> => BY_NAME.get(name)!;

/** `'a', 'b' or 'c'`. */
const orList = (items: readonly string[]): string => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`);

/** What the model_type check looks for. */
export const SUPPORTED_MODEL_TYPES_TEXT = `a ViT-family model (config.model_type ${orList(SUPPORTED_MODEL_TYPES.map((t) => `'${t}'`))})`;

/** Every naming scheme, with its architecture, in the order they are tried. */
export const SCHEMES: readonly { architecture: Architecture; scheme: Scheme }[] = ARCHITECTURES.flatMap((a) =>
  a.schemes.map((scheme) => ({ architecture: a.name, scheme })),
);

/** The module scopes the detector knows (one backbone per graph). */
export const SCOPES_TEXT = orList([...new Set(SCHEMES.map((s) => s.scheme.scope).filter((s) => s !== ''))]);

/** What the detector looks for when a graph has no block it recognises. */
export const SOFTMAX_NAMES_TEXT =
  "attention Softmax nodes named '/vit/encoder/layer.{i}/attention/attention/Softmax' (or /deit/…, /dinov2/…, Depth Anything's /backbone/…; CLIP's '/vision_model/encoder/layers.{i}/self_attn/Softmax') as Optimum exports Hugging Face ViT, DeiT, DINOv2, Depth Anything and CLIP";
