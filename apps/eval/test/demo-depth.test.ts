/// <reference lib="dom" />
// (page.evaluate callbacks run in the page)
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserSuite } from '@jmpjs/browser-testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDemoSite, type DemoSite } from './demo-site.js';
import { DEPTH_FALLBACK_MODEL, DEPTH_MODEL, depthModel } from '../vite.demo.config.js';

/**
 * End to end: the depth page (apps/eval/demo/depth.html) built with Vite, served as static files, in
 * headless Chromium on the wasm device. A bundled sample and a file of the user's go through the
 * plain depth-estimation pipeline and through JMP: the image, both depth maps and |difference|. The
 * depth values are checked for finiteness and size only; keep = 1 must give a difference of 0.
 */
const appDir = fileURLToPath(new URL('..', import.meta.url));
const model = depthModel();
/** transformers.js asks whether the model has a tokenizer; the bundled image models have none. */
const TOKENIZER_PROBE = /\/models\/[^/]+\/tokenizer_config\.json$/;

interface MapState {
  id: string;
  width: number;
  height: number;
  dataWidth: number;
  dataHeight: number;
  finite: string | undefined;
  colours: number;
}

async function waitDone(page: Page, name: string | null, timeout = 120_000): Promise<void> {
  await page.waitForFunction(
    (n) => {
      const s = document.getElementById('status');
      return s?.dataset.state === 'error' || (s?.dataset.state === 'done' && (n === null || s.dataset.image === n));
    },
    name,
    { timeout },
  );
  expect(await page.textContent('#status')).toContain('done');
}

async function maps(page: Page): Promise<MapState[]> {
  return page.$$eval('#map-plain, #map-jmp, #map-diff', (canvases) =>
    (canvases as HTMLCanvasElement[]).map((c) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const colours = new Set<number>();
      for (let i = 0; i < d.length; i += 4) colours.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
      return {
        id: c.id,
        width: c.width,
        height: c.height,
        dataWidth: Number(c.dataset.width),
        dataHeight: Number(c.dataset.height),
        finite: c.dataset.finite,
        colours: colours.size,
      };
    }),
  );
}

describe.skipIf(!browserSuite('eval: depth demo page'))('depth demo page in Chromium', () => {
  let dir = '';
  let site: DemoSite;
  let server: { url: string };
  let page: Page;
  let errors: string[] = [];
  let requests: string[] = [];
  let failed: string[] = [];

  beforeAll(async () => {
    site = await openDemoSite('jmp-depth-demo-', TOKENIZER_PROBE);
    ({ dir, page, errors, requests, failed } = site);
    server = { url: site.url };
  }, 180_000);

  afterAll(async () => {
    await site?.close();
  });

  it('the main page links to it', async () => {
    expect(await readFile(path.join(dir, 'site', 'index.html'), 'utf8')).toContain('<a href="./depth.html">');
  });

  it('a bundled sample with the default JMP: the image, plain and JMP depth maps, |difference|, times and GMACs', async () => {
    await page.goto(`${server.url}/depth.html`);
    const sample = page.locator('#sample-0');
    await sample.waitFor();
    const name = await sample.getAttribute('data-name');
    expect(name).toMatch(/^(depth-test|photo-test) #0$/);
    await waitDone(page, name);

    // the model, and the fallback said in the page
    expect(model.name).toBe(model.fallback ? DEPTH_FALLBACK_MODEL : DEPTH_MODEL);
    expect(await page.textContent('#model-name')).toContain(model.name);
    const note = (await page.textContent('#model-note')) ?? '';
    if (model.fallback) expect(note).toContain(`${DEPTH_MODEL} (Depth Anything trained on rendered scenes) was not there`);
    else expect(note).not.toContain('random weights');

    // three maps at the image's size, finite
    const image = await page.$eval('#map-image', (c) => ({ width: (c as HTMLCanvasElement).width, height: (c as HTMLCanvasElement).height }));
    expect(image.width).toBeGreaterThan(0);
    const states = await maps(page);
    expect(states.map((m) => m.id)).toEqual(['map-plain', 'map-jmp', 'map-diff']);
    for (const m of states) {
      expect(m.finite, m.id).toBe('true');
      expect([m.width, m.height, m.dataWidth, m.dataHeight], m.id).toEqual([image.width, image.height, image.width, image.height]);
    }
    for (const m of states.slice(0, 2)) expect(m.colours, `${m.id}: a map, not a flat fill`).toBeGreaterThan(10);
    const max = Number(await page.getAttribute('#map-diff', 'data-max'));
    expect(Number.isFinite(max)).toBe(true);
    expect(max).toBeGreaterThanOrEqual(0);
    expect(await page.textContent('#caption-diff')).toMatch(
      /\|plain − JMP\| · black 0 … white [\d.e+-]+ \(the max; [\d.]+ % of the plain map's range\)|identical/,
    );

    // time per image of both (positive), GMACs of both (JMP's lower), the neck and head said constant
    for (const id of ['#time-plain', '#time-jmp']) {
      const ms = Number(await page.getAttribute(id, 'data-ms'));
      expect(ms, id).toBeGreaterThan(0);
      expect(await page.textContent(id), id).toMatch(/\d ms \(median of \d+\)/);
    }
    const plainGmacs = Number(await page.getAttribute('#gmacs-plain', 'data-gmacs'));
    const jmpGmacs = Number(await page.getAttribute('#gmacs-jmp', 'data-gmacs'));
    expect(plainGmacs).toBeGreaterThan(0);
    expect(jmpGmacs).toBeLessThan(plainGmacs);
    const comparison = (await page.textContent('#comparison')) ?? '';
    expect(comparison).toMatch(/enableJMP defaults/);
    expect(comparison).toMatch(/the DPT neck and the depth head, [\d.]+ GMACs \(\d+ % of the plain model's\), are a constant of it/);
    expect(Number(await page.getAttribute('#speedup', 'data-ratio'))).toBeGreaterThan(0);

    // nothing failed, nothing left the machine
    expect(errors).toEqual([]);
    expect(failed).toEqual([]);
    const origin = new URL(server.url);
    const elsewhere = requests.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).hostname !== origin.hostname);
    expect(elsewhere).toEqual([]);
    const paths = requests.map((u) => (u.startsWith('http') ? new URL(u).pathname : u));
    expect(paths).toContain(`/models/${model.name}/onnx/model.onnx`);

    const shot = await page.screenshot({ fullPage: true });
    await mkdir(path.join(appDir, 'out'), { recursive: true });
    await writeFile(path.join(appDir, 'out', 'demo-depth.png'), shot);
  }, 180_000);

  it('keep = 1: the JMP map is the plain one (difference 0)', async () => {
    await page.selectOption('#jmp-mode', 'keep');
    await page.fill('#keep', '1');
    await page.dispatchEvent('#keep', 'change');
    await waitDone(page, null);
    expect(await page.getAttribute('#map-diff', 'data-max')).toBe('0');
    expect(await page.textContent('#caption-diff')).toContain('identical');
    expect(await page.textContent('#comparison')).toContain('keep 1.00');
    expect(errors).toEqual([]);
  }, 120_000);

  it("an image of the user's (file input) at keep 0.5 (300 × 200: its own token grid), maps at its size, a nonzero difference", async () => {
    await page.fill('#keep', '0.5');
    await page.dispatchEvent('#keep', 'change');
    await waitDone(page, null);
    const png = await page.screenshot({ clip: { x: 0, y: 0, width: 300, height: 200 } }); // any picture will do
    await page.setInputFiles('#file', { name: 'user-image.png', mimeType: 'image/png', buffer: png });
    await waitDone(page, 'user-image.png');
    const states = await maps(page);
    for (const m of states) {
      expect(m.finite, m.id).toBe('true');
      expect([m.width, m.height], m.id).toEqual([300, 200]);
    }
    expect(await page.textContent('#image-name')).toBe('user-image.png (300 × 200)');
    expect(Number(await page.getAttribute('#map-diff', 'data-max'))).toBeGreaterThan(0);
    expect(await page.textContent('#comparison')).toContain('keep 0.50');
    expect(errors).toEqual([]);
    expect(failed).toEqual([]);
  }, 120_000);
});
