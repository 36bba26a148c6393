// Browser-test helpers shared by the packages and apps: Debian's Chromium (headless, WebGPU through
// SwiftShader: flags from the transformers.js notes) and a static server for what a page needs.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, sep } from 'node:path';

// JMP_CHROMIUM points the check elsewhere (a test of the skip rule points it at a missing path).
export const CHROMIUM = process.env.JMP_CHROMIUM || '/usr/bin/chromium';
const INSTALL = "apt-get install -y chromium (Debian's package; .ci/run installs it)";

/** CI=true (or any value but '', 0, false): what CI runs must not skip. */
export function isCI() {
  const v = (process.env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

export function hasChromium() {
  return existsSync(CHROMIUM);
}

export function browserSuite(suite) {
  if (hasChromium()) return true;
  if (isCI()) throw new Error(`${suite}: ${CHROMIUM} is missing and CI is set, so this browser suite may not skip: ${INSTALL}.`);
  console.log(`[skipped] ${suite}: no Chromium at ${CHROMIUM}. To run it: ${INSTALL}.`);
  return false;
}

/** The error for a command (not a test) that needs Chromium. */
export function missingChromiumMessage(what) {
  return `${what} needs Chromium at ${CHROMIUM}: ${INSTALL}`;
}

const BASE_ARGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];
// A machine with a GPU (Vulkan driver): Chromium's own adapter choice, the blocklist ignored.
const HARDWARE_WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--ignore-gpu-blocklist'];

export async function launchChromium(options = {}) {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), 'jmp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: options.viewport ?? { width: 1280, height: 900 },
    args: [...BASE_ARGS, ...(options.webgpu === 'hardware' ? HARDWARE_WEBGPU_ARGS : options.webgpu ? WEBGPU_ARGS : ['--disable-gpu'])],
  });
  return Object.assign(context, {
    async cleanup() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  });
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export async function serveStatic(routes) {
  const prefixes = Object.keys(routes).sort((a, b) => b.length - a.length);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const prefix = prefixes.find((p) => path.startsWith(p));
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    };
    if (prefix === undefined) {
      res.writeHead(404, headers).end('not found');
      return;
    }
    const root = routes[prefix];
    let file = normalize(join(root, path.slice(prefix.length)));
    if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) {
      res.writeHead(403, headers).end('forbidden');
      return;
    }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404, headers).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = server.address();
  return {
    // localhost: a secure context (WebGPU needs one)
    url: `http://localhost:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve(undefined))),
  };
}

export function ortWebDist(fromPackageDir, transformersEntry) {
  // transformers.js's own onnxruntime-web (its exports name the wasm files, not package.json):
  // the transformers.js that fromPackageDir resolves, or the one whose entry file is given
  const entry = transformersEntry ?? createRequire(join(fromPackageDir, 'package.json')).resolve('@huggingface/transformers');
  const ortRequire = createRequire(entry);
  try {
    return dirname(ortRequire.resolve('onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm'));
  } catch {
    // onnxruntime-web < 1.23 (transformers.js v3) exports no wasm file: its main entry sits beside them
    const dist = dirname(ortRequire.resolve('onnxruntime-web'));
    if (existsSync(join(dist, 'ort-wasm-simd-threaded.jsep.wasm'))) return dist;
  }
  throw new Error(`no onnxruntime-web wasm files found beside ${entry}`);
}
