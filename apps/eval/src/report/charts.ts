/**
 * Vega-Lite specs of the report's charts (top-1 vs GMACs, throughput vs GMACs, σ distributions,
 * calibration curve). The token maps are in `tokenmaps.ts`. Specs are plain JSON; `vega.ts`
 * compiles and renders them.
 */
import type { CalibrationCurve, EvalResult, ReportData, SigmaDistribution } from '../types.js';
import { paretoMask } from './format.js';
import type { VlSpec } from './vega.js';

/** Known methods in legend order, with their colours; others get the extra colours in turn. */
const METHOD_COLORS: Record<string, string> = {
  baseline: '#222222',
  jmp: '#d62728',
  'jmp-spec': '#ff7f0e',
  prune: '#1f77b4',
  merge: '#2ca02c',
  tome: '#9467bd',
  evit: '#8c564b',
};
const EXTRA_COLORS = ['#e377c2', '#17becf', '#bcbd22', '#7f7f7f', '#aec7e8', '#98df8a', '#c5b0d5'];

/** The colour scale of the `method` field, the same in every chart. */
export function methodScale(methods: readonly string[]): { domain: string[]; range: string[] } {
  const known = Object.keys(METHOD_COLORS).filter((m) => methods.includes(m));
  const unknown = [...new Set(methods)].filter((m) => !(m in METHOD_COLORS));
  const domain = [...known, ...unknown];
  const range = domain.map((m, i) => METHOD_COLORS[m] ?? EXTRA_COLORS[(i - known.length) % EXTRA_COLORS.length] ?? '#999');
  return { domain, range };
}

interface Point {
  method: string;
  gmacs: number;
  top1: number;
  throughput: number;
  pareto: boolean;
}

function points(results: readonly EvalResult[]): Point[] {
  const front = paretoMask(results);
  return results
    .map((r, i) => ({
      method: r.method,
      gmacs: r.gmacs,
      top1: Math.round(r.top1 * 1e6) / 1e4, // in %, 4 decimals
      throughput: r.throughput,
      pareto: front[i] ?? false,
    }))
    .filter((p) => Number.isFinite(p.gmacs) && Number.isFinite(p.top1))
    .sort((a, b) => a.gmacs - b.gmacs || a.top1 - b.top1);
}

const X_GMACS = { field: 'gmacs', type: 'quantitative', title: 'GMACs per image', scale: { zero: false, nice: true } };

/** Top-1 vs GMACs: a line per method, the Pareto front as a dotted step line and ringed points, the baseline as a diamond and a dashed rule. */
export function top1Spec(data: ReportData): VlSpec {
  const pts = points(data.results);
  const methods = methodScale(pts.map((p) => p.method));
  const base = pts.filter((p) => p.method === 'baseline');
  const others = pts.filter((p) => p.method !== 'baseline');
  const front = pts.filter((p) => p.pareto);
  const Y = { field: 'top1', type: 'quantitative', title: 'top-1 (%)', scale: { zero: false, nice: true } };
  const color = { field: 'method', type: 'nominal', scale: methods, legend: { title: 'method', orient: 'right' } };
  const layer: VlSpec[] = [];
  if (base[0]) {
    layer.push({
      data: { values: [{ top1: base[0].top1 }] },
      mark: { type: 'rule', color: '#888', strokeDash: [5, 4], strokeWidth: 1 },
      encoding: { y: Y },
    });
  }
  layer.push(
    {
      data: { values: front },
      mark: { type: 'line', interpolate: 'step-after', color: '#000', strokeDash: [2, 3], strokeWidth: 1.5, opacity: 0.7 },
      encoding: { x: X_GMACS, y: Y, order: { field: 'gmacs', type: 'quantitative' } },
    },
    {
      data: { values: others },
      mark: { type: 'line', strokeWidth: 2, point: { filled: true, size: 45 } },
      encoding: { x: X_GMACS, y: Y, color, order: { field: 'gmacs', type: 'quantitative' } },
    },
    {
      data: { values: front },
      mark: { type: 'point', shape: 'circle', filled: false, size: 190, strokeWidth: 1.4, color: '#000' },
      encoding: { x: X_GMACS, y: Y },
    },
  );
  if (base.length > 0) {
    layer.push(
      {
        data: { values: base },
        mark: { type: 'point', shape: 'diamond', filled: true, size: 150 },
        encoding: { x: X_GMACS, y: Y, color },
      },
      {
        data: { values: base.slice(0, 1) },
        mark: { type: 'text', align: 'right', dx: -10, dy: -10, fontSize: 11, color: '#222' },
        encoding: { x: X_GMACS, y: Y, text: { value: 'baseline' } },
      },
    );
  }
  return {
    title: {
      text: 'Top-1 accuracy vs GMACs',
      subtitle: [
        `${data.model} · ${data.dataset} · ${data.images} images`,
        'dotted step line + rings: Pareto front · diamond and dashed line: plain model (baseline)',
      ],
    },
    width: 560,
    height: 340,
    layer,
  };
}

/** Throughput vs GMACs: a line per method, the baseline as a diamond. */
export function throughputSpec(data: ReportData): VlSpec {
  const pts = points(data.results).filter((p) => Number.isFinite(p.throughput));
  const methods = methodScale(pts.map((p) => p.method));
  const base = pts.filter((p) => p.method === 'baseline');
  const others = pts.filter((p) => p.method !== 'baseline');
  const Y = { field: 'throughput', type: 'quantitative', title: 'throughput (images/s)', scale: { zero: false, nice: true } };
  const color = { field: 'method', type: 'nominal', scale: methods, legend: { title: 'method', orient: 'right' } };
  const layer: VlSpec[] = [
    {
      data: { values: others },
      mark: { type: 'line', strokeWidth: 2, point: { filled: true, size: 45 } },
      encoding: { x: X_GMACS, y: Y, color, order: { field: 'gmacs', type: 'quantitative' } },
    },
  ];
  if (base.length > 0) {
    layer.push({
      data: { values: base },
      mark: { type: 'point', shape: 'diamond', filled: true, size: 150 },
      encoding: { x: X_GMACS, y: Y, color },
    });
  }
  return {
    title: {
      text: 'Throughput vs GMACs',
      subtitle: `images/s over the accuracy run · batch ${data.batchSize} · ${data.device} · ${data.dtype}`,
    },
    width: 560,
    height: 300,
    layer,
  };
}

/** A step of 1, 2 or 5 × 10^k close to `raw`. */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

export interface SigmaBin {
  block: number;
  start: number;
  end: number;
  count: number;
  side: string;
}

const MERGE_SIDE = 'σ ≥ τ → merge';
const PRUNE_SIDE = 'σ < τ → prune';

/**
 * Histograms of σ, binned here so that τ falls on a bin edge of every block (each bar is wholly
 * on the merge or the prune side). Bins share one step over all blocks.
 */
export function sigmaBins(dists: readonly SigmaDistribution[], targetBins = 30): SigmaBin[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const d of dists) {
    for (const v of [...d.values, d.tau]) {
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!(hi >= lo)) return [];
  const step = niceStep((hi - lo) / targetBins || 0.01);
  const out: SigmaBin[] = [];
  for (const d of dists) {
    const vals = d.values.filter((v) => Number.isFinite(v));
    if (vals.length === 0) continue;
    const start = d.tau - Math.ceil((d.tau - lo) / step - 1e-9) * step;
    const n = Math.max(1, Math.ceil((hi - start) / step + 1e-9));
    const counts = new Array<number>(n).fill(0);
    for (const v of vals) {
      const i = Math.min(n - 1, Math.max(0, Math.floor((v - start) / step + 1e-9)));
      counts[i] = (counts[i] ?? 0) + 1;
    }
    counts.forEach((count, i) => {
      if (count === 0) return;
      const s = start + i * step;
      out.push({
        block: d.block,
        start: Number(s.toFixed(10)),
        end: Number((s + step).toFixed(10)),
        count,
        side: s >= d.tau - step * 1e-6 ? MERGE_SIDE : PRUNE_SIDE,
      });
    });
  }
  return out;
}

/** σ per reduction block: a histogram each, bars coloured by the side of τ, τ as a rule. */
export function sigmaSpec(dists: readonly SigmaDistribution[]): VlSpec {
  const bins = sigmaBins(dists);
  const sorted = [...dists].sort((a, b) => a.block - b.block);
  const X = { field: 'start', type: 'quantitative', title: 'σ', bin: { binned: true } };
  const Y = { field: 'count', type: 'quantitative', title: 'images' };
  const color = {
    field: 'side',
    type: 'nominal',
    title: null,
    scale: { domain: [MERGE_SIDE, PRUNE_SIDE], range: ['#2ca02c', '#1f77b4'] },
    legend: { orient: 'bottom', direction: 'horizontal', labelLimit: 400 },
  };
  const panels = sorted.map((d) => {
    const vals = d.values.filter((v) => Number.isFinite(v));
    const merged = vals.filter((v) => v >= d.tau).length;
    const share = vals.length > 0 ? ((merged / vals.length) * 100).toFixed(1) : '—';
    return {
      title: { text: `block ${d.block}`, subtitle: `${share}% of ${vals.length} images merge (σ ≥ τ ${d.tau})` },
      width: 230,
      height: 150,
      layer: [
        {
          data: { values: bins.filter((b) => b.block === d.block) },
          mark: { type: 'bar', binSpacing: 0.5 },
          encoding: { x: X, x2: { field: 'end' }, y: Y, color },
        },
        {
          data: { values: [{ tau: d.tau, label: `τ ${d.tau}` }] },
          mark: { type: 'rule', color: '#000', strokeWidth: 1.5, strokeDash: [4, 3] },
          encoding: { x: { field: 'tau', type: 'quantitative' } },
        },
        {
          data: { values: [{ tau: d.tau, label: `τ ${d.tau}` }] },
          mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 2, fontSize: 10, color: '#000' },
          encoding: { x: { field: 'tau', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
        },
      ],
    };
  });
  return {
    title: { text: 'σ per reduction block', subtitle: "the paper's rule (jmp-spec) at −35 % GMACs; each image merges at a block when σ ≥ τ, else prunes" },
    columns: Math.min(3, panels.length),
    concat: panels,
    resolve: { scale: { x: 'shared', y: 'shared', color: 'shared' } },
  };
}

/** Calibration: top-1 (left axis) and merge share (right axis) vs τ; the chosen τ as a rule. */
export function calibrationSpec(cal: CalibrationCurve): VlSpec {
  const pts = [...cal.points]
    .filter((p) => Number.isFinite(p.tau))
    .sort((a, b) => a.tau - b.tau)
    .map((p) => ({ tau: p.tau, top1: p.top1 * 100, mergeShare: p.mergeShare * 100, gmacs: p.gmacs }));
  const best = pts.find((p) => p.tau === cal.best);
  const X = { field: 'tau', type: 'quantitative', title: 'τ', scale: { zero: false, nice: false } };
  const seriesScale = { domain: ['top-1 (left axis)', 'merge share (right axis)'], range: ['#d62728', '#7f7f7f'] };
  const label = best ? `chosen τ = ${cal.best} · top-1 ${best.top1.toFixed(2)}%` : `chosen τ = ${cal.best}`;
  return {
    title: { text: 'Calibration: top-1 vs τ', subtitle: `split: ${cal.split}` },
    width: 560,
    height: 280,
    layer: [
      {
        data: { values: [{ tau: cal.best, label }] },
        layer: [
          { mark: { type: 'rule', color: '#000', strokeDash: [4, 3], strokeWidth: 1.5 }, encoding: { x: X } },
          {
            mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 5, dy: -5, fontSize: 11 },
            encoding: { x: X, y: { value: 280 }, text: { field: 'label' } },
          },
        ],
      },
      {
        data: { values: pts },
        mark: { type: 'line', strokeWidth: 2, point: { filled: true, size: 40 } },
        encoding: {
          x: X,
          y: { field: 'top1', type: 'quantitative', title: 'top-1 (%)', scale: { zero: false, nice: true } },
          color: { datum: 'top-1 (left axis)', scale: seriesScale, legend: { title: null, orient: 'bottom', direction: 'horizontal', labelLimit: 400 } },
        },
      },
      {
        data: { values: pts },
        mark: { type: 'line', strokeWidth: 1.5, strokeDash: [6, 3], point: { filled: true, size: 25 } },
        encoding: {
          x: X,
          y: {
            field: 'mergeShare',
            type: 'quantitative',
            title: 'merge share (%)',
            scale: { domain: [0, 100] },
            axis: { orient: 'right', grid: false },
          },
          color: { datum: 'merge share (right axis)', scale: seriesScale },
        },
      },
    ],
    resolve: { scale: { y: 'independent' } },
  };
}
