// Public API of @jmpjs/transformers-patch, export by export. The browser entry (index.web.ts)
// exports the same names but the Node-only ones below; test/host-entry-points.test.ts checks that.
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
// Node only: they read and write model files (in the browser, use the `jmp` CLI in Node).
export { compileJMPModel, inspectModel } from './compile-model.js';
export type { CompileJMPModelParams, CompileJMPOptions, CompiledModelInfo, ModelInspection, ModelDtype } from './compile-model.js';
export type { JMPStats } from './host/stats.js';
export type { CallRecord, ImageReduction } from './runner/segment-runner.js';
export { JmpError, JmpArgumentError, UnsupportedModelError, JmpStateError } from './errors.js';
