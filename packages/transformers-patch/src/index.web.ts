// Public API of @jmpjs/transformers-patch in the browser (`browser` export condition): the Node
// entry's, less the file-based `compileJMPModel` / `inspectModel` (use the `jmp` CLI in Node).
export { enableJMP, inspectJMP, createJMPPipeline } from './host/enable.js';
export type { JMPHandle, JMPModelInfo, ImageClassificationPipelineLike } from './host/enable.js';
export type { JMPOptions } from './options.js';
export { DEFAULT_BUDGET, DEFAULT_TAU, DEFAULT_TAU_FEW_PATCHES, FEW_PATCHES } from './options.js';
export { calibrateJMP } from './host/calibrate.js';
export type { CalibrateJMPOptions, CalibrationImages } from './host/calibrate.js';
export type { JMPPlan } from './plan-file.js';
export type { JMPStats } from './host/stats.js';
export type { CallRecord, ImageReduction } from './runner/segment-runner.js';
export { JmpError, JmpArgumentError, UnsupportedModelError, JmpStateError } from './errors.js';
