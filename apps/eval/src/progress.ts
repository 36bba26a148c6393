/** A progress bar on stderr (a line per 10 % when stderr is not a terminal), and Ctrl-C handling. */
export class Progress {
  private done = 0;
  private readonly start = performance.now();
  private lastPrinted = -1;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(
    private total: number,
    private label: string,
    /** What is counted (default images). */
    private readonly unit = 'img',
  ) {}

  setLabel(label: string): void {
    this.label = label;
  }

  /** The total grew (or shrank) while the work ran: the share and the ETA follow. */
  setTotal(total: number): void {
    if (total !== this.total) this.lastPrinted = Math.min(this.lastPrinted, Math.floor((this.done / Math.max(total, 1)) * 10));
    this.total = total;
  }

  tick(n: number): void {
    this.done += n;
    const elapsed = (performance.now() - this.start) / 1000;
    const rate = this.done / Math.max(elapsed, 1e-9);
    const eta = (this.total - this.done) / Math.max(rate, 1e-9);
    const share = this.total > 0 ? this.done / this.total : 1;
    if (this.tty) {
      const width = 24;
      const filled = Math.round(share * width);
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ` +
          `${this.done}/${this.total} ${this.unit}  ${rate.toFixed(rate < 10 ? 1 : 0)} ${this.unit}/s  ETA ${formatSeconds(eta)}  ${this.label}\x1b[K`,
      );
    } else {
      const decile = Math.floor(share * 10);
      if (decile > this.lastPrinted) {
        this.lastPrinted = decile;
        process.stderr.write(
          `  ${(share * 100).toFixed(0).padStart(3)}% ${this.done}/${this.total} ${this.unit}, ${rate.toFixed(rate < 10 ? 1 : 0)} ${this.unit}/s, ETA ${formatSeconds(eta)}  ${this.label}\n`,
        );
      }
    }
  }

  finish(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** Set by Ctrl-C: long loops check it between batches and stop cleanly. */
export const interrupt = { requested: false };

export function onInterrupt(): void {
  process.on('SIGINT', () => {
    if (interrupt.requested) process.exit(130);
    interrupt.requested = true;
    process.stderr.write('\nInterrupted: finishing the current batch and releasing sessions (Ctrl-C again to quit now).\n');
  });
}

export class InterruptedError extends Error {
  constructor() {
    super('interrupted');
  }
}
