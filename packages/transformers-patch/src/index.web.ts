// Public API of @jmpjs/transformers-patch in the browser (`browser` export condition): the Node
// entry's, less the file-based `compileJMPModel` / `inspectModel` and their types (use the `jmp`
// CLI in Node). test/host-entry-points.test.ts checks that nothing else differs.
import './host/session-hook.js'; // the package's one side effect: records what each onnxruntime session is created from
export { enableJMP, inspectJMP, createJMPPipeline } from './host/enable.js';
export type { JMPHandle, VisionPipelineLike, ImageClassificationPipelineLike } from './host/types.js';
export type { JMPModelInfo } from './host/model-info.js';
export type { JMPOptions } from './options.js';
export type { JmpMetric } from './option-values.js';
export { DEFAULT_BUDGET, DEFAULT_TAU, DEFAULT_TAU_FEW_PATCHES, FEW_PATCHES } from './defaults.js';
export { calibrateJMP } from './host/calibrate.js';
export type { CalibrateJMPOptions, CalibrationImages, CalibrationObjective } from './host/calibrate.js';
export type { JMPPlan } from './plan-file.js';
export type { JMPStats } from './host/stats.js';
export type { CallRecord, ImageReduction } from './runner/segment-runner.js';
export { JmpError, JmpArgumentError, UnsupportedModelError, JmpStateError } from './errors.js';
