// Public API of @jmpjs/core, export by export.

// Errors
export { JmpError, JmpArgumentError } from './errors.js';

// Tensors and token states
export type { Tensor } from './tensor.js';
export { createTokenState, sourceLists, tokenFates } from './state.js';
export type { TokenState, SourceMap, CreateStateOptions, TokenFate } from './state.js';

// Signals measured in the model
export { importanceFromAttention, importanceFromReceived, importanceFromRows } from './importance.js';
export { headMeanKeys, headMeanKeysPacked, perHeadUnitKeys, perHeadUnitKeysPacked } from './metric.js';

// Reductions: JMP (adaptive, adaptive-token, merge, prune), ToMe, EViT
export { reduceTokens } from './reduce.js';
export { criticalCount } from './methods/checks.js';
export { STRATEGIES, JMP_SELECTS, JMP_MATCHES } from './methods/types.js';
export type {
  Strategy,
  ReductionMethod,
  JmpMethod,
  JmpSelect,
  JmpMatch,
  ToMeMethod,
  EvitMethod,
  ReductionSignals,
  ReductionResult,
  ReductionStats,
  Decision,
} from './methods/types.js';

// Proportional attention
export { logSizeBias } from './bias.js';

// Schedules and cost
export { DEFAULT_SCHEDULE, tomeSchedule, planTokens, resolveSchedule } from './schedule.js';
export type { Schedule, ScheduleStep, BlockTokens, PlanOptions } from './schedule.js';
export { DEIT_SMALL, blockMacs, countMacs, baselineMacs } from './cost.js';
export { planBudget } from './budget.js';
export type { BudgetOptions, BudgetPlan } from './budget.js';
export type { ModelShape, CostReport } from './cost.js';
