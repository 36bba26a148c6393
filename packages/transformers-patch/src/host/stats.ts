import type { CallRecord } from '../runner/segment-runner.js';

/** What `jmp.stats()` returns: totals since enable (or `resetStats()`), and the last call in detail. */
export interface JMPStats {
  /** Forward calls and images since the last reset. */
  calls: number;
  images: number;
  /** Mean GMACs per image over those images, from the token counts they really had. */
  meanGmacsPerImage: number;
  /** Per reduction block: how many images merged, pruned, mixed (adaptive-token), fused (EViT). */
  decisions: Record<number, { merge: number; prune: number; mixed: number; fuse: number; none: number }>;
  /** The last forward call: token counts per block, each image's decisions and σ, GMACs per image. */
  lastCall: CallRecord | null;
}

export class StatsCollector {
  private calls = 0;
  private images = 0;
  private gmacs = 0;
  private decisions: JMPStats['decisions'] = {};
  private last: CallRecord | null = null;

  add(record: CallRecord): void {
    this.calls++;
    this.images += record.batchSize;
    this.gmacs += record.gmacsPerImage * record.batchSize;
    for (const image of record.images) {
      for (const r of image) {
        const d = (this.decisions[r.block] ??= { merge: 0, prune: 0, mixed: 0, fuse: 0, none: 0 });
        d[r.decision]++;
      }
    }
    this.last = record;
  }

  snapshot(): JMPStats {
    return {
      calls: this.calls,
      images: this.images,
      meanGmacsPerImage: this.images > 0 ? this.gmacs / this.images : 0,
      decisions: structuredClone(this.decisions),
      lastCall: this.last,
    };
  }

  reset(): void {
    this.calls = 0;
    this.images = 0;
    this.gmacs = 0;
    this.decisions = {};
    this.last = null;
  }
}
