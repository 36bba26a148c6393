// calibrateJMP's scoring: how close a candidate stays to the plain pipeline, and the rule that picks one.
import type { Tensor } from '@huggingface/transformers';
import type { CalibrationObjective } from '../plan-file.js';

export interface Candidate {
  tau: number | number[];
  agreement: number;
  kl: number;
  top1: number | null;
}

/** Softmax of logits [B, K], row by row, in float64. */
export function probabilities(logits: Tensor): Float32Array {
  const [B, K] = logits.dims as [number, number];
  const x = logits.data as Float32Array;
  const p = new Float32Array(B * K);
  for (let b = 0; b < B; b++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, x[b * K + k]!);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(x[b * K + k]! - max);
    for (let k = 0; k < K; k++) p[b * K + k] = Math.exp(x[b * K + k]! - max) / sum;
  }
  return p;
}

/** Top-1 agreement and mean KL(plain ‖ reduced) over all images; top-1 against labels when given. */
export function compare(
  plain: readonly Float32Array[],
  reduced: readonly Float32Array[],
  classes: number,
  labels?: readonly number[],
): { agreement: number; kl: number; top1: number | null } {
  let n = 0;
  let agree = 0;
  let kl = 0;
  let right = 0;
  const argmax = (p: Float32Array, o: number) => {
    let best = 0;
    for (let k = 1; k < classes; k++) if (p[o + k]! > p[o + best]!) best = k;
    return best;
  };
  plain.forEach((P, i) => {
    const Q = reduced[i]!;
    for (let o = 0; o < P.length; o += classes, n++) {
      const a = argmax(P, o);
      const b = argmax(Q, o);
      if (a === b) agree++;
      if (labels && b === labels[n]) right++;
      for (let k = 0; k < classes; k++) {
        const p = P[o + k]!;
        if (p > 0) kl += p * Math.log(p / Math.max(Q[o + k]!, 1e-30));
      }
    }
  });
  return { agreement: agree / n, kl: kl / n, top1: labels ? right / n : null };
}

/**
 * 'kl': KL, then agreement. 'agreement': agreement, then KL. 'top1': top-1, then agreement, then KL.
 * Ties after that: the higher τ (it prunes more).
 */
export function better(a: Candidate, b: Candidate, objective: CalibrationObjective): boolean {
  if (objective === 'top1' && a.top1 !== b.top1) return a.top1! > b.top1!;
  if (objective === 'kl' && a.kl !== b.kl) return a.kl < b.kl;
  if (a.agreement !== b.agreement) return a.agreement > b.agreement;
  if (a.kl !== b.kl) return a.kl < b.kl;
  return (a.tau as number) > (b.tau as number);
}

/**
 * Per block: only a real gain moves a block's τ away from the best single τ. 'kl': the KL falls by
 * more than 0.1 %. 'agreement' / 'top1': that figure rises, or (agreement) it ties and the KL falls
 * by more than 0.1 %.
 */
export function strictlyBetter(a: Candidate, b: Candidate, objective: CalibrationObjective): boolean {
  if (objective === 'kl') return a.kl < b.kl * 0.999;
  if (objective === 'top1' && a.top1 !== b.top1) return a.top1! > b.top1!;
  if (a.agreement !== b.agreement) return a.agreement > b.agreement;
  return objective === 'agreement' && a.kl < b.kl * 0.999;
}
