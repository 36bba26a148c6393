// Depth fidelity measures (`eval depth`): AbsRel and δ < 1.25 of one depth map against another, and
// the whole-model budget that reduces the backbone's share of the GMACs by a target.

/** Sums over the pixels of a set of maps, for {@link depthScores}. */
export interface DepthSums {
  /** Σ |d − r| / r over the pixels counted. */
  absRel: number;
  /** Pixels with max(d / r, r / d) < 1.25. */
  within: number;
  /** Pixels counted (r > 0 and d finite). */
  pixels: number;
  /** Pixels left out: r ≤ 0 (no depth to compare with). */
  skipped: number;
}

export const emptySums = (): DepthSums => ({ absRel: 0, within: 0, pixels: 0, skipped: 0 });

/**
 * Adds the pixels of `d` (a prediction) against `r` (the reference: the plain model's prediction or
 * the ground truth) to `sums`. A pixel whose reference is not positive is skipped; a prediction that
 * is not positive counts as outside δ < 1.25 (its ratio is infinite) with its full relative error.
 */
export function addDepth(sums: DepthSums, d: ArrayLike<number>, r: ArrayLike<number>): DepthSums {
  if (d.length !== r.length) throw new Error(`depth maps of different sizes: ${d.length} and ${r.length} pixels`);
  for (let i = 0; i < d.length; i++) {
    const ref = r[i]!;
    const x = d[i]!;
    if (!(ref > 0) || !Number.isFinite(x)) {
      sums.skipped++;
      continue;
    }
    sums.absRel += Math.abs(x - ref) / ref;
    if (x > 0 && Math.max(x / ref, ref / x) < 1.25) sums.within++;
    sums.pixels++;
  }
  return sums;
}

/** AbsRel (mean |d − r| / r) and the share of pixels with δ < 1.25, over every pixel added. */
export function depthScores(sums: DepthSums): { absRel: number; delta1: number } {
  if (sums.pixels === 0) return { absRel: Number.NaN, delta1: Number.NaN };
  return { absRel: sums.absRel / sums.pixels, delta1: sums.within / sums.pixels };
}

/**
 * The share of the whole model's plain GMACs (what `budget` means) that cuts the reducible part,
 * `plain − constant` (the blocks; the embedding and a dense head are constants), by `target`
 * (0.35: −35 % of the blocks' GMACs).
 */
export function wholeModelBudget(target: number, plainGmacs: number, constantGmacs: number): number {
  if (!(target > 0 && target < 1)) throw new Error(`target: expected a share in (0, 1), found ${target}`);
  if (!(constantGmacs >= 0 && constantGmacs < plainGmacs)) throw new Error(`constant GMACs ${constantGmacs} outside [0, ${plainGmacs})`);
  return 1 - (target * (plainGmacs - constantGmacs)) / plainGmacs;
}
