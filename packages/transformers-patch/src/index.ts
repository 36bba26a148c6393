// Public API of @jmpjs/transformers-patch, export by export.
export { enableJMP, inspectJMP, createJMPPipeline } from './host/enable.js';
export type { JMPHandle, JMPModelInfo, ImageClassificationPipelineLike } from './host/enable.js';
export type { JMPOptions } from './options.js';
export { DEFAULT_BUDGET, DEFAULT_TAU, DEFAULT_TAU_FEW_PATCHES, FEW_PATCHES } from './options.js';
export { calibrateJMP } from './host/calibrate.js';
export type { CalibrateJMPOptions, CalibrationImages, CalibrationObjective } from './host/calibrate.js';
export type { JMPPlan } from './plan-file.js';
export { compileJMPModel, inspectModel } from './compile-model.js';
export type { CompileJMPModelParams, CompileJMPOptions, CompiledModelInfo, ModelInspection, ModelDtype } from './compile-model.js';
export type { JMPStats } from './host/stats.js';
export type { CallRecord, ImageReduction } from './runner/segment-runner.js';
export { JmpError, JmpArgumentError, UnsupportedModelError, JmpStateError } from './errors.js';
