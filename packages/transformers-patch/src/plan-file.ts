import { JmpArgumentError, JMP_MATCHES, JMP_SELECTS, STRATEGIES, type JmpMatch, type JmpSelect, type Strategy } from '@jmpjs/core';
import type { Architecture } from './graph/architectures/index.js';
import type { ModelProto } from './onnx/proto.js';
import { toNumber } from './onnx/proto.js';

/** What chooses among calibrateJMP's candidates (see `CalibrateJMPOptions.objective`). */
export type CalibrationObjective = 'kl' | 'agreement' | 'top1';

/**
 * What `calibrateJMP` returns and `enableJMP(pipe, { plan })` takes: plain JSON, to save and load.
 * A plan is for one model file: its graph's fingerprint is checked when it is used.
 */
export interface JMPPlan {
  format: 'jmp-plan/1';
  model: {
    architecture: Architecture;
    depth: number;
    protectedTokens: number;
    patches: number;
    hidden: number;
    /** Of the graph's structure (nodes, initializer names, types and shapes), not of the weights. */
    fingerprint: string;
  };
  /** The JMP options the plan runs: keep rates per block at these blocks, τ. */
  options: {
    select: JmpSelect;
    strategy: Strategy;
    blocks: number[];
    keep: number[];
    /** One τ, or one per block. */
    tau: number | number[];
    proportionalAttention: boolean;
    /** The last block's MLP on the protected tokens only; absent in plans made before it existed (then: the default). */
    headOnly?: boolean;
    /** JMP's similarity metric τ was calibrated with; absent in plans made before it existed (then: 'keys', what they used). */
    metric?: 'keys-per-head' | 'keys' | 'hidden';
    /** Select 'redundancy': how the tokens are paired; absent: 'bipartite' (all plans made before it existed). */
    match?: JmpMatch;
  };
  /** The budget the keep rates were planned for (share of the plain GMACs), and the GMACs per image. */
  budget: number | null;
  gmacs: { plain: number; planned: number };
  /** Measured on the calibration images against the plain pipeline (and the labels, when given). */
  measured: {
    images: number;
    /** Share of images whose top-1 class is the plain pipeline's. */
    agreement: number;
    /** Mean KL(plain ‖ reduced) of the output probabilities, in nats. */
    kl: number;
    /** Top-1 against the labels, and the plain pipeline's, when labels were given. */
    top1: number | null;
    plainTop1: number | null;
  };
  /** Every candidate tried, with what it measured. */
  candidates: { tau: number | number[]; agreement: number; kl: number; top1: number | null }[];
  /** What chose among the candidates. */
  objective: CalibrationObjective;
}

/** FNV-1a (two 32-bit lanes) of the graph's structure: node types, names and inputs; initializer names, types and dims. */
export function graphFingerprint(model: ModelProto): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  const feed = (text: string) => {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
    }
    feed1(0x1f);
  };
  const feed1 = (c: number) => {
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  };
  for (const n of model.graph.node) feed(`${n.opType}|${n.name ?? ''}|${n.input.join(',')}|${n.output.join(',')}`);
  for (const t of model.graph.initializer) feed(`${t.name}|${t.dataType}|${(t.dims ?? []).map((d) => toNumber(d)).join('x')}`);
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks that `plan` is a JMPPlan (as JSON.parse gives it back); throws a JmpArgumentError naming what is wrong. */
export function checkPlan(plan: unknown): JMPPlan {
  const bad = (what: string, found: unknown): never => {
    throw new JmpArgumentError({ argument: `options.plan${what}`, expected: 'a plan from calibrateJMP (format jmp-plan/1)', found });
  };
  if (!plan || typeof plan !== 'object' || Array.isArray(plan)) bad('', plan);
  const p = plan as Partial<JMPPlan>;
  if (p.format !== 'jmp-plan/1') bad('.format', p.format);
  const m = p.model;
  if (!m || typeof m.fingerprint !== 'string' || !isNum(m.depth) || !isNum(m.patches)) bad('.model', m);
  const o = p.options;
  if (!o || !Array.isArray(o.blocks) || !Array.isArray(o.keep) || o.keep.length !== o.blocks.length || !o.keep.every(isNum) || !o.blocks.every(isNum))
    bad('.options', o);
  if (
    !JMP_SELECTS.includes(o!.select) ||
    !STRATEGIES.includes(o!.strategy) ||
    !(isNum(o!.tau) || (Array.isArray(o!.tau) && o!.tau.length === o!.blocks.length && o!.tau.every(isNum))) ||
    typeof o!.proportionalAttention !== 'boolean' ||
    (o!.headOnly !== undefined && typeof o!.headOnly !== 'boolean') ||
    (o!.metric !== undefined && !['keys-per-head', 'keys', 'hidden'].includes(o!.metric)) ||
    (o!.match !== undefined && !JMP_MATCHES.includes(o!.match))
  )
    bad('.options', o);
  return p as JMPPlan;
}
