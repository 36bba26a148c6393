/// <reference lib="dom" />
// (page.evaluate callbacks run in the page)
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserSuite } from '@jmpjs/browser-testing';
import { modelPath } from '@jmpjs/fixtures';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDemoSite, type DemoSite } from './demo-site.js';

/**
 * End to end: the demo page (apps/eval/demo) built with Vite, served as static files, in headless
 * Chromium on the wasm device. A bundled sample is classified by the plain pipeline and by JMP.
 */
const appDir = fileURLToPath(new URL('..', import.meta.url));
const CLASSES = Object.values(
  (JSON.parse(readFileSync(path.join(modelPath('photo-deit'), 'config.json'), 'utf8')) as { id2label: Record<string, string> }).id2label,
);
/** transformers.js asks whether the model has a tokenizer; the bundled image model has none. */
const TOKENIZER_PROBE = /\/models\/photo-deit\/tokenizer_config\.json$/;

interface Top5Row {
  label: string;
  score: string;
}
interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

// The token maps tint translucently over the image: about half of its contrast stays visible
// (the opaque fills used before left about a third and hid the garment). The share depends on the
// bundled model's merge groups: on the 5-epoch photo-deit the five maps leave 0.536 / 0.505 /
// 0.492 / 0.503 / 0.582, and the heavier tint before (merged tokens at alpha 0.45 instead of 0.35)
// left 0.513 / 0.455 / 0.426 / 0.423 / 0.513, which this bound still fails.
const IMAGE_CONTRAST_MIN = 0.48;

describe.skipIf(!browserSuite('eval: demo page'))('demo page in Chromium', () => {
  let dir = '';
  let bundledModules: string[] = [];
  let site: DemoSite;
  let server: { url: string };
  let page: Page;
  let errors: string[] = [];
  let requests: string[] = [];
  let failed: string[] = [];

  beforeAll(async () => {
    site = await openDemoSite('jmp-demo-', TOKENIZER_PROBE);
    ({ dir, page, errors, requests, failed } = site);
    server = { url: site.url };
    const outputs = Array.isArray(site.output) ? site.output : [site.output];
    bundledModules = outputs.flatMap((o) => ('output' in o ? o.output : [])).flatMap((c) => (c.type === 'chunk' ? c.moduleIds : []));
  }, 120_000);

  afterAll(async () => {
    await site?.close();
  });

  it('bundles the built @jmpjs/transformers-patch (browser entry), not its sources', () => {
    const norm = bundledModules.map((m) => m.split(path.sep).join('/'));
    // (re-export-only modules such as dist/index.web.js are folded away and not listed)
    expect(norm.some((m) => m.endsWith('packages/transformers-patch/dist/host/enable.js'))).toBe(true);
    expect(norm.some((m) => m.endsWith('packages/transformers-patch/dist/host/platform.web.js'))).toBe(true);
    expect(norm.filter((m) => m.includes('packages/transformers-patch/src/'))).toEqual([]);
    expect(norm.filter((m) => m.includes('platform.node'))).toEqual([]);
  });

  it('classifies a bundled sample with and without JMP: top-5, time per image, token maps', async () => {
    await page.goto(`${server.url}/index.html`);
    const sample = page.locator('#sample-1'); // Trouser
    await sample.waitFor();
    const name = await sample.getAttribute('data-name');
    expect(name).toMatch(/^photo-test #\d+$/);
    await sample.click();
    await page.waitForFunction(
      (n) => {
        const s = document.getElementById('status');
        return s?.dataset.state === 'error' || (s?.dataset.state === 'done' && s.dataset.image === n);
      },
      name,
      { timeout: 120_000 },
    );
    expect(await page.textContent('#status')).toContain('done');

    // top-5 of both pipelines: five Fashion-MNIST classes each, with scores in descending order
    for (const id of ['#top5-plain', '#top5-jmp']) {
      const rows: Top5Row[] = await page.$$eval(`${id} li`, (lis) =>
        lis.map((li) => ({ label: li.querySelector('.label')?.textContent ?? '', score: li.querySelector('.score')?.textContent ?? '' })),
      );
      expect(rows, id).toHaveLength(5);
      expect(new Set(rows.map((r) => r.label)).size, id).toBe(5);
      for (const r of rows) expect(CLASSES, id).toContain(r.label);
      const scores = rows.map((r) => {
        expect(r.score, id).toMatch(/^\d+(\.\d+)? %$/);
        return Number.parseFloat(r.score);
      });
      for (const s of scores) expect(s).toBeGreaterThanOrEqual(0);
      expect(
        scores.reduce((a, b) => a + b, 0),
        id,
      ).toBeLessThanOrEqual(100.5);
      expect(
        [...scores].sort((a, b) => b - a),
        id,
      ).toEqual(scores);
    }

    // time per image of both, measured in the page (positive; never its value), and their ratio
    for (const id of ['#time-plain', '#time-jmp']) {
      const ms = Number(await page.getAttribute(id, 'data-ms'));
      expect(ms, id).toBeGreaterThan(0);
      expect(Number.isFinite(ms), id).toBe(true);
      expect(await page.textContent(id), id).toMatch(/\d ms \(median of \d+\)/);
    }
    expect(Number(await page.getAttribute('#speedup', 'data-ratio'))).toBeGreaterThan(0);

    // one token map per reduction block (the default schedule), token counts falling
    const blocks = (await page.getAttribute('#token-maps', 'data-blocks'))?.split(',').map(Number);
    expect(blocks).toEqual([2, 4, 6, 8, 10]); // the default JMP: every second block but the last (its MLP runs on the class token only)
    const maps = await page.$$eval('#token-maps figure.token-map', (figs) =>
      figs.map((f) => {
        const canvas = f.querySelector('canvas')!;
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        // distinct saturated colours (the image itself is grey)
        const colours = new Set<number>();
        let coloured = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!];
          if (Math.max(r, g, b) - Math.min(r, g, b) > 40) {
            colours.add((r << 16) | (g << 8) | b);
            coloured++;
          }
        }
        // the image shows through: the map's luminance follows the input image's (drawn at the map's size)
        const preview = document.getElementById('preview') as HTMLCanvasElement;
        const tmp = document.createElement('canvas');
        tmp.width = canvas.width;
        tmp.height = canvas.height;
        const tctx = tmp.getContext('2d')!;
        tctx.drawImage(preview, 0, 0, tmp.width, tmp.height);
        const src = tctx.getImageData(0, 0, tmp.width, tmp.height).data;
        const lum = (d: Uint8ClampedArray, i: number) => 0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!;
        let n = 0;
        let sa = 0;
        let sb = 0;
        let sbb = 0;
        let sab = 0;
        for (let i = 0; i < data.length; i += 4) {
          const a = lum(data, i);
          const b = lum(src, i);
          n++;
          sa += a;
          sb += b;
          sbb += b * b;
          sab += a * b;
        }
        // how much of the image's contrast survives the tint: the slope of the map's luminance on the
        // image's (1 = untouched, 0 = covered); an opaque fill of alpha α leaves 1 − α
        const imageContrast = (sab - (sa * sb) / n) / (sbb - (sb * sb) / n);
        return {
          imageContrast,
          block: Number((f as HTMLElement).dataset.block),
          tokens: Number((f as HTMLElement).dataset.tokens),
          width: canvas.width,
          colours: colours.size,
          colouredShare: coloured / (data.length / 4),
          caption: f.querySelector('figcaption')?.textContent ?? '',
        };
      }),
    );
    expect(maps.map((m) => m.block)).toEqual(blocks);
    for (const m of maps) {
      expect(m.width, `block ${m.block}`).toBeGreaterThanOrEqual(14 * 4);
      expect(m.colours, `block ${m.block}: distinct colours`).toBeGreaterThanOrEqual(12);
      // every patch that is still a token is tinted with its token's colour (pruned ones are dark)
      expect(m.colouredShare, `block ${m.block}: share of coloured pixels`).toBeGreaterThan(0.5);
      console.log(`demo token map, block ${m.block}: share of the input image's contrast left visible ${m.imageContrast.toFixed(3)}`);
      expect(m.imageContrast, `block ${m.block}: the garment shows through the tint`).toBeGreaterThan(IMAGE_CONTRAST_MIN);
      expect(m.caption).toMatch(new RegExp(`block ${m.block} · \\d+ → ${m.tokens} tokens`));
    }
    expect(maps.map((m) => m.tokens)).toEqual([...maps.map((m) => m.tokens)].sort((a, b) => b - a));
    expect(maps[0]!.tokens).toBeLessThan(198);

    // nothing failed, nothing left the machine: the model and the wasm files came from the page's server
    expect(errors).toEqual([]);
    expect(failed).toEqual([]);
    const origin = new URL(server.url);
    const elsewhere = requests.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).hostname !== origin.hostname);
    expect(elsewhere).toEqual([]);
    const paths = requests.map((u) => (u.startsWith('http') ? new URL(u).pathname : u));
    expect(paths).toContain('/models/photo-deit/onnx/model.onnx');
    expect(paths).toContain('/ort/ort-wasm-simd-threaded.asyncify.wasm');

    // the screenshot: a real PNG that shows the top-5 labels and the token maps
    const shot = await page.screenshot({ fullPage: true });
    const file = path.join(dir, 'demo.png');
    await writeFile(file, shot);
    await mkdir(path.join(appDir, 'out'), { recursive: true });
    await writeFile(path.join(appDir, 'out', 'demo.png'), shot);
    const png = await readFile(file);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.length).toBeGreaterThan(50_000);
    const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
    expect(width).toBe(1280);
    expect(height).toBeGreaterThanOrEqual(800);

    const regions = await page.evaluate(() => {
      const box = (el: Element) => {
        const r = el.getBoundingClientRect();
        return { x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height };
      };
      return {
        labels: Array.from(document.querySelectorAll('#top5-plain, #top5-jmp'), box),
        maps: Array.from(document.querySelectorAll('#token-maps canvas'), box),
      };
    });
    // read the screenshot's pixels back (decoded by the browser) in those regions
    const seen = await page.evaluate(
      async ({ b64, labels, maps }) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const canvas = document.createElement('canvas');
        canvas.width = img.width;
        canvas.height = img.height;
        const ctx = canvas.getContext('2d')!;
        ctx.drawImage(img, 0, 0);
        const stats = (r: Region) => {
          const d = ctx.getImageData(Math.round(r.x), Math.round(r.y), Math.max(1, Math.round(r.width)), Math.max(1, Math.round(r.height))).data;
          const saturated = new Set<number>();
          let dark = 0;
          for (let i = 0; i < d.length; i += 4) {
            const [red, green, blue] = [d[i]!, d[i + 1]!, d[i + 2]!];
            if (Math.max(red, green, blue) - Math.min(red, green, blue) > 40) saturated.add((red << 16) | (green << 8) | blue);
            if (red + green + blue < 200) dark++;
          }
          return { saturated: saturated.size, darkShare: dark / (d.length / 4) };
        };
        return { labels: labels.map(stats), maps: maps.map(stats) };
      },
      { b64: shot.toString('base64'), ...regions },
    );
    expect(seen.labels).toHaveLength(2);
    for (const l of seen.labels) {
      expect(l.darkShare, 'text in the top-5 lists').toBeGreaterThan(0.01);
      expect(l.saturated, 'score bars').toBeGreaterThan(0);
    }
    expect(seen.maps).toHaveLength(5);
    for (const m of seen.maps) expect(m.saturated, 'coloured patches in the token map').toBeGreaterThanOrEqual(12);
  }, 180_000);

  it('"Calibrate τ on my images" on the bundled images: a label-free plan, shown and used', async () => {
    await page.click('#calibrate');
    await page.waitForFunction(
      () => {
        const s = document.getElementById('status');
        return s?.dataset.state === 'error' || (s?.dataset.state === 'done' && (document.getElementById('plan-summary')?.textContent ?? '') !== '');
      },
      null,
      { timeout: 170_000 },
    );
    expect(await page.textContent('#status')).toContain('done');
    const summary = (await page.textContent('#plan-summary')) ?? '';
    expect(summary).toMatch(
      /Calibrated on 20 bundled images \(samples and mirrors\), no labels: τ [\d./]+, keep 0\.\d+ at blocks 2\/4\/6\/8\/10 \(−35\.\d % GMACs\)/,
    );
    const agreement = Number(await page.getAttribute('#plan-summary', 'data-agreement'));
    expect(agreement).toBeGreaterThan(0.5);
    expect(agreement).toBeLessThanOrEqual(1);
    // the JMP card now runs the plan
    expect(await page.textContent('#jmp-summary')).toContain('the calibrated plan: τ');
    expect(await page.$$eval('#top5-jmp li', (lis) => lis.length)).toBe(5);
    // changing a setting of the plan's leaves it
    await page.fill('#tau', '0.9');
    await page.dispatchEvent('#tau', 'change');
    await page.waitForFunction(
      () => (document.getElementById('plan-summary')?.textContent ?? '') === '' && document.getElementById('status')?.dataset.state === 'done',
      null,
      { timeout: 120_000 },
    );
    expect(await page.textContent('#jmp-summary')).not.toContain('calibrated plan');
    expect(errors).toEqual([]);
    expect(failed).toEqual([]);
  }, 300_000);

  it("an image of the user's (file input) with strategy prune: pruned patches in every map", async () => {
    await page.selectOption('#strategy', 'prune');
    const png = await page.screenshot(); // any picture will do
    await page.setInputFiles('#file', { name: 'user-image.png', mimeType: 'image/png', buffer: png });
    await page.waitForFunction(
      () => {
        const s = document.getElementById('status');
        return s?.dataset.state === 'error' || (s?.dataset.state === 'done' && s.dataset.image === 'user-image.png');
      },
      null,
      { timeout: 120_000 },
    );
    expect(await page.textContent('#status')).toContain('done');
    expect(await page.$$eval('#top5-jmp li', (lis) => lis.length)).toBe(5);
    const captions = await page.$$eval('#token-maps figcaption', (cs) => cs.map((c) => c.textContent ?? ''));
    expect(captions).toHaveLength(5);
    for (const c of captions) {
      expect(c).toContain('prune');
      const [, kept, merged, pruned] = /(\d+) kept · (\d+) merged · (\d+) pruned/.exec(c) ?? [];
      expect(Number(merged), c).toBe(0);
      expect(Number(pruned), c).toBeGreaterThan(0);
      expect(Number(kept) + Number(pruned), c).toBe(196);
    }
    expect(errors).toEqual([]);
    expect(failed).toEqual([]);
  }, 120_000);
});
