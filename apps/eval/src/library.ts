// What the eval takes from @jmpjs/transformers-patch beyond its public entry, in one place:
// calibrateJMP's scoring (the KL to the plain model, top-1 agreement, and the rule that picks a
// candidate: host/calibration-score.ts), the default JMP's reduction blocks (options.ts) and EViT's
// default keep rate (defaults.ts). The package exports only its public API ('.'), so these come from
// its built modules by path; once it exports them (a subpath such as
// '@jmpjs/transformers-patch/internal'), only these lines change.
export { better, compare, probabilities, type Candidate } from '../../../packages/transformers-patch/dist/host/calibration-score.js';
export { DEFAULT_KEEP_EVIT } from '../../../packages/transformers-patch/dist/defaults.js';
export { defaultBlocks } from '../../../packages/transformers-patch/dist/options.js';
