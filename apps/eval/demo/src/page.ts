// What both demo pages (index.html, depth.html) share: element lookup, the status line, the WebGPU
// option, time cells, and one task at a time.
import { formatMs, median } from './timing.js';

/** The element of this id, or an error naming it. */
export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el as T;
};

export type Status = 'loading' | 'ready' | 'running' | 'done' | 'error';

/** Sets the status line (its state and, once an image is done, which one: what the tests wait for). */
export const statusLine =
  (el: HTMLElement) =>
  (state: Status, text: string, image?: string): void => {
    el.dataset.state = state;
    if (image !== undefined) el.dataset.image = image;
    el.textContent = text;
    el.classList.toggle('error', state === 'error');
  };

export function decodeBase64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

/** A time cell: the median of the timed runs, or a dash. */
export function showTime(el: HTMLElement, times: number[] | null): void {
  if (!times) {
    el.textContent = '–';
    delete el.dataset.ms;
    return;
  }
  const m = median(times);
  el.dataset.ms = String(m);
  el.textContent = `${formatMs(m)} (median of ${times.length})`;
}

/** Enables the device menu's webgpu option where the browser has an adapter. */
export async function detectWebGPU(device: HTMLSelectElement): Promise<void> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  const option = device.querySelector<HTMLOptionElement>('option[value="webgpu"]')!;
  option.disabled = !adapter;
  option.textContent = adapter ? 'webgpu' : 'webgpu (no adapter)';
}

/** One task at a time; changes made meanwhile run the task once more when the current one is over. */
export class LatestOnly {
  private dirty = false;
  private running = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly onError: (e: unknown) => void,
  ) {}

  /** Whether another run is already asked for (a result about to be replaced). */
  get pending(): boolean {
    return this.dirty;
  }

  schedule(): void {
    this.dirty = true;
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.dirty) {
        this.dirty = false;
        try {
          await this.task();
        } catch (e) {
          this.onError(e);
        }
      }
    } finally {
      this.running = false;
    }
  }
}

/**
 * The page's work queue: `schedule()` shows "working…" and runs `task` (one at a time, the latest
 * settings winning); a failure clears the results and shows the error.
 */
export function workQueue(
  task: () => Promise<void>,
  page: { setStatus: (state: Status, text: string) => void; clearResults: () => void },
): { schedule(): void; readonly pending: boolean } {
  const work = new LatestOnly(task, (e) => {
    console.warn(e);
    page.clearResults();
    page.setStatus('error', `error: ${e instanceof Error ? e.message : String(e)}`);
  });
  return {
    schedule() {
      page.setStatus('running', 'working…');
      work.schedule();
    },
    get pending() {
      return work.pending;
    },
  };
}

/** A file input and drag-and-drop anywhere on the page (the drop zone shows it): each file goes to `onFile`. */
export function acceptFiles(input: HTMLInputElement, dropZone: HTMLElement, onFile: (file: File) => void): void {
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (file) onFile(file);
  });
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    dropZone.classList.add('over');
  });
  document.addEventListener('dragleave', () => dropZone.classList.remove('over'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    dropZone.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) onFile(file);
  });
}
