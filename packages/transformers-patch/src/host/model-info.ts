// What `jmp.info` (and inspectJMP) says of a model and its plan.
import { baselineMacs, countMacs, type BlockTokens, type JmpMatch, type ModelShape } from '@jmpjs/core';
import type { Architecture, AttentionForm } from '../graph/architectures/index.js';
import type { JmpMetric } from '../option-values.js';
import type { Plan } from '../plan.js';

/** The model as this package sees it, for `jmp.info`. */
export interface JMPModelInfo {
  /** The backbone: its config.json `model_type` (`vit`, `deit`, `dinov2`, `clip`, `siglip`). */
  architecture: Architecture;
  depth: number;
  protectedTokens: number;
  /** 1-based blocks that reduce. */
  reductionBlocks: number[];
  /** Planned token counts per block at the model's image size. */
  plannedTokens: BlockTokens[];
  /** Sizes for the cost model (`countMacs(shape, blocks)` from `@jmpjs/core`). */
  shape: ModelShape;
  device: string;
  dtype: string;
  /** How the reduction runs: one compiled session, or segments with `@jmpjs/core` between them. */
  runner: 'compiled' | 'segments';
  /** The GMACs budget the schedule was planned for (a share of the plain model's), or null when keep / r were given. */
  budget: number | null;
  /** Keep rate (JMP, EViT) or r (ToMe) of each reduction block, as planned. */
  schedule: { block: number; amount: number }[];
  /** GMACs per image of the plain model and, as planned, with the reduction (cost model; the reductions' own similarity work apart). */
  gmacs: { plain: number; planned: number };
  /** Of the model's graph structure: what a plan from `calibrateJMP` is checked against. */
  fingerprint: string;
  /** The export's shape: its default-domain opset, and how its attention is written. */
  opset: number;
  attention: AttentionForm;
  /** The last block's MLP runs on the protected tokens only (`headOnly`). */
  headOnly: boolean;
  /**
   * JMP's similarity metric as it runs on this model (the default is `'keys-per-head'` on models with
   * at most `FEW_PATCHES` patches, else `'keys'`), and its τ (null for a strategy without τ); null for
   * ToMe and EViT.
   */
  metric: JmpMetric | null;
  tau: number | readonly number[] | null;
  /** How JMP with select 'redundancy' pairs the tokens (`'bipartite'` or `'nearest'`); null for select 'attention', ToMe and EViT. */
  match: JmpMatch | null;
}

/** The info of a plan, on the device and dtype the pipeline's session runs with. */
export function planInfo(plan: Plan, env: { device: string; dtype: string }): JMPModelInfo {
  return {
    architecture: plan.layout.root,
    depth: plan.layout.blocks.length,
    protectedTokens: plan.layout.protectedTokens,
    reductionBlocks: plan.steps.map((s) => s.block),
    plannedTokens: plan.planned,
    shape: plan.shape,
    device: env.device,
    dtype: env.dtype,
    runner: plan.runner,
    budget: plan.budget,
    schedule: plan.steps.map((s) => ({ ...s })),
    gmacs: { plain: baselineMacs(plan.shape).gmacs, planned: countMacs(plan.shape, plan.planned).gmacs },
    fingerprint: plan.fingerprint,
    opset: plan.layout.opset,
    attention: plan.layout.attention,
    headOnly: plan.headOnly,
    metric: plan.options.method === 'jmp' ? plan.options.metric : null,
    tau: plan.options.method === 'jmp' ? (plan.options.tau ?? null) : null,
    match: plan.options.method === 'jmp' && plan.options.select === 'redundancy' ? plan.options.match : null,
  };
}
