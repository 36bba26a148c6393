import type { CallRecord } from '../runner/segment-runner.js';

/** What `jmp.stats()` returns: totals since enable (or `resetStats()`), and the last call in detail. */
export interface JMPStats {
  /** Forward calls and images since the last reset. */
  calls: number;
  images: number;
  /** Mean GMACs per image over those images, from the token counts they really had (measured). */
  meanGmacsPerImage: number;
  /** GMACs per image as planned for the model's image size (the budget's plan), and of the plain model. */
  plannedGmacsPerImage: number;
  plainGmacsPerImage: number;
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
  private planned = { plain: 0, planned: 0 };

  /** The planned and the plain GMACs per image, reported with every snapshot. */
  plan(gmacs: { plain: number; planned: number }): void {
    this.planned = { ...gmacs };
  }

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
      plannedGmacsPerImage: this.planned.planned,
      plainGmacsPerImage: this.planned.plain,
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
