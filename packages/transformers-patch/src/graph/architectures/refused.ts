// Vision transformers that JMP does not run, and why: the hint of their UnsupportedModelError.

/** Why each is refused, by config.json `model_type`. */
export const REFUSED_TYPES: Readonly<Record<string, string>> = {
  beit: "BEiT's relative position bias is a table over the full patch grid: its attention cannot follow merged tokens.",
  'data2vec-vision': "Data2Vec-Vision is BEiT's architecture: its relative position bias cannot follow merged tokens.",
  swin: 'Swin attends within fixed windows of the patch grid and merges patches by position: reduced tokens fit neither.',
  swinv2: 'Swin V2 attends within fixed windows of the patch grid and merges patches by position: reduced tokens fit neither.',
};

/** Why a config.json `model_type` is refused, when it is one of those. */
export const whyRefused = (type: unknown): string | undefined =>
  typeof type === 'string' && Object.hasOwn(REFUSED_TYPES, type) ? REFUSED_TYPES[type] : undefined;
