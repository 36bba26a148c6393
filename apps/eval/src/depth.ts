import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RawImage, pipeline, type Tensor } from '@huggingface/transformers';
import { baselineMacs } from '@jmpjs/core';
import { depthSceneNames, depthScenes, modelPath } from '@jmpjs/fixtures';
import { enableJMP, type JMPOptions } from '@jmpjs/transformers-patch';
import { UsageError, int, type Args } from './args.js';
import { addDepth, depthScores, emptySums, wholeModelBudget, type DepthSums } from './depth-metrics.js';
import { InterruptedError, Progress, interrupt } from './progress.js';
import { encodePng, pngDataUri } from './report/png.js';

type DepthPipeline = ((images: unknown) => Promise<unknown>) & {
  model: ((inputs: { pixel_values: Tensor }) => Promise<{ predicted_depth: Tensor }>) & { config: Record<string, unknown> };
  processor: (images: unknown[]) => Promise<{ pixel_values: Tensor }>;
  dispose(): Promise<void>;
};

/** A committed set of rendered scenes: RGB images with their exact depth. */
export type Scenes = ReturnType<typeof depthScenes>;

/** The reduction budgets of the fidelity table: −20, −35 and −50 % of the blocks' GMACs. */
export const DEPTH_TARGETS = [0.2, 0.35, 0.5] as const;

/** The methods of the fidelity table, as enableJMP options (the budget added per target). */
export const DEPTH_METHODS: Record<string, JMPOptions> = {
  jmp: {},
  merge: { strategy: 'merge' },
  prune: { strategy: 'prune' },
  tome: { method: 'tome' },
};

export interface DepthRow {
  method: string;
  target: number | null;
  budget: number | null;
  gmacs: number;
  /** Against the plain model's depth. */
  plain: { absRel: number; delta1: number };
  /** Against the ground truth. */
  truth: { absRel: number; delta1: number };
  /** Share of leaving tokens that merged (JMP), where the handle reports it. */
  mergeShare: number | null;
}

/** A committed scene set by name, or a usage error naming the sets. */
function loadScenes(name: string): Scenes {
  if (!depthSceneNames.includes(name)) throw new UsageError(`--data: expected ${depthSceneNames.join(' or ')}, found '${name}'`);
  return depthScenes(name);
}

const fmt = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

/**
 * `eval depth`: a Depth Anything model (default: the committed photo-depth, trained on rendered
 * scenes) on its committed test scenes, plain and with each method at −20, −35 and −50 % of the
 * blocks' GMACs (the neck and head are constants): AbsRel and δ < 1.25 against the plain model's depth
 * and against the ground truth, the GMACs of the whole model, and side-by-side depth maps (plain, JMP,
 * |difference|) written to the report folder.
 */
export async function depthCommand(args: Args): Promise<void> {
  const model = args.model ?? 'photo-depth';
  const dir = /[\\/]/.test(model) ? model : modelPath(model);
  const dtype = args.dtype ?? 'fp32';
  if (!['fp32', 'fp16', 'q8'].includes(dtype)) throw new UsageError(`--dtype: expected fp32, fp16 or q8, found '${dtype}'`);
  const scenes = loadScenes(args.data ?? 'depth-test');
  const limit = Math.min(scenes.images.length, args.full ? scenes.images.length : int('limit', args.limit, scenes.images.length));
  const batchSize = int('batch', args.batch, 16);
  const targets = args.targets ? args.targets.split(',').map(Number) : [...DEPTH_TARGETS];
  if (targets.some((t) => !(t > 0 && t < 1))) throw new UsageError(`--targets: expected shares in (0, 1), e.g. 0.2,0.35,0.5; found '${args.targets}'`);
  const methods = args.methods ? args.methods.split(',') : Object.keys(DEPTH_METHODS);
  for (const m of methods) if (!DEPTH_METHODS[m]) throw new UsageError(`--methods: unknown '${m}' (expected ${Object.keys(DEPTH_METHODS).join(', ')})`);
  const pipe = (await pipeline('depth-estimation', dir, { dtype: dtype as 'fp32', device: (args.device ?? 'cpu') as 'cpu' })) as unknown as DepthPipeline;
  const outDir = args.out ?? path.join(process.cwd(), 'out');
  try {
    const batches: Tensor[] = [];
    for (let start = 0; start < limit; start += batchSize) {
      const images = scenes.images.slice(start, Math.min(limit, start + batchSize)).map((im) => new RawImage(im, scenes.width, scenes.height, 3));
      batches.push((await pipe.processor(images)).pixel_values);
    }
    // tokens merged and removed (merged + pruned) over the calls of the latest predict(), from each call's record
    const tally = { merged: 0, removed: 0 };
    const predict = async (
      progress: Progress,
      jmp?: { stats(): { lastCall: { images: { merged: number; pruned: number }[][] } | null } },
    ): Promise<Float32Array[]> => {
      const maps: Float32Array[] = [];
      tally.merged = tally.removed = 0;
      for (const pixels of batches) {
        if (interrupt.requested) throw new InterruptedError();
        const d = (await pipe.model({ pixel_values: pixels })).predicted_depth;
        for (const image of jmp?.stats().lastCall?.images ?? []) {
          for (const r of image) {
            tally.merged += r.merged;
            tally.removed += r.merged + r.pruned;
          }
        }
        const [n, h, w] = d.dims as [number, number, number];
        if (h !== scenes.height || w !== scenes.width) throw new Error(`the model's depth is ${h}×${w}, the scenes are ${scenes.height}×${scenes.width}`);
        const data = d.data as Float32Array;
        for (let i = 0; i < n; i++) maps.push(data.slice(i * h * w, (i + 1) * h * w));
        progress.tick(n);
      }
      return maps;
    };
    const settings = 1 + methods.length * targets.length;
    console.log(
      `eval depth: ${model} (${dtype}) on ${scenes.name} (${limit} scenes, ${scenes.width}×${scenes.height}), ${methods.join(', ')} at ${targets.map((t) => `−${Math.round(t * 100)} %`).join(', ')} of the blocks' GMACs`,
    );
    const progress = new Progress(settings * limit, 'plain');
    const plain = await predict(progress);
    const truth = (sums: DepthSums, maps: Float32Array[]) => maps.reduce((s, m, i) => addDepth(s, m, scenes.depth[i]!), sums);
    const rows: DepthRow[] = [];
    // the plain model's GMACs (and its constant part: embedding and the dense head) from a plan with nothing reduced
    const probe = await enableJMP(pipe as never, { strategy: 'prune', keep: 1 });
    const info = probe.info!;
    const plainGmacs = info.gmacs.plain;
    const plainCost = baselineMacs(info.shape);
    const constant = (plainCost.embedding + plainCost.head) / 1e9;
    await probe.dispose();
    rows.push({
      method: 'plain',
      target: null,
      budget: null,
      gmacs: plainGmacs,
      plain: { absRel: 0, delta1: 1 },
      truth: depthScores(truth(emptySums(), plain)),
      mergeShare: null,
    });
    let shown: { name: string; maps: Float32Array[] } | undefined;
    for (const m of methods) {
      for (const target of targets) {
        const budget = wholeModelBudget(target, plainGmacs, constant);
        progress.setLabel(`${m} −${Math.round(target * 100)} %`);
        const warnings: string[] = [];
        const jmp = await enableJMP(pipe as never, { ...DEPTH_METHODS[m], budget, warn: (w: string) => warnings.push(w) } as JMPOptions);
        try {
          const maps = await predict(progress, jmp);
          rows.push({
            method: m,
            target,
            budget,
            gmacs: jmp.info!.gmacs.planned,
            plain: depthScores(maps.reduce((s, d, i) => addDepth(s, d, plain[i]!), emptySums())),
            truth: depthScores(truth(emptySums(), maps)),
            mergeShare: tally.removed > 0 ? tally.merged / tally.removed : null,
          });
          for (const w of warnings) console.log(`  ${m} −${Math.round(target * 100)} %: ${w}`);
          if (m === 'jmp' && Math.abs(target - 0.35) < 1e-9) shown = { name: `jmp −35 %`, maps };
        } finally {
          await jmp.dispose();
        }
      }
    }
    progress.finish();
    console.log(
      `\nthe plain model: ${fmt(plainGmacs, 4)} GMACs, of which ${fmt(constant, 4)} constant (embedding, neck and head); targets are shares of the other ${fmt(plainGmacs - constant, 4)}\n`,
    );
    console.log('method  target   budget  GMACs    whole   AbsRel→plain  δ<1.25→plain  AbsRel→GT  δ<1.25→GT  merge');
    for (const r of rows) {
      console.log(
        [
          r.method.padEnd(7),
          (r.target === null ? '—' : `−${Math.round(r.target * 100)} %`).padEnd(8),
          (r.budget === null ? '—' : r.budget.toFixed(3)).padEnd(7),
          fmt(r.gmacs, 4).padEnd(8),
          `${fmt((r.gmacs / plainGmacs - 1) * 100, 1)} %`.padEnd(7),
          fmt(r.plain.absRel, 4).padEnd(13),
          fmt(r.plain.delta1, 4).padEnd(13),
          fmt(r.truth.absRel, 4).padEnd(10),
          fmt(r.truth.delta1, 4).padEnd(10),
          r.mergeShare === null ? '—' : `${Math.round(r.mergeShare * 100)} %`,
        ].join(' '),
      );
    }
    await mkdir(outDir, { recursive: true });
    const png = shown ? depthMapsPng(plain, shown.maps, scenes, Math.min(4, limit)) : null;
    if (png) {
      const file = path.join(outDir, 'depth-maps.png');
      await writeFile(file, png);
      console.log(`\ndepth maps (rows: scenes; columns: image, plain, ${shown!.name}, |difference| ×10): ${file}`);
    }
    const report = path.join(outDir, 'depth.html');
    await writeFile(report, depthReportHtml({ model, dtype, data: scenes.name, scenes: limit, plainGmacs, constant, rows, png }));
    console.log(`report: ${report}`);
    if (args.json) {
      await writeFile(args.json, JSON.stringify({ model, dtype, data: scenes.name, scenes: limit, plainGmacs, constantGmacs: constant, rows }, null, 2));
      console.log(`results: ${args.json}`);
    }
  } finally {
    await pipe.dispose();
  }
}

/**
 * A grey PNG of `count` scenes, one per row: the image (as luma), the plain depth, the reduced depth,
 * and |difference| × 10, each map scaled by the plain map's range of its scene.
 */
export function depthMapsPng(plain: Float32Array[], reduced: Float32Array[], scenes: Scenes, count: number): Buffer {
  const { width: w, height: h } = scenes;
  const cols = 4;
  const out = new Uint8Array(cols * w * count * h);
  const put = (row: number, col: number, value: (i: number) => number) => {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) out[(row * h + y) * cols * w + col * w + x] = Math.max(0, Math.min(255, Math.round(value(y * w + x))));
    }
  };
  for (let s = 0; s < count; s++) {
    const p = plain[s]!;
    const r = reduced[s]!;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of p) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const scale = 255 / Math.max(hi - lo, 1e-6);
    const im = scenes.images[s]!;
    put(s, 0, (i) => 0.299 * im[3 * i]! + 0.587 * im[3 * i + 1]! + 0.114 * im[3 * i + 2]!);
    put(s, 1, (i) => (p[i]! - lo) * scale);
    put(s, 2, (i) => (r[i]! - lo) * scale);
    put(s, 3, (i) => 10 * Math.abs(r[i]! - p[i]!) * scale);
  }
  return encodePng(cols * w, count * h, 1, out);
}

const escapeHtml = (t: string) => t.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The depth fidelity report: the table, and the depth maps side by side. */
export function depthReportHtml(r: {
  model: string;
  dtype: string;
  data: string;
  scenes: number;
  plainGmacs: number;
  constant: number;
  rows: DepthRow[];
  png: Buffer | null;
}): string {
  const cells = (row: DepthRow) =>
    [
      row.method,
      row.target === null ? '—' : `−${Math.round(row.target * 100)} %`,
      fmt(row.gmacs, 4),
      `${fmt((row.gmacs / r.plainGmacs - 1) * 100, 1)} %`,
      fmt(row.plain.absRel, 4),
      fmt(row.plain.delta1, 4),
      fmt(row.truth.absRel, 4),
      fmt(row.truth.delta1, 4),
      row.mergeShare === null ? '—' : `${Math.round(row.mergeShare * 100)} %`,
    ]
      .map((c) => `<td>${escapeHtml(c)}</td>`)
      .join('');
  const head = ['method', 'blocks −', 'GMACs', 'whole model', 'AbsRel → plain', 'δ<1.25 → plain', 'AbsRel → GT', 'δ<1.25 → GT', 'merge']
    .map((c) => `<th>${escapeHtml(c)}</th>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>JMP depth fidelity — ${escapeHtml(r.model)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}img{image-rendering:pixelated;width:896px;max-width:100%}</style></head>
<body><h1>Depth fidelity: ${escapeHtml(r.model)} (${escapeHtml(r.dtype)})</h1>
<p>${r.scenes} scenes of ${escapeHtml(r.data)}. Plain model ${fmt(r.plainGmacs, 4)} GMACs, of which ${fmt(r.constant, 4)} are constant (embedding, DPT neck and depth head): the targets cut the blocks' GMACs; “whole model” is the change of all of it.</p>
<table><thead><tr>${head}</tr></thead><tbody>${r.rows.map((row) => `<tr>${cells(row)}</tr>`).join('')}</tbody></table>
${r.png ? `<h2>Depth maps</h2><p>Rows: scenes. Columns: the image, the plain model's depth, the default JMP's at −35 %, and |difference| × 10 (each scaled by the plain map's range).</p><img alt="depth maps" src="${pngDataUri(r.png)}">` : ''}
</body></html>
`;
}
