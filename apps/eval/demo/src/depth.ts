// The depth page: a plain transformers.js depth-estimation pipeline (Depth Anything) and the same
// model with JMP, side by side — the image, both depth maps, |difference|, time per image, GMACs.
import { RawImage, pipeline, type Tensor } from '@huggingface/transformers';
import './offline-env.js';
import { enableJMP, type JMPHandle, type JMPOptions } from '@jmpjs/transformers-patch';
import demo from 'virtual:depth-demo';
import { median, timeAlternating } from './timing.js';
import { $, acceptFiles, decodeBase64, detectWebGPU, showTime, statusLine, workQueue } from './page.js';

/** The bundled model: vite.demo.config.ts serves photo-depth where the build found it, else tiny-depth-anything. */
const MODEL = demo.model;
const WARMUPS = 2;

type Device = 'wasm' | 'webgpu';
type Dtype = 'fp32' | 'fp16' | 'q8';
interface DepthOutput {
  predicted_depth: Tensor;
  depth: RawImage;
}
type DepthPipeline = ((image: RawImage) => Promise<DepthOutput>) & { dispose(): Promise<void> };
interface ModelSettings {
  device: Device;
  dtype: Dtype;
}
interface JmpSettings {
  /** 'default': enableJMP(pipe) with no options; 'keep': one keep rate at every reduction block. */
  mode: 'default' | 'keep';
  keep: number;
}
interface InputImage {
  name: string;
  image: RawImage;
}

const ui = {
  modelName: $('model-name'),
  modelNote: $('model-note'),
  device: $<HTMLSelectElement>('device'),
  dtype: $<HTMLSelectElement>('dtype'),
  mode: $<HTMLSelectElement>('jmp-mode'),
  keep: $<HTMLInputElement>('keep'),
  keepValue: $<HTMLOutputElement>('keep-value'),
  warning: $('jmp-warning'),
  runs: $<HTMLInputElement>('runs'),
  status: $('status'),
  samplesNote: $('samples-note'),
  samples: $('samples'),
  file: $<HTMLInputElement>('file'),
  drop: $('drop'),
  imageName: $('image-name'),
  timePlain: $('time-plain'),
  timeJmp: $('time-jmp'),
  gmacsPlain: $('gmacs-plain'),
  gmacsJmp: $('gmacs-jmp'),
  comparison: $('comparison'),
  mapImage: $<HTMLCanvasElement>('map-image'),
  mapPlain: $<HTMLCanvasElement>('map-plain'),
  mapJmp: $<HTMLCanvasElement>('map-jmp'),
  mapDiff: $<HTMLCanvasElement>('map-diff'),
  captionPlain: $('caption-plain'),
  captionJmp: $('caption-jmp'),
  captionDiff: $('caption-diff'),
};

const setStatus = statusLine(ui.status);

function modelSettings(): ModelSettings {
  return { device: ui.device.value as Device, dtype: ui.dtype.value as Dtype };
}

function jmpSettings(): JmpSettings {
  return { mode: ui.mode.value === 'keep' ? 'keep' : 'default', keep: Number(ui.keep.value) };
}

function syncControls(): void {
  ui.keep.disabled = ui.mode.value !== 'keep';
  ui.keepValue.value = Number(ui.keep.value).toFixed(2);
}

// ---------------------------------------------------------------------------------------------
// Pipelines
// ---------------------------------------------------------------------------------------------

let loaded: { key: string; settings: ModelSettings; plain: DepthPipeline; reduced: DepthPipeline } | null = null;
let handle: JMPHandle | null = null;
let handleKey = '';

async function ensureModel(settings: ModelSettings): Promise<NonNullable<typeof loaded>> {
  const key = JSON.stringify(settings);
  if (loaded?.key === key) return loaded;
  await releaseAll();
  setStatus('loading', `loading ${MODEL} (${settings.device}, ${settings.dtype})…`);
  const options = { device: settings.device, dtype: settings.dtype };
  try {
    const plain = (await pipeline('depth-estimation', MODEL, options)) as unknown as DepthPipeline;
    let reduced: DepthPipeline;
    try {
      reduced = (await pipeline('depth-estimation', MODEL, options)) as unknown as DepthPipeline;
    } catch (e) {
      await plain.dispose();
      throw e;
    }
    loaded = { key, settings, plain, reduced };
    return loaded;
  } catch (e) {
    throw new Error(`loading ${MODEL}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

async function releaseAll(): Promise<void> {
  await handle?.dispose();
  handle = null;
  handleKey = '';
  if (loaded) {
    const { plain, reduced } = loaded;
    loaded = null;
    await plain.dispose();
    await reduced.dispose();
  }
}

/** JMP on the second pipeline with the current settings: a change disposes the handle and enables again. */
async function ensureJmp(model: NonNullable<typeof loaded>, s: JmpSettings): Promise<JMPHandle> {
  const key = `${model.key}|${JSON.stringify(s)}`;
  if (handle && handleKey === key) return handle;
  await handle?.dispose();
  handle = null;
  handleKey = '';
  setStatus('loading', 'enabling JMP…');
  const warnings: string[] = [];
  const options: JMPOptions = { warn: (m) => warnings.push(m.replace(/^\[jmp\]\s*/, '')) };
  if (s.mode === 'keep') options.keep = s.keep;
  handle = await enableJMP(model.reduced as never, options);
  handleKey = key;
  ui.warning.textContent = warnings.join(' ');
  return handle;
}

// ---------------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------------

let current: InputImage | null = null;

/** The image on a canvas of the page (RawImage.toCanvas() gives an OffscreenCanvas, which the DOM does not show). */
function htmlCanvas(image: RawImage): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext('2d')!.drawImage(image.toCanvas() as CanvasImageSource, 0, 0);
  return canvas;
}

function bundledSamples(): void {
  const { source, rows, cols, channels, items } = demo.samples;
  ui.samplesNote.textContent =
    source === 'photo-test'
      ? `Click a bundled image (the first ${items.length} of photo-test: Fashion-MNIST items on photographs, ${cols} × ${rows}), choose a file, or drop an image anywhere on the page.`
      : `Click a bundled image (the first ${items.length} rendered scenes of ${source}, ${cols} × ${rows}), choose a file, or drop an image anywhere on the page.`;
  items.forEach((item, i) => {
    const image = new RawImage(new Uint8ClampedArray(decodeBase64(item.pixels)), cols, rows, channels as 1 | 3);
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'sample';
    button.id = `sample-${i}`;
    button.title = item.name;
    button.dataset.name = item.name;
    const caption = document.createElement('span');
    caption.textContent = `#${item.name.split('#')[1] ?? i}`;
    button.append(htmlCanvas(image), caption);
    button.addEventListener('click', () => select({ name: item.name, image }));
    ui.samples.append(button);
  });
}

async function fromFile(file: File): Promise<void> {
  try {
    const image = await RawImage.fromBlob(file);
    select({ name: file.name, image });
  } catch (e) {
    setStatus('error', `error: cannot read ${file.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function select(input: InputImage): void {
  current = input;
  for (const b of ui.samples.querySelectorAll<HTMLButtonElement>('button.sample')) b.classList.toggle('selected', b.dataset.name === input.name);
  ui.imageName.textContent = `${input.name} (${input.image.width} × ${input.image.height})`;
  schedule();
}

// ---------------------------------------------------------------------------------------------
// Depth maps
// ---------------------------------------------------------------------------------------------

/** Inferno-like colour stops, dark (0) to bright (1). */
const STOPS = [
  [0, 0, 4],
  [87, 16, 110],
  [188, 55, 84],
  [249, 142, 9],
  [252, 255, 164],
] as const;

function colour(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = STOPS[i]!;
  const b = STOPS[i + 1]!;
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

/** Draws `values` (row-major, width × height) on `canvas`, `lo` → dark, `hi` → bright; grey for the difference. */
function drawMap(canvas: HTMLCanvasElement, values: ArrayLike<number>, width: number, height: number, lo: number, hi: number, grey = false): void {
  canvas.width = width;
  canvas.height = height;
  const img = new ImageData(width, height);
  const span = hi - lo;
  let finite = true;
  for (let i = 0; i < width * height; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) finite = false;
    const t = span > 0 ? (v - lo) / span : 0;
    const [r, g, b] = grey ? [255 * t, 255 * t, 255 * t] : colour(t);
    img.data.set([r, g, b, 255], i * 4);
  }
  canvas.getContext('2d')!.putImageData(img, 0, 0);
  canvas.dataset.width = String(width);
  canvas.dataset.height = String(height);
  canvas.dataset.finite = String(finite);
}

function range(values: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

const fmt = (x: number) => (x === 0 ? '0' : Math.abs(x) >= 0.01 ? x.toFixed(4) : x.toExponential(2));

function renderMaps(input: InputImage, plain: DepthOutput, reduced: DepthOutput): { max: number; mean: number; span: number } {
  const image = input.image.toCanvas() as CanvasImageSource & { width: number; height: number };
  ui.mapImage.width = image.width;
  ui.mapImage.height = image.height;
  ui.mapImage.getContext('2d')!.drawImage(image, 0, 0);
  const [h, w] = plain.predicted_depth.dims.slice(-2) as [number, number];
  const [hj, wj] = reduced.predicted_depth.dims.slice(-2) as [number, number];
  if (h !== hj || w !== wj) throw new Error(`the depth maps differ in size: plain ${w} × ${h}, JMP ${wj} × ${hj}`);
  const a = plain.predicted_depth.data as Float32Array;
  const b = reduced.predicted_depth.data as Float32Array;
  const ra = range(a);
  const rb = range(b);
  const lo = Math.min(ra.min, rb.min);
  const hi = Math.max(ra.max, rb.max);
  drawMap(ui.mapPlain, a, w, h, lo, hi);
  drawMap(ui.mapJmp, b, w, h, lo, hi);
  const diff = new Float32Array(a.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    diff[i] = Math.abs(a[i]! - b[i]!);
    max = Math.max(max, diff[i]!);
    sum += diff[i]!;
  }
  const mean = sum / a.length;
  drawMap(ui.mapDiff, diff, w, h, 0, max, true);
  ui.mapDiff.dataset.max = String(max);
  ui.mapDiff.dataset.mean = String(mean);
  const scale = `colour scale ${fmt(lo)} (dark) … ${fmt(hi)} (bright)`;
  ui.captionPlain.textContent = `plain · ${w} × ${h} · ${scale}`;
  ui.captionJmp.textContent = `JMP · ${w} × ${h} · same scale`;
  const span = ra.max - ra.min;
  ui.captionDiff.textContent =
    max === 0
      ? '|plain − JMP|: identical (max 0)'
      : `|plain − JMP| · black 0 … white ${fmt(max)} (the max; ${((100 * max) / (span || 1)).toFixed(1)} % of the plain map's range) · mean ${fmt(mean)}`;
  return { max, mean, span };
}

// ---------------------------------------------------------------------------------------------
// Running, timing, numbers
// ---------------------------------------------------------------------------------------------

async function estimate(input: InputImage): Promise<void> {
  const model = await ensureModel(modelSettings());
  const s = jmpSettings();
  const jmp = await ensureJmp(model, s);
  setStatus('running', `estimating depth of ${input.name}…`);
  const plainOut = await model.plain(input.image);
  const jmpOut = await model.reduced(input.image);
  const d = renderMaps(input, plainOut, jmpOut);

  const info = jmp.info;
  const headMacs = info?.shape.headMacs;
  if (info) {
    const side = Math.round(Math.sqrt(info.shape.patches)) * info.shape.patchSize;
    const saved = 100 * (1 - info.gmacs.planned / info.gmacs.plain);
    ui.gmacsPlain.textContent = info.gmacs.plain.toFixed(4);
    ui.gmacsJmp.textContent = `${info.gmacs.planned.toFixed(4)} (−${saved.toFixed(1)} %)`;
    ui.gmacsPlain.dataset.gmacs = String(info.gmacs.plain);
    ui.gmacsJmp.dataset.gmacs = String(info.gmacs.planned);
    const setting =
      s.mode === 'keep'
        ? `keep ${s.keep.toFixed(2)}`
        : `enableJMP defaults${info.budget !== null ? ` (budget ${info.budget})` : ''}: keep ${[...new Set(info.schedule.map((b) => b.amount.toFixed(2)))].join('/')}`;
    const parts = [
      `JMP: ${setting} at blocks ${info.reductionBlocks.join(', ')} of ${info.depth}`,
      `cost model at ${side} × ${side}` +
        (headMacs !== undefined
          ? `; the DPT neck and the depth head, ${(headMacs / 1e9).toFixed(4)} GMACs (${((100 * headMacs) / 1e9 / info.gmacs.plain).toFixed(0)} % of the plain model's), are a constant of it`
          : ''),
    ];
    const call = jmp.stats().lastCall;
    if (call && Math.abs(call.gmacsPerImage - info.gmacs.planned) > 1e-9) parts.push(`this image's grid: JMP ${call.gmacsPerImage.toFixed(4)} GMACs`);
    ui.comparison.textContent = `${parts.join(' · ')}.`;
  } else {
    ui.gmacsPlain.textContent = ui.gmacsJmp.textContent = '–';
    ui.comparison.textContent = 'JMP left this model unchanged.';
  }

  setStatus('running', `timing ${input.name}…`);
  const runs = Math.max(1, Math.min(100, Math.round(Number(ui.runs.value)) || 8));
  const times = await timeAlternating([() => model.plain(input.image), () => model.reduced(input.image)], { warmups: WARMUPS, runs });
  showTime(ui.timePlain, times[0]!);
  showTime(ui.timeJmp, times[1]!);
  const ratio = median(times[0]!) / median(times[1]!);
  const speed = document.createElement('span');
  speed.id = 'speedup';
  speed.dataset.ratio = String(ratio);
  speed.textContent = ` JMP runs at ${ratio.toFixed(2)}× the plain pipeline's speed on this device; max |difference| ${fmt(d.max)}.`;
  ui.comparison.append(speed);
  // a setting changed meanwhile: the next round runs at once, and only its end is 'done'
  if (!work.pending) setStatus('done', `${input.name}: done (${model.settings.device}, ${model.settings.dtype})`, input.name);
}

function clearResults(): void {
  for (const el of [ui.timePlain, ui.timeJmp]) showTime(el, null);
  ui.gmacsPlain.textContent = ui.gmacsJmp.textContent = '–';
  ui.comparison.textContent = '';
  for (const c of [ui.mapPlain, ui.mapJmp, ui.mapDiff]) {
    c.getContext('2d')!.clearRect(0, 0, c.width, c.height);
    for (const k of Object.keys(c.dataset)) delete c.dataset[k];
  }
}

// One task at a time; changes made meanwhile run once the current task is over.
const work = workQueue(
  async () => {
    if (current) await estimate(current);
    else {
      await ensureJmp(await ensureModel(modelSettings()), jmpSettings());
      setStatus('ready', 'ready: choose an image');
    }
  },
  { setStatus, clearResults },
);
const schedule = (): void => work.schedule();

// ---------------------------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------------------------

function main(): void {
  ui.modelName.textContent = `${MODEL} (bundled)`;
  ui.modelNote.textContent = demo.fallback
    ? `${demo.preferred} (Depth Anything trained on rendered scenes) was not there when this page was built: this is ${MODEL}, the committed model with random weights, so its depth maps are noise-like; the comparison of plain and JMP still holds.`
    : `${MODEL}: a small Depth Anything trained on rendered scenes textured with photographs.`;
  for (const d of demo.dtypes) ui.dtype.append(new Option(d, d, d === 'fp32', d === 'fp32'));
  syncControls();
  bundledSamples();
  for (const el of [ui.device, ui.dtype, ui.runs, ui.keep]) el.addEventListener('change', () => schedule());
  ui.mode.addEventListener('change', () => (syncControls(), schedule()));
  ui.keep.addEventListener('input', () => syncControls());
  acceptFiles(ui.file, ui.drop, (file) => void fromFile(file));
  void detectWebGPU(ui.device);
  // start with the first bundled image
  ui.samples.querySelector<HTMLButtonElement>('button.sample')?.click();
  if (!current) schedule();
}

main();
