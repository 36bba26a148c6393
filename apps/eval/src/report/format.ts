/**
 * Number and text formatting shared by the report's table, charts and pages. Every formatter
 * returns `—` for a missing value so the table and the charts agree on what "not measured" looks like.
 */

export const DASH = '—';

/** Short names of known setting keys, in the order they are shown. */
const PARAM_LABELS: Record<string, string> = {
  keep: 'keep',
  tau: 'τ',
  r: 'r',
  blocks: 'blocks',
  strategy: 'strategy',
  proportionalAttention: 'prop-attn',
};
const PARAM_ORDER = Object.keys(PARAM_LABELS);

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** A number with at most `digits` decimals and no trailing zeros: 0.7, 0.93, 4. */
function trimNumber(v: number, digits = 4): string {
  return String(Number(v.toFixed(digits)));
}

function paramValue(v: unknown): string {
  if (isNum(v)) return trimNumber(v);
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((x) => paramValue(x)).join('/');
  if (v === null || v === undefined) return DASH;
  return JSON.stringify(v);
}

/**
 * A setting, compact: `keep 0.7 · τ 0.93 · blocks 4/7/10`. Known keys come first in a fixed order,
 * then the rest alphabetically; `true` flags show as their name, `false` ones as `no-name`,
 * `strategy` as its bare value.
 */
export function formatParams(params: Record<string, unknown>, batchSize?: number): string {
  const keys = Object.keys(params).filter((k) => params[k] !== undefined);
  keys.sort((a, b) => {
    const ia = PARAM_ORDER.indexOf(a);
    const ib = PARAM_ORDER.indexOf(b);
    if (ia >= 0 || ib >= 0) return (ia < 0 ? Infinity : ia) - (ib < 0 ? Infinity : ib);
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const parts = keys.map((k) => {
    const v = params[k];
    const label = PARAM_LABELS[k] ?? k;
    if (typeof v === 'boolean') return v ? label : `no-${label}`;
    if (k === 'strategy') return paramValue(v);
    return `${label} ${paramValue(v)}`;
  });
  if (batchSize !== undefined) parts.push(`batch ${batchSize}`);
  return parts.length > 0 ? parts.join(' · ') : DASH;
}

/** GMACs: 2 decimals from 1 up, 3 significant digits below (tiny test models). */
export function fmtGmacs(v: number): string {
  if (!isNum(v)) return DASH;
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1 || a === 0) return v.toFixed(2);
  return v.toPrecision(3);
}

/** A signed number: `+1.23`, `-0.50`, `0.00`. */
export function signed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  if (Number(s) === 0) return (0).toFixed(digits);
  return v > 0 ? `+${s}` : s;
}

/** A share in [0, 1] as a percentage: 0.81234 → `81.23`. */
export function fmtPct(v: number | null | undefined, digits = 2): string {
  return isNum(v) ? (v * 100).toFixed(digits) : DASH;
}

/** Images per second: 3 significant digits at least, no more than 2 decimals. */
export function fmtThroughput(v: number | null | undefined): string {
  if (!isNum(v)) return DASH;
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function fmtMs(v: number | null | undefined): string {
  if (!isNum(v)) return DASH;
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(2);
}

/** `(gmacs − baseline) / baseline` in percent, signed, 1 decimal. */
export function fmtDeltaGmacs(gmacs: number, baselineGmacs: number): string {
  if (!isNum(gmacs) || !isNum(baselineGmacs) || baselineGmacs === 0) return DASH;
  return signed(((gmacs - baselineGmacs) / baselineGmacs) * 100, 1);
}

/** Top-1 difference in percentage points, signed, 2 decimals. */
export function fmtDeltaTop1(top1: number, baselineTop1: number | null): string {
  if (!isNum(top1) || baselineTop1 === null || !isNum(baselineTop1)) return DASH;
  return signed((top1 - baselineTop1) * 100, 2);
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** Text safe inside a markdown table cell (no pipes, no line breaks). */
export function escapeMdCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** JSON safe inside `<script type="application/json">`. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value, null, 2)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * Pareto-optimal entries over (GMACs ↓, top-1 ↑): an entry is on the front when no other entry
 * has top-1 ≥ and GMACs ≤ with at least one of the two strict. Entries with a non-finite value are
 * never on it.
 */
export function paretoMask(points: readonly { gmacs: number; top1: number }[]): boolean[] {
  return points.map((p, i) => {
    if (!isNum(p.gmacs) || !isNum(p.top1)) return false;
    return !points.some(
      (q, j) => j !== i && isNum(q.gmacs) && isNum(q.top1) && q.top1 >= p.top1 && q.gmacs <= p.gmacs && (q.top1 > p.top1 || q.gmacs < p.gmacs),
    );
  });
}
