// Vite config of the browser demo (apps/eval/demo): `pnpm --filter @jmpjs/eval demo:build` writes
// a static site to out/demo that runs offline: the bundled natural-image DeiT (photo-deit) and onnxruntime-web's
// wasm files are copied beside the page, and a few test images are bundled as pixel bytes. The depth
// page (demo/depth.html) serves a bundled Depth Anything model the same way.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ortWebDist } from '@jmpjs/browser-testing';
import * as fixtures from '@jmpjs/fixtures';
import { modelPath, readImageSet } from '@jmpjs/fixtures';
import { defaultClientConditions, defineConfig, type Plugin, type UserConfig } from 'vite';

const appDir = path.dirname(fileURLToPath(import.meta.url));

/** The model the demo serves (transformers.js local layout under /models/<name>/). */
export const DEMO_MODEL = 'photo-deit';
/** The committed image set the bundled samples come from. */
const SAMPLE_SET = 'photo-test';
const MODEL_FILES = ['config.json', 'preprocessor_config.json', 'onnx/model.onnx', 'onnx/model_fp16.onnx', 'onnx/model_quantized.onnx'];
/** onnxruntime-web's wasm build that transformers.js's web bundle (onnxruntime-web/webgpu) loads, for wasm and webgpu alike. */
const ORT_FILES = ['ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'];
const SAMPLES_ID = 'virtual:demo-samples';

/** The depth page's model: the Depth Anything trained on rendered scenes, where the build finds it. */
export const DEPTH_MODEL = 'photo-depth';
/** The depth page's model where photo-depth is missing: the committed one with random weights. */
export const DEPTH_FALLBACK_MODEL = 'tiny-depth-anything';
/** The committed rendered scenes the depth page's samples come from (when @jmpjs/fixtures reads them). */
const DEPTH_SCENES = 'depth-test';
const DEPTH_SAMPLES = 6;
const DEPTH_ID = 'virtual:depth-demo';

/** The model the depth page serves: DEPTH_MODEL if its files are there at build time, else DEPTH_FALLBACK_MODEL. */
export function depthModel(): { name: string; fallback: boolean } {
  const ready = ['config.json', 'preprocessor_config.json', 'onnx/model.onnx'].every((f) => existsSync(path.join(modelPath(DEPTH_MODEL), f)));
  return ready ? { name: DEPTH_MODEL, fallback: false } : { name: DEPTH_FALLBACK_MODEL, fallback: true };
}

/** The depth model's files that exist (its fp16 and q8 exports may be missing). */
function depthModelFiles(name: string): string[] {
  return MODEL_FILES.filter((f) => existsSync(path.join(modelPath(name), f)));
}

/** Files the page fetches at run time: URL path (no leading slash) → file on disk. */
function runtimeFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const f of MODEL_FILES) files.set(`models/${DEMO_MODEL}/${f}`, path.join(modelPath(DEMO_MODEL), f));
  const depth = depthModel().name;
  for (const f of depthModelFiles(depth)) files.set(`models/${depth}/${f}`, path.join(modelPath(depth), f));
  const ort = ortWebDist(appDir); // the copy transformers.js itself imports
  for (const f of ORT_FILES) files.set(`ort/${f}`, path.join(ort, f));
  return files;
}

/**
 * The first image of every class of the committed natural-image test set, as a module:
 * `{ set, rows, cols, channels, classes, samples: [{ index, label, pixels (base64, rows·cols·channels bytes, interleaved) }] }`.
 */
function samplesModule(): string {
  const config = JSON.parse(readFileSync(path.join(modelPath(DEMO_MODEL), 'config.json'), 'utf8')) as { id2label: Record<string, string> };
  const classes = Object.keys(config.id2label)
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => config.id2label[k]!);
  const set = readImageSet(SAMPLE_SET);
  const per = set.rows * set.cols * set.channels;
  const samples: { index: number; label: number; pixels: string }[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < set.count && seen.size < 10; i++) {
    const label = set.labels[i]!;
    if (seen.has(label)) continue;
    seen.add(label);
    samples.push({ index: i, label, pixels: Buffer.from(set.images.subarray(i * per, (i + 1) * per)).toString('base64') });
  }
  samples.sort((a, b) => a.label - b.label);
  return `export default ${JSON.stringify({ set: SAMPLE_SET, rows: set.rows, cols: set.cols, channels: set.channels, classes, samples })};\n`;
}

interface SceneSet {
  width: number;
  height: number;
  images: Uint8Array[];
}

/**
 * The depth page's module: `{ model, preferred, fallback, dtypes, samples: { source, rows, cols, channels,
 * items: [{ name, pixels (base64, interleaved) }] } }`. The samples are the first rendered depth test
 * scenes where @jmpjs/fixtures has `depthScenes`, else the first natural-image test images
 * (Fashion-MNIST items on photographs).
 */
async function depthModule(): Promise<string> {
  const { name, fallback } = depthModel();
  const dtypes = (['fp32', 'fp16', 'q8'] as const).filter((d) => existsSync(path.join(modelPath(name), 'onnx', fixtures.dtypeFiles[d])));
  const load = (fixtures as unknown as { depthScenes?: (name: string) => SceneSet | Promise<SceneSet> }).depthScenes;
  let samples: { source: string; rows: number; cols: number; channels: number; items: { name: string; pixels: string }[] };
  if (load) {
    const scenes = await load(DEPTH_SCENES);
    const channels = scenes.images[0]!.length / (scenes.width * scenes.height);
    samples = {
      source: DEPTH_SCENES,
      rows: scenes.height,
      cols: scenes.width,
      channels,
      items: scenes.images.slice(0, DEPTH_SAMPLES).map((img, i) => ({ name: `${DEPTH_SCENES} #${i}`, pixels: Buffer.from(img).toString('base64') })),
    };
  } else {
    const set = readImageSet(SAMPLE_SET);
    const per = set.rows * set.cols * set.channels;
    const items = [];
    for (let i = 0; i < Math.min(DEPTH_SAMPLES, set.count); i++) {
      items.push({ name: `${SAMPLE_SET} #${i}`, pixels: Buffer.from(set.images.subarray(i * per, (i + 1) * per)).toString('base64') });
    }
    samples = { source: SAMPLE_SET, rows: set.rows, cols: set.cols, channels: set.channels, items };
  }
  return `export default ${JSON.stringify({ model: name, preferred: DEPTH_MODEL, fallback, dtypes, samples })};\n`;
}

const TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
};

/** Bundled samples, and the model and wasm files: served by the dev server, copied into the build. */
export function demoAssets(): Plugin {
  let outDir = '';
  return {
    name: 'jmp-demo-assets',
    resolveId: (id) => (id === SAMPLES_ID || id === DEPTH_ID ? `\0${id}` : null),
    load: (id) => (id === `\0${SAMPLES_ID}` ? samplesModule() : id === `\0${DEPTH_ID}` ? depthModule() : null),
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      const files = runtimeFiles();
      server.middlewares.use((req, res, next) => {
        const url = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\//, '');
        const file = files.get(url);
        if (!file || !existsSync(file)) {
          if (!/^(models|ort)\//.test(url)) return next();
          res.statusCode = 404;
          res.end('not found');
          return;
        }
        res.setHeader('Content-Type', TYPES[path.extname(file)] ?? 'application/octet-stream');
        res.setHeader('Content-Length', statSync(file).size);
        createReadStream(file).pipe(res);
      });
    },
    async writeBundle() {
      for (const [url, file] of runtimeFiles()) {
        const to = path.join(outDir, url);
        await mkdir(path.dirname(to), { recursive: true });
        await cp(file, to);
      }
    },
  };
}

// onnxruntime-web runs multi-threaded only in a cross-origin isolated page
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** The demo's config; `outDir` overrides out/demo (the end-to-end test builds into a temp folder). */
export function demoConfig(outDir = path.join(appDir, 'out/demo')): UserConfig {
  return {
    root: path.join(appDir, 'demo'),
    base: './',
    // no index.html fallback for missing files: transformers.js probes for files a model may not
    // have (tokenizer_config.json) and must get a 404
    appType: 'mpa',
    plugins: [demoAssets()],
    // onnxruntime-web's build without the wasm inlined as an asset: it loads the files copied to ort/
    resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      chunkSizeWarningLimit: 2048,
      // the demo, its depth page, and the page `pnpm bench --browser` drives
      rollupOptions: {
        input: { demo: path.join(appDir, 'demo/index.html'), depth: path.join(appDir, 'demo/depth.html'), bench: path.join(appDir, 'demo/bench.html') },
      },
    },
    server: { headers: ISOLATION },
    preview: { headers: ISOLATION },
  };
}

export default defineConfig(demoConfig());
