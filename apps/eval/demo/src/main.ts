// The demo page: a plain transformers.js image-classification pipeline and the same model with
// JMP, side by side — top-5, time per image, and token maps of each reduction block.
import { RawImage, env, pipeline } from '@huggingface/transformers';
import './offline-env.js';
import { baselineMacs } from '@jmpjs/core';
import { DEFAULT_BUDGET, DEFAULT_TAU, calibrateJMP, enableJMP, type JMPHandle, type JMPOptions, type JMPPlan } from '@jmpjs/transformers-patch';
import bundled from 'virtual:demo-samples';
import { CALIBRATED_TAU } from '../../src/calibrated-tau.js';
import { tokenMapFigure } from './token-map.js';
import { median, timeAlternating } from './timing.js';
import { $, acceptFiles, decodeBase64, detectWebGPU, showTime, statusLine, workQueue } from './page.js';

const BUNDLED_MODEL = 'photo-deit';
const CALIBRATED = CALIBRATED_TAU[BUNDLED_MODEL]!;
const WARMUPS = 2;

type Strategy = 'adaptive' | 'adaptive-token' | 'merge' | 'prune';
type Device = 'wasm' | 'webgpu';
type Dtype = 'fp32' | 'fp16' | 'q8';
interface Prediction {
  label: string;
  score: number;
}
type Classifier = ((image: RawImage, options?: { top_k?: number }) => Promise<Prediction[]>) & {
  model: { config: { image_size?: number; patch_size?: number; id2label?: Record<string, string> } };
  dispose(): Promise<void>;
};
interface ModelSettings {
  model: string;
  remote: boolean;
  device: Device;
  dtype: Dtype;
}
interface JmpSettings {
  enabled: boolean;
  /** A plan from "Calibrate τ on my images": it sets keep and τ (the controls' values are ignored). */
  plan: JMPPlan | null;
  keep: number;
  strategy: Strategy;
  tau: number;
}
interface InputImage {
  name: string;
  image: RawImage;
  /** What the token maps are drawn over. */
  draw: CanvasImageSource;
  /** True class (bundled samples). */
  label?: string;
}

const ui = {
  hubModel: $<HTMLInputElement>('hub-model'),
  loadModel: $<HTMLButtonElement>('load-model'),
  modelName: $('model-name'),
  device: $<HTMLSelectElement>('device'),
  dtype: $<HTMLSelectElement>('dtype'),
  jmpEnabled: $<HTMLInputElement>('jmp-enabled'),
  keep: $<HTMLInputElement>('keep'),
  keepValue: $<HTMLOutputElement>('keep-value'),
  strategy: $<HTMLSelectElement>('strategy'),
  tau: $<HTMLInputElement>('tau'),
  tauHint: $('tau-hint'),
  runs: $<HTMLInputElement>('runs'),
  status: $('status'),
  samples: $('samples'),
  file: $<HTMLInputElement>('file'),
  drop: $('drop'),
  preview: $<HTMLCanvasElement>('preview'),
  imageName: $('image-name'),
  top5Plain: $<HTMLOListElement>('top5-plain'),
  top5Jmp: $<HTMLOListElement>('top5-jmp'),
  timePlain: $('time-plain'),
  timeJmp: $('time-jmp'),
  cardJmp: $('card-jmp'),
  jmpSummary: $('jmp-summary'),
  comparison: $('comparison'),
  maps: $('token-maps'),
  calibrate: $<HTMLButtonElement>('calibrate'),
  calibFiles: $<HTMLInputElement>('calib-files'),
  planSummary: $('plan-summary'),
};

const setStatus = statusLine(ui.status);

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

let hubModelId = ''; // '' → the bundled model

function modelSettings(): ModelSettings {
  return {
    model: hubModelId || BUNDLED_MODEL,
    remote: hubModelId !== '',
    device: ui.device.value as Device,
    dtype: ui.dtype.value as Dtype,
  };
}

/** τ calibrated for the default JMP (select 'redundancy', the token states' similarity); the demo's starting point for every adaptive strategy. */
function calibratedTau(): number {
  return CALIBRATED.tauHidden ?? CALIBRATED.tau ?? DEFAULT_TAU;
}

function jmpSettings(): JmpSettings {
  const strategy = ui.strategy.value as Strategy;
  const tau = Number(ui.tau.value);
  return {
    enabled: ui.jmpEnabled.checked,
    plan: activePlan,
    keep: Number(ui.keep.value),
    strategy,
    tau: Number.isFinite(tau) ? Math.min(1, Math.max(-1, tau)) : calibratedTau(),
  };
}

function syncControls(): void {
  ui.keepValue.value = Number(ui.keep.value).toFixed(2);
  const adaptive = ui.strategy.value.startsWith('adaptive');
  ui.tau.disabled = !adaptive;
  const calibrated = calibratedTau();
  ui.tauHint.textContent = !adaptive
    ? 'only the adaptive strategies use τ'
    : hubModelId
      ? `calibrated for ${BUNDLED_MODEL} only (${calibrated.toFixed(2)}); calibrate it for this model`
      : `calibrated on held-out images: ${calibrated.toFixed(2)}`;
}

// ---------------------------------------------------------------------------------------------
// Pipelines
// ---------------------------------------------------------------------------------------------

let loaded: { key: string; settings: ModelSettings; plain: Classifier; reduced: Classifier } | null = null;
let handle: JMPHandle | null = null;
let handleKey = '';

async function ensureModel(settings: ModelSettings): Promise<NonNullable<typeof loaded>> {
  const key = JSON.stringify(settings);
  if (loaded?.key === key) return loaded;
  await releaseAll();
  setStatus('loading', `loading ${settings.model} (${settings.device}, ${settings.dtype})…`);
  // a hub model id is the only case that goes online, for that load only
  env.allowRemoteModels = settings.remote;
  env.allowLocalModels = !settings.remote;
  env.useBrowserCache = settings.remote;
  try {
    const options = { device: settings.device, dtype: settings.dtype };
    const plain = (await pipeline('image-classification', settings.model, options)) as unknown as Classifier;
    let reduced: Classifier;
    try {
      reduced = (await pipeline('image-classification', settings.model, options)) as unknown as Classifier;
    } catch (e) {
      await plain.dispose();
      throw e;
    }
    loaded = { key, settings, plain, reduced };
    ui.modelName.textContent = settings.remote ? `${settings.model} (hub)` : `${BUNDLED_MODEL} (bundled)`;
    return loaded;
  } catch (e) {
    const online = settings.remote ? ' (a hub model needs a connection to huggingface.co)' : '';
    throw new Error(`loading ${settings.model}: ${e instanceof Error ? e.message : String(e)}${online}`, { cause: e });
  } finally {
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.useBrowserCache = false;
  }
}

async function releaseAll(): Promise<void> {
  // a plan is for one model file: another model or dtype drops it
  activePlan = null;
  ui.planSummary.textContent = '';
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

/** JMP on the second pipeline with the current settings: a settings change disposes the handle and enables again. */
async function ensureJmp(model: NonNullable<typeof loaded>, s: JmpSettings): Promise<JMPHandle | null> {
  const key = `${model.key}|${JSON.stringify(s)}`;
  if (handleKey === key) return handle;
  await handle?.dispose();
  handle = null;
  handleKey = '';
  if (s.enabled) {
    setStatus('loading', 'enabling JMP…');
    const options: JMPOptions = s.plan ? { plan: s.plan, trackSources: true } : { strategy: s.strategy, keep: s.keep, trackSources: true };
    if (!s.plan && s.strategy.startsWith('adaptive')) options.tau = s.tau;
    handle = await enableJMP(model.reduced, options);
  }
  handleKey = key;
  return handle;
}

// ---------------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------------

let current: InputImage | null = null;

/** A canvas of interleaved grey (1 channel) or RGB (3) bytes. */
function pixelCanvas(pixels: Uint8Array, cols: number, rows: number, channels: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = cols;
  canvas.height = rows;
  const rgba = new ImageData(cols, rows);
  for (let i = 0; i < cols * rows; i++) {
    const at = i * channels;
    rgba.data.set(channels === 1 ? [pixels[at]!, pixels[at]!, pixels[at]!, 255] : [pixels[at]!, pixels[at + 1]!, pixels[at + 2]!, 255], i * 4);
  }
  canvas.getContext('2d')!.putImageData(rgba, 0, 0);
  return canvas;
}

function bundledSamples(): void {
  const { set, rows, cols, channels, classes, samples } = bundled;
  for (const s of samples) {
    const pixels = decodeBase64(s.pixels);
    const label = classes[s.label] ?? String(s.label);
    const canvas = pixelCanvas(pixels, cols, rows, channels);
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'sample';
    button.id = `sample-${s.label}`;
    button.title = `${label} (${set} #${s.index})`;
    button.dataset.label = label;
    button.dataset.name = `${set} #${s.index}`;
    const caption = document.createElement('span');
    caption.textContent = label;
    button.append(canvas, caption);
    button.addEventListener('click', () => {
      select({
        name: `${set} #${s.index}`,
        image: new RawImage(new Uint8ClampedArray(pixels), cols, rows, channels),
        draw: canvas,
        label,
      });
    });
    ui.samples.append(button);
  }
}

async function fromFile(file: File): Promise<void> {
  if (!file.type.startsWith('image/')) {
    setStatus('error', `${file.name} is not an image`);
    return;
  }
  const [image, bitmap] = await Promise.all([RawImage.fromBlob(file), createImageBitmap(file)]);
  select({ name: file.name, image, draw: bitmap });
}

function select(input: InputImage): void {
  current = input;
  for (const b of ui.samples.querySelectorAll<HTMLButtonElement>('button.sample')) {
    b.classList.toggle('selected', input.label !== undefined && b.dataset.label === input.label);
  }
  const ctx = ui.preview.getContext('2d')!;
  const smooth = input.image.width >= ui.preview.width;
  ctx.imageSmoothingEnabled = smooth;
  ctx.clearRect(0, 0, ui.preview.width, ui.preview.height);
  ctx.drawImage(input.draw, 0, 0, ui.preview.width, ui.preview.height);
  ui.imageName.textContent = input.label ? `${input.name} — true class: ${input.label}` : input.name;
  schedule();
}

// ---------------------------------------------------------------------------------------------
// Classification, timing, rendering
// ---------------------------------------------------------------------------------------------

function renderTop5(list: HTMLOListElement, predictions: Prediction[], trueLabel: string | undefined, reference?: string): void {
  list.replaceChildren(
    ...predictions.map((p, i) => {
      const li = document.createElement('li');
      if (p.label === trueLabel) li.classList.add('true');
      if (i === 0 && reference !== undefined && p.label !== reference) li.classList.add('changed');
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = p.label;
      const bar = document.createElement('span');
      bar.className = 'bar';
      const fill = document.createElement('span');
      fill.style.width = `${(100 * p.score).toFixed(1)}%`;
      bar.append(fill);
      const score = document.createElement('span');
      score.className = 'score';
      score.textContent = `${(100 * p.score).toFixed(1)} %`;
      li.append(label, bar, score);
      return li;
    }),
  );
}

function patchGrid(model: Classifier, patches: number): { cols: number; rows: number } {
  const { image_size: size, patch_size: patch } = model.model.config;
  if (size && patch && (size / patch) ** 2 === patches) return { cols: size / patch, rows: size / patch };
  const side = Math.round(Math.sqrt(patches));
  if (side * side !== patches) throw new Error(`cannot lay out ${patches} patches on a square grid`);
  return { cols: side, rows: side };
}

function renderMaps(jmp: JMPHandle | null, model: Classifier, image: CanvasImageSource): void {
  ui.maps.replaceChildren();
  delete ui.maps.dataset.blocks;
  const call = jmp?.stats().lastCall;
  const info = jmp?.info;
  if (!jmp || !call || !info) {
    ui.maps.textContent = jmp ? 'JMP left this model unchanged.' : 'JMP is off.';
    return;
  }
  const after = call.sourcesAfter ?? [];
  if (after.length === 0) {
    ui.maps.textContent = 'No reduction ran (keep rate 1).';
    return;
  }
  ui.maps.dataset.blocks = info.reductionBlocks.join(',');
  const P = info.protectedTokens;
  const grid = patchGrid(model, after[0]!.sources.originalTokens - P);
  for (const step of after) {
    const reduction = call.images[0]?.find((r) => r.block === step.block);
    const tokensIn = call.blocks.find((b) => b.block === step.block)?.tokensIn ?? step.sources.originalTokens;
    ui.maps.append(
      tokenMapFigure(image, {
        block: step.block,
        tokensIn,
        tokens: step.tokens,
        sources: step.sources,
        protectedTokens: P,
        grid,
        ...(reduction ? { decision: reduction.decision, sigma: reduction.sigma } : {}),
      }),
    );
  }
}

async function classify(input: InputImage): Promise<void> {
  const model = await ensureModel(modelSettings());
  const s = jmpSettings();
  const jmp = await ensureJmp(model, s);
  setStatus('running', `classifying ${input.name}…`);
  const plainTop = await model.plain(input.image, { top_k: 5 });
  const jmpTop = jmp ? await model.reduced(input.image, { top_k: 5 }) : null;
  renderTop5(ui.top5Plain, plainTop, input.label);
  ui.cardJmp.classList.toggle('off', !jmp);
  if (jmpTop) renderTop5(ui.top5Jmp, jmpTop, input.label, plainTop[0]?.label);
  else ui.top5Jmp.replaceChildren();
  ui.jmpSummary.textContent = !jmp
    ? '(off)'
    : s.plan
      ? `the calibrated plan: ${planText(s.plan)}`
      : `${s.strategy}, keep ${s.keep.toFixed(2)}${s.strategy.startsWith('adaptive') ? `, τ ${s.tau.toFixed(2)}` : ''}`;
  renderMaps(jmp, model.reduced, input.draw);

  setStatus('running', `timing ${input.name}…`);
  const runs = Math.max(1, Math.min(100, Math.round(Number(ui.runs.value)) || 10));
  const fns = [() => model.plain(input.image), ...(jmp ? [() => model.reduced(input.image)] : [])];
  const times = await timeAlternating(fns, { warmups: WARMUPS, runs });
  showTime(ui.timePlain, times[0]!);
  showTime(ui.timeJmp, times[1] ?? null);

  const parts: string[] = [];
  if (times[1]) {
    const ratio = median(times[0]!) / median(times[1]);
    parts.push(`JMP runs at <strong id="speedup" data-ratio="${ratio}">${ratio.toFixed(2)}×</strong> the plain pipeline's speed on this device`);
  }
  const call = jmp?.stats().lastCall;
  if (call && jmp.info) {
    const base = baselineMacs(jmp.info.shape).gmacs;
    const saved = 100 * (1 - call.gmacsPerImage / base);
    parts.push(`GMACs per image ${base.toFixed(4)} → ${call.gmacsPerImage.toFixed(4)} (−${saved.toFixed(1)} %)`);
  }
  if (jmpTop && plainTop[0]) {
    parts.push(jmpTop[0]?.label === plainTop[0].label ? 'same top-1' : `top-1 changed: ${plainTop[0].label} → ${jmpTop[0]?.label}`);
  }
  ui.comparison.innerHTML = parts.join(' · ');
  setStatus('done', `${input.name}: done (${model.settings.device}, ${model.settings.dtype})`, input.name);
}

function clearResults(): void {
  ui.top5Plain.replaceChildren();
  ui.top5Jmp.replaceChildren();
  showTime(ui.timePlain, null);
  showTime(ui.timeJmp, null);
  ui.comparison.textContent = '';
  ui.jmpSummary.textContent = '';
  ui.maps.replaceChildren();
  delete ui.maps.dataset.blocks;
  if (!loaded) ui.modelName.textContent = 'none loaded';
}

// ---------------------------------------------------------------------------------------------
// Calibration (label-free, on the user's images)
// ---------------------------------------------------------------------------------------------

let activePlan: JMPPlan | null = null;
let calibrateRequested = false;

function planText(plan: JMPPlan): string {
  const taus = Array.isArray(plan.options.tau) ? plan.options.tau.map((t) => t.toFixed(2)).join('/') : plan.options.tau.toFixed(2);
  const keeps = [...new Set(plan.options.keep.map((k) => k.toFixed(2)))].join('/');
  return `τ ${taus}, keep ${keeps} at blocks ${plan.options.blocks.join('/')} (−${((1 - plan.gmacs.planned / plan.gmacs.plain) * 100).toFixed(1)} % GMACs)`;
}

/** The bundled samples and their mirror images (20 images: calibration wants 16 or more). */
function bundledForCalibration(): RawImage[] {
  const { rows, cols, channels, samples } = bundled;
  return samples.flatMap((s) => {
    const pixels = decodeBase64(s.pixels);
    const mirror = new Uint8ClampedArray(pixels.length);
    for (let y = 0; y < rows; y++)
      for (let x = 0; x < cols; x++)
        for (let c = 0; c < channels; c++) mirror[(y * cols + x) * channels + c] = pixels[(y * cols + (cols - 1 - x)) * channels + c]!;
    return [new RawImage(new Uint8ClampedArray(pixels), cols, rows, channels), new RawImage(mirror, cols, rows, channels)];
  });
}

async function calibrate(): Promise<void> {
  const model = await ensureModel(modelSettings());
  // calibrateJMP needs the pipeline plain: JMP comes back on with the plan
  await handle?.dispose();
  handle = null;
  handleKey = '';
  const files = [...(ui.calibFiles.files ?? [])].filter((f) => f.type.startsWith('image/'));
  const images = files.length > 0 ? await Promise.all(files.map((f) => RawImage.fromBlob(f))) : bundledForCalibration();
  const source = files.length > 0 ? `${files.length} images of yours` : `${images.length} bundled images (samples and mirrors)`;
  const plan = await calibrateJMP(model.reduced as never, images, {
    budget: DEFAULT_BUDGET,
    onProgress: ({ done, total, candidate }) => setStatus('running', `calibrating on ${source}: ${Math.round((100 * done) / total)} % (${candidate})`),
  });
  activePlan = plan;
  ui.planSummary.dataset.agreement = String(plan.measured.agreement);
  ui.planSummary.textContent = `Calibrated on ${source}, no labels: ${planText(plan)}; the reduced pipeline agrees with the plain one on ${(plan.measured.agreement * 100).toFixed(1)} % of them. JMP now runs this plan (change a setting above to leave it).`;
}

// One task at a time; changes made meanwhile run once the current task is over.
const work = workQueue(
  async () => {
    if (calibrateRequested) {
      calibrateRequested = false;
      await calibrate();
    }
    if (current) await classify(current);
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
  ui.tau.value = calibratedTau().toFixed(2);
  syncControls();
  bundledSamples();
  for (const el of [ui.device, ui.dtype, ui.jmpEnabled, ui.runs]) el.addEventListener('change', () => schedule());
  // keep, τ and strategy are the plan's while it runs: changing one leaves the plan
  const leavePlan = () => {
    if (activePlan) {
      activePlan = null;
      ui.planSummary.textContent = '';
    }
  };
  for (const el of [ui.keep, ui.tau]) el.addEventListener('change', () => (leavePlan(), schedule()));
  ui.calibrate.addEventListener('click', () => {
    calibrateRequested = true;
    schedule();
  });
  ui.keep.addEventListener('input', () => syncControls());
  ui.strategy.addEventListener('change', () => {
    leavePlan();
    ui.tau.value = calibratedTau().toFixed(2);
    syncControls();
    schedule();
  });
  ui.loadModel.addEventListener('click', () => {
    hubModelId = ui.hubModel.value.trim();
    syncControls();
    schedule();
  });
  ui.hubModel.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') ui.loadModel.click();
  });
  acceptFiles(ui.file, ui.drop, (file) => void fromFile(file));
  void detectWebGPU(ui.device);
  // start with the first bundled image
  ui.samples.querySelector<HTMLButtonElement>('button.sample')?.click();
  if (!current) schedule();
}

main();
