import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launchChromium, serveStatic } from '@jmpjs/browser-testing';
import type { BrowserContext, Page } from 'playwright-core';
import { build } from 'vite';
import { demoConfig } from '../vite.demo.config.js';

/** The demo site built with Vite into a temporary folder, served, and one headless Chromium page on it. */
export interface DemoSite {
  dir: string;
  url: string;
  page: Page;
  /** The Rollup output of the build (its chunks' module ids). */
  output: Awaited<ReturnType<typeof build>>;
  /** Page errors and console errors, except `ignore`'s. */
  errors: string[];
  /** Every URL the page asked for. */
  requests: string[];
  /** Requests that failed or answered ≥ 400, except `ignore`'s. */
  failed: string[];
  close(): Promise<void>;
}

/** Builds and opens the demo site; `ignore`: URLs whose errors are expected (transformers.js's tokenizer probe). */
export async function openDemoSite(prefix: string, ignore: RegExp): Promise<DemoSite> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  let server: Awaited<ReturnType<typeof serveStatic>> | undefined;
  let context: (BrowserContext & { cleanup(): Promise<void> }) | undefined;
  const close = async () => {
    await context?.cleanup();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const output = await build({ ...demoConfig(path.join(dir, 'site')), configFile: false, logLevel: 'warn' });
    server = await serveStatic({ '/': path.join(dir, 'site') });
    context = await launchChromium();
    const page = await context.newPage();
    const site: DemoSite = { dir, url: server.url, page, output, errors: [], requests: [], failed: [], close };
    page.on('pageerror', (e) => site.errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !ignore.test(m.location().url)) site.errors.push(`console: ${m.text()} (${m.location().url})`);
    });
    page.on('request', (r) => site.requests.push(r.url()));
    page.on('requestfailed', (r) => site.failed.push(`${r.url()}: ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400 && !ignore.test(r.url())) site.failed.push(`${r.url()}: HTTP ${r.status()}`);
    });
    return site;
  } catch (e) {
    await close();
    throw e;
  }
}
