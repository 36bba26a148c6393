// What the eval takes from @jmpjs/transformers-patch beyond its public entry, in one place:
// calibrateJMP's scoring (the KL to the plain model, top-1 agreement, and the rule that picks a
// candidate), the default reduction blocks and EViT's default keep rate, from the package's
// non-public subpath '@jmpjs/transformers-patch/internal'.
export { better, compare, probabilities, type Candidate, DEFAULT_KEEP_EVIT, defaultBlocks } from '@jmpjs/transformers-patch/internal';
