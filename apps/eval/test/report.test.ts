import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { browserSuite, launchChromium } from '@jmpjs/browser-testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sigmaBins } from '../src/report/charts.js';
import { formatParams, paretoMask } from '../src/report/format.js';
import { encodePng } from '../src/report/png.js';
import { buildReport, renderReport } from '../src/report/render.js';
import type { RenderedReport } from '../src/report/render.js';
import { groupColors, patchData } from '../src/report/tokenmaps.js';
import type { EvalJson, EvalResult, PatchFates, ReportData } from '../src/types.js';
import { makeReportData, makeRgbReportData } from './fixtures/report-data.js';

const HAS_CHROMIUM = browserSuite('eval: report in headless Chromium');

const CHART_FILES = ['top1-vs-gmacs.svg', 'throughput-vs-gmacs.svg', 'sigma.svg', 'calibration.svg', 'token-maps.svg'];

// --- helpers -------------------------------------------------------------------------------

function unescapeHtml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

interface CellInfo {
  row: number;
  method: string;
  field: string;
  value: string;
  text: string;
}

/** The results table's cells, from the HTML source. */
function parseCells(html: string): CellInfo[] {
  const table = /<table class="results">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
  const cells: CellInfo[] = [];
  for (const m of table.matchAll(/<td ([^>]*)>([\s\S]*?)<\/td>/g)) {
    const attrs = new Map([...(m[1] ?? '').matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1] ?? '', unescapeHtml(a[2] ?? '')]));
    cells.push({
      row: Number(attrs.get('data-row')),
      method: attrs.get('data-method') ?? '',
      field: attrs.get('data-field') ?? '',
      value: attrs.get('data-value') ?? '',
      text: unescapeHtml(m[2] ?? ''),
    });
  }
  return cells;
}

/** `shown` is `value` rounded to the decimals `shown` has. */
function expectShown(shown: string, value: number | null | undefined, what: string): void {
  if (value === null || value === undefined) {
    expect(shown, what).toBe('—');
    return;
  }
  expect(shown, what).toMatch(/^[+-]?\d+(\.\d+)?$/);
  const decimals = shown.split('.')[1]?.length ?? 0;
  const tol = 0.5 * 10 ** -decimals + 1e-9;
  expect(Math.abs(Number(shown) - value), `${what}: ${shown} vs ${value}`).toBeLessThanOrEqual(tol);
}

function bruteForcePareto(results: readonly EvalResult[]): boolean[] {
  return results.map((p) => results.every((q) => q === p || !(q.top1 >= p.top1 && q.gmacs <= p.gmacs && (q.top1 > p.top1 || q.gmacs < p.gmacs))));
}

/** Checks every table cell (text and data-value) of every row against the report data. */
function checkCells(cells: readonly CellInfo[], data: ReportData): void {
  const base = data.results.find((r) => r.method === 'baseline');
  const front = bruteForcePareto(data.results);
  expect(cells.length).toBe(data.results.length * 14);
  data.results.forEach((r, i) => {
    const row = new Map(cells.filter((c) => c.row === i).map((c) => [c.field, c]));
    const cell = (field: string): CellInfo => {
      const c = row.get(field);
      expect(c, `row ${i} ${field}`).toBeDefined();
      expect(c?.method).toBe(r.method);
      return c as CellInfo;
    };
    const raw = (field: string, v: number | null | undefined): void => {
      expect(cell(field).value, `row ${i} ${field} data-value`).toBe(v === null || v === undefined ? 'null' : String(v));
    };
    const what = (f: string): string => `row ${i} (${r.method}) ${f}`;
    expect(cell('method').text).toBe(r.method);
    expect(cell('pareto').value).toBe(String(front[i]));
    expect(cell('pareto').text).toBe(front[i] ? '★' : '');
    raw('gmacs', r.gmacs);
    expectShown(cell('gmacs').text, r.gmacs, what('gmacs'));
    expectShown(cell('deltaGmacsPct').text, ((r.gmacs - data.baselineGmacs) / data.baselineGmacs) * 100, what('ΔGMACs'));
    raw('top1', r.top1);
    expectShown(cell('top1').text, r.top1 * 100, what('top1'));
    expectShown(cell('deltaTop1Pts').text, base ? (r.top1 - base.top1) * 100 : null, what('Δtop1'));
    raw('top5', r.top5);
    expectShown(cell('top5').text, r.top5 === null ? null : r.top5 * 100, what('top5'));
    expect(cell('paired').text, what('paired')).toBe(r.paired ? `+${r.paired.gained} / −${r.paired.lost}` : '—');
    raw('speedup', r.speedup ?? null);
    expect(cell('speedup').text, what('speedup')).toBe(typeof r.speedup === 'number' ? `${r.speedup.toFixed(2)}×` : '—');
    raw('throughput', r.throughput);
    expectShown(cell('throughput').text, r.throughput, what('throughput'));
    raw('latencyMsP50', r.latencyMsP50);
    expectShown(cell('latencyMsP50').text, r.latencyMsP50, what('p50'));
    raw('latencyMsP95', r.latencyMsP95 ?? null);
    expectShown(cell('latencyMsP95').text, r.latencyMsP95 ?? null, what('p95'));
    raw('mergeShare', r.mergeShare);
    expectShown(cell('mergeShare').text, r.mergeShare === null ? null : r.mergeShare * 100, what('merge share'));
  });
}

function evalJsonPart(data: ReportData): EvalJson {
  return {
    model: data.model,
    dataset: data.dataset,
    images: data.images,
    device: data.device,
    dtype: data.dtype,
    batchSize: data.batchSize,
    results: data.results,
  };
}

function embeddedJson(html: string): unknown {
  const m = /<script type="application\/json" id="eval-json">([\s\S]*?)<\/script>/.exec(html);
  expect(m).not.toBeNull();
  return JSON.parse(m?.[1] ?? 'null');
}

/** Markdown table rows of the results section (header and rule included). */
function markdownTable(md: string): string[] {
  const section = md.split('## Results')[1] ?? '';
  const lines = section.split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  const out: string[] = [];
  for (let i = start; i >= 0 && i < lines.length && lines[i]?.startsWith('|'); i++) out.push(lines[i] ?? '');
  return out;
}

/** Minimal PNG reader: size, channels and the inflated scanlines' length. */
function readPng(buf: Buffer): { width: number; height: number; colorType: number; raw: Buffer } {
  expect([...buf.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  let off = 8;
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('ascii', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      colorType = data[9] ?? -1;
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  return { width, height, colorType, raw: inflateSync(Buffer.concat(idat)) };
}

// --- unit tests ------------------------------------------------------------------------------

describe('report helpers', () => {
  it('marks the Pareto front of top-1 vs GMACs', () => {
    const pts = [
      { gmacs: 1, top1: 0.9 }, // front
      { gmacs: 0.8, top1: 0.9 }, // front, dominates the first
      { gmacs: 0.7, top1: 0.85 }, // front
      { gmacs: 0.9, top1: 0.85 }, // dominated by the 2nd and 3rd
      { gmacs: 0.7, top1: 0.85 }, // equal to the 3rd: both stay
      { gmacs: Number.NaN, top1: 0.99 },
    ];
    expect(paretoMask(pts)).toEqual([false, true, true, false, true, false]);
    const data = makeReportData();
    expect(paretoMask(data.results)).toEqual(bruteForcePareto(data.results));
  });

  it('formats a setting compactly', () => {
    expect(formatParams({ tau: 0.93, blocks: [4, 7, 10], keep: 0.7 })).toBe('keep 0.7 · τ 0.93 · blocks 4/7/10');
    expect(formatParams({ r: 8, proportionalAttention: true })).toBe('r 8 · prop-attn');
    expect(formatParams({ strategy: 'adaptive', proportionalAttention: false, zeta: 1 / 3 })).toBe('adaptive · no-prop-attn · zeta 0.3333');
    expect(formatParams({})).toBe('—');
    expect(formatParams({ keep: 0.5 }, 16)).toBe('keep 0.5 · batch 16');
  });

  it('bins σ so that τ falls on a bin edge', () => {
    const sigma = makeReportData().sigma ?? [];
    const bins = sigmaBins(sigma);
    for (const d of sigma) {
      const own = bins.filter((b) => b.block === d.block);
      expect(own.reduce((s, b) => s + b.count, 0)).toBe(d.values.length);
      for (const b of own) {
        expect(b.start >= d.tau - 1e-9 || b.end <= d.tau + 1e-9, `bin ${b.start}–${b.end} straddles τ ${d.tau}`).toBe(true);
        expect(b.side.includes('merge')).toBe(b.start >= d.tau - 1e-9);
      }
      const merged = own.filter((b) => b.side.includes('merge')).reduce((s, b) => s + b.count, 0);
      expect(merged).toBe(d.values.filter((v) => v >= d.tau).length);
    }
  });

  it('encodes PNGs that decode to the pixels', () => {
    const px = Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const png = readPng(encodePng(5, 3, 3, px));
    expect([png.width, png.height, png.colorType]).toEqual([5, 3, 2]);
    expect(png.raw.length).toBe((5 * 3 + 1) * 3);
    const rows = [0, 1, 2].map((y) => [...png.raw.subarray(y * 16 + 1, y * 16 + 16)]);
    expect(rows.flat()).toEqual(px);
  });

  it('colours merge groups so that touching groups differ, and follows merge chains', () => {
    const k = { f: 'k' as const };
    // 2×3 grid: patches 1 → 0, 4 → 3 (group 3 touches group 0), 5 → 4 → 3 (chain), 2 pruned
    const block: PatchFates = {
      block: 1,
      decision: 'merge',
      fates: [k, { f: 'm', into: 0 }, { f: 'p' }, k, { f: 'm', into: 3 }, { f: 'm', into: 4 }],
    };
    const colors = groupColors([block], [2, 3]);
    expect(colors.get(0)).toBeDefined();
    expect(colors.get(3)).toBeDefined();
    expect(colors.get(0)).not.toBe(colors.get(3));
    const patches = patchData(block, [2, 3], colors);
    expect(patches.map((p) => p.fate)).toEqual(['anchor', 'merged', 'pruned', 'anchor', 'merged', 'merged']);
    expect(patches[5]?.fill).toBe(colors.get(3));
    expect(patches[1]?.fill).toBe(colors.get(0));
  });
});

// --- the report ------------------------------------------------------------------------------

describe('renderReport', () => {
  const data = makeReportData();
  let dir = '';
  let out: RenderedReport;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jmp-report-'));
    out = await renderReport(data, join(dir, 'out'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes report.md, report.html and one SVG per chart, with no vega warnings', async () => {
    const md = await readFile(join(dir, 'out', 'report.md'), 'utf8');
    const html = await readFile(join(dir, 'out', 'report.html'), 'utf8');
    expect(md).toBe(out.markdown);
    expect(html).toBe(out.html);
    for (const f of CHART_FILES) {
      const svg = await readFile(join(dir, 'out', f), 'utf8');
      expect(svg.startsWith('<svg'), f).toBe(true);
      expect(md).toContain(`](${f})`);
    }
    expect(out.files).toHaveLength(CHART_FILES.length + 2);
    expect(out.warnings).toEqual([]);
  });

  it('has the run in the markdown: metadata, command, notes, table, charts, how to read', () => {
    const md = out.markdown;
    for (const s of [data.model, data.dataset, String(data.images), data.device, data.dtype, String(data.batchSize), data.command, data.generatedAt]) {
      expect(md).toContain(s);
    }
    for (const n of data.notes ?? []) expect(md).toContain(n);
    expect(md).toContain('## How to read this');
    const table = markdownTable(md);
    expect(table).toHaveLength(data.results.length + 2);
    table.slice(2).forEach((line, i) => {
      const cells = line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((c) => c.trim());
      expect(cells).toHaveLength(14);
      expect(cells[1]).toBe(data.results[i]?.method);
    });
  });

  it('has the JSON numbers in the HTML table and the EvalJson embedded', () => {
    checkCells(parseCells(out.html), data);
    expect(embeddedJson(out.html)).toEqual(evalJsonPart(data));
  });

  it('is self-contained: inline SVG charts, data-URI images, no external resources, no scripts to run', () => {
    const html = out.html;
    expect(html.match(/<figure /g)).toHaveLength(CHART_FILES.length);
    expect(html.match(/<svg /g)).toHaveLength(CHART_FILES.length);
    expect(html).not.toMatch(/(src|href)="(https?:|\/\/)/i);
    expect(html).not.toMatch(/url\(\s*['"]?https?:/i);
    expect(html).not.toMatch(/<link\b|@import/i);
    for (const m of html.matchAll(/<script\b([^>]*)>/g)) expect(m[1]).toContain('type="application/json"');
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    // token maps: one image per (image, input + block), each a PNG of the right size
    const maps = data.tokenMaps;
    const uris = [...html.matchAll(/xlink:href="data:image\/png;base64,([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(uris).toHaveLength((maps?.images.length ?? 0) * 4);
    const png = readPng(Buffer.from(uris[0] ?? '', 'base64'));
    expect([png.width, png.height, png.colorType]).toEqual([140, 140, 0]);
    expect(png.raw.length).toBe((140 + 1) * 140);
    // the notes are escaped
    expect(html).toContain('&lt;b&gt;not bold&lt;/b&gt;');
  });

  it('renders an RGB token map, no top-5, a fused token and an entry batch size', async () => {
    const rgb = makeRgbReportData();
    const r = await buildReport(rgb);
    expect(r.warnings).toEqual([]);
    expect(r.charts.map((c) => c.id)).toEqual(['top1', 'throughput', 'tokenmaps']);
    checkCells(parseCells(r.html), rgb);
    expect(r.html).toContain('keep 0.75 · blocks 2/3 · batch 16');
    const uri = /xlink:href="data:image\/png;base64,([^"]+)"/.exec(r.html)?.[1] ?? '';
    const png = readPng(Buffer.from(uri, 'base64'));
    expect([png.width, png.height, png.colorType]).toEqual([128, 128, 2]);
  });

  it('skips the optional charts and survives empty results', async () => {
    const bare: ReportData = { ...data, sigma: undefined, calibration: undefined, tokenMaps: undefined, notes: undefined };
    const r = await buildReport(bare);
    expect(r.charts.map((c) => c.id)).toEqual(['top1', 'throughput']);
    const none = await buildReport({ ...bare, results: [] });
    expect(none.charts).toEqual([]);
    expect(markdownTable(none.markdown)).toHaveLength(2);
  });
});

// --- in a browser ----------------------------------------------------------------------------

interface PageEl {
  textContent: string | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { width: number; height: number };
  querySelectorAll(sel: string): ArrayLike<PageEl>;
}
interface PageImage {
  src: string;
  naturalWidth: number;
  naturalHeight: number;
  decode(): Promise<void>;
}
interface PageGlobals {
  document: { querySelectorAll(sel: string): ArrayLike<PageEl>; documentElement: { scrollHeight: number } };
  Image: new () => PageImage;
}

describe.skipIf(!HAS_CHROMIUM)('report in headless Chromium', () => {
  const data = makeReportData();
  let dir = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jmp-report-browser-'));
    await renderReport(data, join(dir, 'out'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('renders: charts with size and marks, decodable images, table text = JSON, a non-blank screenshot', async () => {
    const context = await launchChromium();
    try {
      const page = await context.newPage();
      const external: string[] = [];
      page.on('request', (req) => {
        const url = req.url();
        if (!url.startsWith('file:') && !url.startsWith('data:')) external.push(url);
      });
      await page.goto(pathToFileURL(join(dir, 'out', 'report.html')).href, { waitUntil: 'load' });

      const charts = await page.evaluate(() => {
        const g = globalThis as unknown as PageGlobals;
        return Array.from(g.document.querySelectorAll('figure[data-chart]')).map((fig) => {
          const svg = fig.querySelectorAll('svg')[0];
          const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
          return {
            id: fig.getAttribute('data-chart'),
            width: box.width,
            height: box.height,
            marks: fig.querySelectorAll('path, image').length,
            images: Array.from(fig.querySelectorAll('image')).map((im) => im.getAttribute('xlink:href') ?? im.getAttribute('href') ?? ''),
          };
        });
      });
      expect(charts.map((c) => c.id)).toEqual(['top1', 'throughput', 'sigma', 'calibration', 'tokenmaps']);
      for (const c of charts) {
        expect(c.width, `${c.id} width`).toBeGreaterThan(100);
        expect(c.height, `${c.id} height`).toBeGreaterThan(100);
        expect(c.marks, `${c.id} marks`).toBeGreaterThan(10);
      }
      const hrefs = charts.find((c) => c.id === 'tokenmaps')?.images ?? [];
      expect(hrefs.length).toBe((data.tokenMaps?.images.length ?? 0) * 4);
      const sizes = await page.evaluate(async (srcs: string[]) => {
        const g = globalThis as unknown as PageGlobals;
        return Promise.all(
          srcs.map(async (src) => {
            const im = new g.Image();
            im.src = src;
            await im.decode();
            return [im.naturalWidth, im.naturalHeight];
          }),
        );
      }, hrefs);
      for (const s of sizes) expect(s).toEqual([140, 140]);

      const cells = await page.evaluate(() => {
        const g = globalThis as unknown as PageGlobals;
        return Array.from(g.document.querySelectorAll('table.results td')).map((td) => ({
          row: Number(td.getAttribute('data-row')),
          method: td.getAttribute('data-method') ?? '',
          field: td.getAttribute('data-field') ?? '',
          value: td.getAttribute('data-value') ?? '',
          text: td.textContent ?? '',
        }));
      });
      checkCells(cells, data);

      const json = await page.evaluate(() => {
        const g = globalThis as unknown as PageGlobals;
        return g.document.querySelectorAll('#eval-json')[0]?.textContent ?? '';
      });
      expect(JSON.parse(json)).toEqual(evalJsonPart(data));

      const shot = await page.screenshot({ fullPage: true, type: 'png' });
      await writeFile(join(dir, 'report.png'), shot);
      if (process.env.REPORT_SCREENSHOT) await writeFile(process.env.REPORT_SCREENSHOT, shot);
      const height = await page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.scrollHeight);
      expect(height).toBeGreaterThan(1500);
      await page.setContent(`<!DOCTYPE html><html><body style="margin:0;background:#fff"><div style="height:${height}px"></div></body></html>`);
      const blank = await page.screenshot({ fullPage: true, type: 'png' });
      const shotPng = readPng(shot);
      const blankPng = readPng(blank);
      expect([shotPng.width, shotPng.height]).toEqual([blankPng.width, blankPng.height]);
      expect(shot.length).toBeGreaterThan(blank.length * 10);
      expect(external).toEqual([]);
    } finally {
      await context.cleanup();
    }
  }, 60_000);
});
