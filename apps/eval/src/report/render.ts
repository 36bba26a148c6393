/**
 * The evaluation report: `report.md` + `report.html` + one `.svg` per chart in the output folder.
 * Charts are Vega-Lite specs rendered to SVG in Node; the HTML is self-contained (inline SVG,
 * inline CSS, no scripts to run, no external URLs) and carries the numbers machine-readably:
 * `data-*` attributes on every table cell and the `EvalJson` part in
 * `<script type="application/json" id="eval-json">`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EvalJson, ReportData } from '../types.js';
import { calibrationSpec, sigmaSpec, throughputSpec, top1Spec } from './charts.js';
import { escapeHtml, fmtGmacs, jsonForScript } from './format.js';
import { buildTable, tableToHtml, tableToMarkdown } from './table.js';
import { tokenMapSpec } from './tokenmaps.js';
import { specToSvg } from './vega.js';
import type { VlSpec } from './vega.js';

export interface ReportChart {
  /** Stable id: `top1`, `throughput`, `sigma`, `calibration`, `tokenmaps`. */
  id: string;
  /** File name of the SVG, relative to the output folder. */
  file: string;
  title: string;
  /** One line under the chart. */
  caption: string;
  svg: string;
}

export interface BuiltReport {
  markdown: string;
  html: string;
  charts: ReportChart[];
  /** vega-lite / vega warnings met while rendering the charts. */
  warnings: string[];
}

export interface RenderedReport {
  markdown: string;
  html: string;
  /** Absolute or outDir-relative paths of every file written. */
  files: string[];
  warnings: string[];
}

/** The `EvalJson` part of the report data (what `--json` prints). */
export function evalJsonOf(data: ReportData): EvalJson {
  const { model, dataset, images, device, dtype, batchSize, results } = data;
  return { model, dataset, images, device, dtype, batchSize, results };
}

interface ChartPlan {
  id: string;
  file: string;
  title: string;
  caption: string;
  spec: () => VlSpec;
}

function chartPlans(data: ReportData): ChartPlan[] {
  const plans: ChartPlan[] = [];
  if (data.results.length > 0) {
    plans.push(
      {
        id: 'top1',
        file: 'top1-vs-gmacs.svg',
        title: 'Top-1 vs GMACs',
        caption:
          'One line per method, points sorted by GMACs; the dotted step line and the ringed points are the Pareto front; the diamond and the dashed line are the plain model.',
        spec: () => top1Spec(data),
      },
      {
        id: 'throughput',
        file: 'throughput-vs-gmacs.svg',
        title: 'Throughput vs GMACs',
        caption: `Images per second over the accuracy run (batch ${data.batchSize}, ${data.device}, ${data.dtype}), one line per method.`,
        spec: () => throughputSpec(data),
      },
    );
  }
  const sigma = data.sigma;
  if (sigma && sigma.length > 0) {
    plans.push({
      id: 'sigma',
      file: 'sigma.svg',
      title: 'σ per reduction block',
      caption:
        "The paper's rule (jmp-spec): distribution of σ over the evaluated images at each reduction block; the dashed rule is τ, green bars merge, blue bars prune.",
      spec: () => sigmaSpec(sigma),
    });
  }
  const cal = data.calibration;
  if (cal && cal.points.length > 0) {
    plans.push({
      id: 'calibration',
      file: 'calibration.svg',
      title: 'Calibration curve',
      caption: `Top-1 and merge share vs τ on ${cal.split}; the dashed rule is the τ chosen (${cal.best}).`,
      spec: () => calibrationSpec(cal),
    });
  }
  const maps = data.tokenMaps;
  if (maps && maps.images.length > 0) {
    plans.push({
      id: 'tokenmaps',
      file: 'token-maps.svg',
      title: 'Token maps',
      caption: `What happened to each patch (${maps.setting}): clear kept; coloured merged into the patch of the same colour that carries a dot (touching groups always differ in colour); grey fused into EViT’s extra token; dark with × pruned at that block or before.`,
      spec: () => tokenMapSpec(maps),
    });
  }
  return plans;
}

function howToRead(data: ReportData): string {
  const parts = [
    `Each table row is one method at one setting. GMACs are the mean multiply–accumulates per image from the token counts the run really had; ΔGMACs compares them with the plain model (${fmtGmacs(data.baselineGmacs)} GMACs), so −30 % means 30 % cheaper.`,
    'Top-1 and top-5 are in %, Δtop-1 is in percentage points against the `baseline` row.',
    '★ marks the Pareto front: no other row is at least as accurate for at most as many GMACs (one of the two strictly).',
    `Throughput is images per second over the whole accuracy run at batch ${data.batchSize}; latency p50/p95 is at batch 1.`,
    "Merge share: for jmp (the default JMP, per token) the share of the removed tokens that merged into their match rather than being pruned (a token merges when its similarity ≥ τ); for jmp-spec (the paper's rule, per image) the share of (image, reduction block) decisions that merged (σ ≥ τ).",
    'In the top-1 chart, up and to the left is better; a method whose line lies above another one is more accurate at the same cost.',
  ];
  if (data.sigma?.length) parts.push('The σ histograms show where τ cuts each block’s distribution: the share right of the rule merges.');
  if (data.calibration) parts.push('The calibration curve is measured on a split held out of the test set; τ is picked there, not on the test images.');
  if (data.tokenMaps)
    parts.push(
      'In the token maps, dark patches with a × were pruned (at that block or before), coloured ones were merged into the patch of the same colour that carries a dot, clear ones were kept as they were; each column title gives the image’s decision at that block.',
    );
  parts.push('`—` means not measured or not applicable.');
  return parts.join(' ');
}

function mdFence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}sh\n${text}\n${fence}`;
}

function mdInline(text: string): string {
  return text.replace(/([\\`*_[\]<>|])/g, '\\$1');
}

function metaRows(data: ReportData): [string, string][] {
  return [
    ['model', data.model],
    ['dataset', data.dataset],
    ['images', String(data.images)],
    ['device', data.device],
    ['dtype', data.dtype],
    ['batch size', String(data.batchSize)],
    ['plain-model GMACs', fmtGmacs(data.baselineGmacs)],
    ['generated', data.generatedAt],
  ];
}

function title(data: ReportData): string {
  return `JMP evaluation: ${data.model} on ${data.dataset}`;
}

function buildMarkdown(data: ReportData, charts: readonly ReportChart[]): string {
  const rows = buildTable(data);
  const out: string[] = [];
  out.push(`# ${mdInline(title(data))}`, '');
  out.push('| | |', '|:---|:---|');
  for (const [k, v] of metaRows(data)) out.push(`| ${k} | ${mdInline(v).replace(/\r?\n/g, ' ')} |`);
  out.push('', 'Command:', '', mdFence(data.command), '');
  out.push('## Results', '', tableToMarkdown(rows), '');
  out.push('★ Pareto-optimal (top-1 vs GMACs). ΔGMACs vs the plain model in %, Δtop-1 vs `baseline` in points.', '');
  if (data.notes && data.notes.length > 0) {
    out.push('Notes:', '', ...data.notes.map((n) => `- ${n}`), '');
  }
  if (charts.length > 0) {
    out.push('## Charts', '');
    for (const c of charts) out.push(`### ${c.title}`, '', `![${c.title}](${c.file})`, '', c.caption, '');
  }
  out.push('## How to read this', '', howToRead(data), '');
  return out.join('\n');
}

const CSS = `
:root { color-scheme: light; }
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #222; background: #fff; line-height: 1.45; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table.meta td, table.meta th { padding: 2px 12px 2px 0; text-align: left; vertical-align: top; font-size: 14px; }
table.meta th { color: #555; font-weight: normal; }
pre.command { background: #f6f6f6; border: 1px solid #e3e3e3; padding: 8px 10px; overflow-x: auto; font-size: 13px; white-space: pre-wrap; word-break: break-all; }
.table-wrap { overflow-x: auto; }
table.results { border-collapse: collapse; font-size: 13px; }
table.results th, table.results td { border-bottom: 1px solid #e6e6e6; padding: 4px 8px; white-space: nowrap; }
table.results th { background: #f3f3f3; text-align: left; position: sticky; top: 0; }
table.results .num { text-align: right; font-variant-numeric: tabular-nums; }
table.results td.na { color: #999; }
table.results tr.pareto td { background: #fff8e1; }
table.results tr.baseline td { font-weight: bold; }
table.results td[data-field="pareto"] { color: #b8860b; text-align: center; }
p.legend, ul.notes { font-size: 13px; color: #444; }
figure { margin: 18px 0 26px; }
figure .chart { overflow-x: auto; }
figure svg { max-width: 100%; height: auto; display: block; }
figure svg image { image-rendering: pixelated; }
figcaption { font-size: 13px; color: #555; margin-top: 4px; }
`;

function buildHtml(data: ReportData, charts: readonly ReportChart[]): string {
  const rows = buildTable(data);
  const meta = metaRows(data)
    .map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td data-meta="${escapeHtml(k)}">${escapeHtml(v)}</td></tr>`)
    .join('\n');
  const notes = data.notes && data.notes.length > 0 ? `<ul class="notes">\n${data.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('\n')}\n</ul>` : '';
  const figures = charts
    .map(
      (c) =>
        `<figure id="chart-${c.id}" data-chart="${c.id}">\n<div class="chart">${c.svg}</div>\n` +
        `<figcaption><strong>${escapeHtml(c.title)}.</strong> ${escapeHtml(c.caption)}</figcaption>\n</figure>`,
    )
    .join('\n');
  const how = escapeHtml(howToRead(data)).replace(/`([^`]+)`/g, '<code>$1</code>');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title(data))}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(title(data))}</h1>
<table class="meta">
${meta}
</table>
<p>Command:</p>
<pre class="command"><code>${escapeHtml(data.command)}</code></pre>
<h2>Results</h2>
<div class="table-wrap">
${tableToHtml(rows)}
</div>
<p class="legend">★ Pareto-optimal (top-1 vs GMACs), rows shaded. ΔGMACs vs the plain model in %, Δtop-1 vs <code>baseline</code> in points; — not measured.</p>
${notes}
${charts.length > 0 ? `<h2>Charts</h2>\n${figures}` : ''}
<h2>How to read this</h2>
<p>${how}</p>
<script type="application/json" id="eval-json">
${jsonForScript(evalJsonOf(data))}
</script>
</body>
</html>
`;
}

/** The report in memory: markdown, HTML and the charts' SVGs. No files are written. */
export async function buildReport(data: ReportData): Promise<BuiltReport> {
  const charts: ReportChart[] = [];
  const warnings: string[] = [];
  for (const plan of chartPlans(data)) {
    const { svg, warnings: w } = await specToSvg(plan.spec());
    warnings.push(...w.map((m) => `${plan.id}: ${m}`));
    charts.push({ id: plan.id, file: plan.file, title: plan.title, caption: plan.caption, svg });
  }
  return { markdown: buildMarkdown(data, charts), html: buildHtml(data, charts), charts, warnings };
}

/**
 * Writes `outDir/report.md`, `outDir/report.html` and the charts' `.svg` files (the markdown links
 * them), creating `outDir`.
 */
export async function renderReport(data: ReportData, outDir: string): Promise<RenderedReport> {
  const report = await buildReport(data);
  await mkdir(outDir, { recursive: true });
  const files: string[] = [];
  const write = async (name: string, text: string): Promise<void> => {
    const path = join(outDir, name);
    await writeFile(path, text, 'utf8');
    files.push(path);
  };
  for (const c of report.charts) await write(c.file, c.svg);
  await write('report.md', report.markdown);
  await write('report.html', report.html);
  return { markdown: report.markdown, html: report.html, files, warnings: report.warnings };
}
