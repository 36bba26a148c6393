// Not part of the public API: what the monorepo's evaluation app (apps/eval) takes from the package
// beyond its entry point, so that the eval scores, schedules and defaults as the library does instead
// of copying them. It may change in any release; users import '@jmpjs/transformers-patch'.
export { better, compare, probabilities, type Candidate } from './host/calibration-score.js';
export { DEFAULT_KEEP_EVIT } from './defaults.js';
export { defaultBlocks, defaultsFor, type MethodDefaults } from './options.js';
