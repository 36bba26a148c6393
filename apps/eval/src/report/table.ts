/**
 * The results table: one row per `results` entry, as a model (raw value + shown text per cell),
 * as markdown and as HTML whose cells carry `data-row`, `data-method`, `data-field` and
 * `data-value` (the raw number, as in the JSON) so the page can be checked against the JSON.
 */
import type { EvalResult, ReportData } from '../types.js';
import { DASH, escapeHtml, escapeMdCell, fmtDeltaGmacs, fmtDeltaTop1, fmtGmacs, fmtMs, fmtPct, fmtThroughput, formatParams, paretoMask } from './format.js';

export type FieldName =
  | 'pareto'
  | 'method'
  | 'params'
  | 'gmacs'
  | 'deltaGmacsPct'
  | 'top1'
  | 'deltaTop1Pts'
  | 'top5'
  | 'paired'
  | 'speedup'
  | 'throughput'
  | 'latencyMsP50'
  | 'latencyMsP95'
  | 'mergeShare';

export interface Column {
  field: FieldName;
  header: string;
  /** Longer explanation (HTML `title`). */
  help: string;
  numeric: boolean;
}

export const COLUMNS: readonly Column[] = [
  { field: 'pareto', header: '★', help: 'on the Pareto front of top-1 vs GMACs', numeric: false },
  { field: 'method', header: 'method', help: 'method', numeric: false },
  { field: 'params', header: 'setting', help: 'the setting of the method', numeric: false },
  { field: 'gmacs', header: 'GMACs', help: 'mean GMACs per image', numeric: true },
  { field: 'deltaGmacsPct', header: 'ΔGMACs %', help: 'GMACs vs the plain model, in %', numeric: true },
  { field: 'top1', header: 'top-1 %', help: 'top-1 accuracy in %', numeric: true },
  { field: 'deltaTop1Pts', header: 'Δtop-1 pp', help: 'top-1 vs the baseline entry, in points', numeric: true },
  { field: 'top5', header: 'top-5 %', help: 'top-5 accuracy in %', numeric: true },
  {
    field: 'paired',
    header: '+/− vs base',
    help: 'paired counts: images right here and wrong in the baseline / wrong here and right in the baseline',
    numeric: false,
  },
  {
    field: 'speedup',
    header: 'speedup',
    help: 'paired: plain time / this time, medians of rounds alternating with a plain pipeline on one batch',
    numeric: true,
  },
  {
    field: 'throughput',
    header: 'img/s (unpaired)',
    help: 'images per second over the accuracy run; each setting timed at its own moment, so compare speeds by the speedup column',
    numeric: true,
  },
  { field: 'latencyMsP50', header: 'p50 ms', help: 'latency at batch 1, median', numeric: true },
  { field: 'latencyMsP95', header: 'p95 ms', help: 'latency at batch 1, 95th percentile', numeric: true },
  { field: 'mergeShare', header: 'merge %', help: 'share of (image, reduction) decisions that merged', numeric: true },
];

export interface TableCell {
  field: FieldName;
  /** What the table shows. */
  text: string;
  /** The raw value: the JSON's number for its own fields, the computed one for the Δ columns. */
  value: number | string | boolean | null;
}

export interface TableRow {
  index: number;
  method: string;
  pareto: boolean;
  result: EvalResult;
  cells: TableCell[];
}

/** The baseline entry (`method === 'baseline'`), the first one when there are several. */
export function findBaseline(results: readonly EvalResult[]): EvalResult | undefined {
  return results.find((r) => r.method === 'baseline');
}

export function buildTable(data: ReportData): TableRow[] {
  const pareto = paretoMask(data.results);
  const baseline = findBaseline(data.results);
  const baseTop1 = baseline ? baseline.top1 : null;
  return data.results.map((r, index) => {
    const onFront = pareto[index] ?? false;
    const dG = data.baselineGmacs ? ((r.gmacs - data.baselineGmacs) / data.baselineGmacs) * 100 : null;
    const dT = baseTop1 === null ? null : (r.top1 - baseTop1) * 100;
    const p95 = r.latencyMsP95 ?? null;
    const cells: TableCell[] = [
      { field: 'pareto', text: onFront ? '★' : '', value: onFront },
      { field: 'method', text: r.method, value: r.method },
      { field: 'params', text: formatParams(r.params, r.batchSize), value: formatParams(r.params, r.batchSize) },
      { field: 'gmacs', text: fmtGmacs(r.gmacs), value: r.gmacs },
      { field: 'deltaGmacsPct', text: fmtDeltaGmacs(r.gmacs, data.baselineGmacs), value: dG },
      { field: 'top1', text: fmtPct(r.top1), value: r.top1 },
      { field: 'deltaTop1Pts', text: fmtDeltaTop1(r.top1, baseTop1), value: dT },
      { field: 'top5', text: fmtPct(r.top5), value: r.top5 },
      { field: 'paired', text: r.paired ? `+${r.paired.gained} / −${r.paired.lost}` : '—', value: r.paired ? `+${r.paired.gained}/-${r.paired.lost}` : null },
      { field: 'speedup', text: typeof r.speedup === 'number' ? `${r.speedup.toFixed(2)}×` : '—', value: r.speedup ?? null },
      { field: 'throughput', text: fmtThroughput(r.throughput), value: r.throughput },
      { field: 'latencyMsP50', text: fmtMs(r.latencyMsP50), value: r.latencyMsP50 },
      { field: 'latencyMsP95', text: fmtMs(p95), value: p95 },
      { field: 'mergeShare', text: fmtPct(r.mergeShare, 1), value: r.mergeShare },
    ];
    return { index, method: r.method, pareto: onFront, result: r, cells };
  });
}

export function tableToMarkdown(rows: readonly TableRow[]): string {
  const header = `| ${COLUMNS.map((c) => escapeMdCell(c.header)).join(' | ')} |`;
  const rule = `|${COLUMNS.map((c) => (c.numeric ? '---:' : ':---')).join('|')}|`;
  const body = rows.map((row) => `| ${row.cells.map((c) => escapeMdCell(c.text || ' ')).join(' | ')} |`);
  return [header, rule, ...body].join('\n');
}

function dataValue(v: TableCell['value']): string {
  if (v === null) return 'null';
  return String(v);
}

export function tableToHtml(rows: readonly TableRow[]): string {
  const head = COLUMNS.map(
    (c) => `<th scope="col" data-field="${c.field}" title="${escapeHtml(c.help)}"${c.numeric ? ' class="num"' : ''}>${escapeHtml(c.header)}</th>`,
  ).join('');
  const body = rows
    .map((row) => {
      const tds = row.cells
        .map((c, i) => {
          const col = COLUMNS[i];
          const cls = [col?.numeric ? 'num' : '', c.text === DASH ? 'na' : ''].filter(Boolean).join(' ');
          return (
            `<td data-row="${row.index}" data-method="${escapeHtml(row.method)}" data-field="${c.field}"` +
            ` data-value="${escapeHtml(dataValue(c.value))}"${cls ? ` class="${cls}"` : ''}>${escapeHtml(c.text)}</td>`
          );
        })
        .join('');
      const cls = [row.pareto ? 'pareto' : '', row.method === 'baseline' ? 'baseline' : ''].filter(Boolean).join(' ');
      return `<tr data-row="${row.index}" data-method="${escapeHtml(row.method)}" data-pareto="${row.pareto}"${cls ? ` class="${cls}"` : ''}>${tds}</tr>`;
    })
    .join('\n');
  return `<table class="results">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}
