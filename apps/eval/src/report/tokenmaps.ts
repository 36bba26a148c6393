/**
 * Token maps as one Vega-Lite chart: a row per image, a column for the input and one per
 * reduction block. Each cell is the image (an `image` mark whose URL is a PNG data URI made
 * here) under a `rect` per patch coloured by the patch's fate: kept (clear), merged (the colour
 * of the token it joined; that token's own patch carries a white dot), fused into EViT's extra
 * token (grey), pruned (dark, with a grey ×: visible on black backgrounds too).
 */
import type { PatchFates, TokenMapImage, TokenMaps } from '../types.js';
import { encodePng, pngDataUri, resample } from './png.js';
import type { VlSpec } from './vega.js';

/** Largest side of a cell, px. */
const CELL = 140;

/** Distinct colours for merge groups (no black, white or grey: those mean pruned / kept / fused). */
const GROUP_COLORS = [
  '#e6194b',
  '#3cb44b',
  '#ffe119',
  '#4363d8',
  '#f58231',
  '#911eb4',
  '#46f0f0',
  '#f032e6',
  '#bcf60c',
  '#fabebe',
  '#008080',
  '#e6beff',
  '#9a6324',
  '#fffac8',
  '#800000',
  '#aaffc3',
];
const PRUNED_COLOR = '#000000';
const FUSED_COLOR = '#9e9e9e';
const UNKNOWN_MERGE_COLOR = '#d0d0d0';

export interface PatchDatum {
  /** Patch column, row (0-based, row 0 at the top). */
  c: number;
  r: number;
  fate: 'kept' | 'anchor' | 'merged' | 'fused' | 'pruned';
  fill: string;
  opacity: number;
}

/** The root token of a merged patch: follows `into` through patches that were merged themselves. */
function resolveRoot(fates: PatchFates['fates'], p: number): number | undefined {
  let cur = p;
  for (let steps = 0; steps <= fates.length; steps++) {
    const f = fates[cur];
    if (!f || f.f !== 'm') return cur;
    if (f.into === undefined) return undefined;
    if (f.into < 0) return -1;
    if (f.into === cur) return cur;
    cur = f.into;
  }
  return undefined; // a cycle
}

/** Group (root patch) of every patch of a block: a number ≥ 0 for merge groups, −1 fused, undefined otherwise. */
function groupsOf(block: PatchFates): (number | undefined)[] {
  const roots = block.fates.map((f, p) => (f.f === 'm' ? resolveRoot(block.fates, p) : undefined));
  const anchors = new Set(roots.filter((r): r is number => r !== undefined && r >= 0));
  return block.fates.map((f, p) => (f.f === 'k' && anchors.has(p) ? p : roots[p]));
}

/**
 * One colour per merge group over all the blocks of an image (the same token keeps its colour
 * from block to block), chosen greedily so that touching groups differ; colours repeat only
 * between groups that do not touch.
 */
export function groupColors(blocks: readonly PatchFates[], grid: [number, number]): Map<number, string> {
  const [rows, cols] = grid;
  const neighbours = new Map<number, Set<number>>();
  const touch = (a: number | undefined, b: number | undefined): void => {
    if (a === undefined || b === undefined || a < 0 || b < 0 || a === b) return;
    if (!neighbours.has(a)) neighbours.set(a, new Set());
    if (!neighbours.has(b)) neighbours.set(b, new Set());
    neighbours.get(a)?.add(b);
    neighbours.get(b)?.add(a);
  };
  for (const block of blocks) {
    const g = groupsOf(block);
    for (const id of g) if (id !== undefined && id >= 0 && !neighbours.has(id)) neighbours.set(id, new Set());
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const p = r * cols + c;
        if (c + 1 < cols) touch(g[p], g[p + 1]);
        if (r + 1 < rows) touch(g[p], g[p + cols]);
      }
    }
  }
  const colorIndex = new Map<number, number>();
  const uses = GROUP_COLORS.map(() => 0);
  for (const id of [...neighbours.keys()].sort((a, b) => a - b)) {
    const taken = new Set([...(neighbours.get(id) ?? [])].map((n) => colorIndex.get(n)));
    // the least used colour no touching group has (spreads the palette), else a fixed one
    let k = -1;
    uses.forEach((u, i) => {
      if (!taken.has(i) && (k < 0 || u < (uses[k] ?? 0))) k = i;
    });
    if (k < 0) k = id % GROUP_COLORS.length;
    colorIndex.set(id, k);
    uses[k] = (uses[k] ?? 0) + 1;
  }
  return new Map([...colorIndex].map(([id, k]) => [id, GROUP_COLORS[k] ?? UNKNOWN_MERGE_COLOR]));
}

/** The overlay of one block: a datum per patch of the grid. */
export function patchData(block: PatchFates, grid: [number, number], colors: Map<number, string>): PatchDatum[] {
  const [rows, cols] = grid;
  const groups = groupsOf(block);
  const out: PatchDatum[] = [];
  for (let p = 0; p < Math.min(rows * cols, block.fates.length); p++) {
    const f = block.fates[p];
    if (!f) continue;
    const r = Math.floor(p / cols);
    const c = p % cols;
    const g = groups[p];
    if (f.f === 'p') out.push({ c, r, fate: 'pruned', fill: PRUNED_COLOR, opacity: 0.8 });
    else if (f.f === 'm' && g === -1) out.push({ c, r, fate: 'fused', fill: FUSED_COLOR, opacity: 0.8 });
    else if (f.f === 'm') {
      out.push({ c, r, fate: 'merged', fill: g === undefined ? UNKNOWN_MERGE_COLOR : (colors.get(g) ?? UNKNOWN_MERGE_COLOR), opacity: 0.62 });
    } else if (g !== undefined && g >= 0) {
      out.push({ c, r, fate: 'anchor', fill: colors.get(g) ?? UNKNOWN_MERGE_COLOR, opacity: 0.62 });
    } else out.push({ c, r, fate: 'kept', fill: '#ffffff', opacity: 0 });
  }
  return out;
}

/** Display size of an image cell: integer enlargement of small images, shrink of large ones. */
export function cellSize(width: number, height: number): [number, number] {
  const side = Math.max(width, height);
  if (side <= CELL) {
    const s = Math.max(1, Math.floor(CELL / side));
    return [width * s, height * s];
  }
  return [Math.max(1, Math.round((width * CELL) / side)), Math.max(1, Math.round((height * CELL) / side))];
}

/** The image as a PNG data URI at its display size (crisp: enlarged by whole pixels). */
export function imageDataUri(img: TokenMapImage): string {
  const [w, h] = cellSize(img.width, img.height);
  let channels: 1 | 3 = img.channels === 1 ? 1 : 3;
  let pixels: ArrayLike<number> = img.pixels;
  if (img.channels !== 1 && img.channels !== 3) {
    // e.g. RGBA: keep the first three channels
    const n = img.width * img.height;
    const rgb = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) for (let ch = 0; ch < 3; ch++) rgb[i * 3 + ch] = img.pixels[i * img.channels + ch] ?? 0;
    pixels = rgb;
    channels = 3;
  }
  const out = resample(img.width, img.height, channels, pixels, w, h);
  return pngDataUri(encodePng(w, h, channels, out));
}

function counts(block: PatchFates): string {
  let k = 0;
  let m = 0;
  let p = 0;
  for (const f of block.fates) {
    if (f.f === 'k') k++;
    else if (f.f === 'm') m++;
    else p++;
  }
  return `kept ${k} · merged ${m} · pruned ${p}`;
}

function imageLayer(uri: string, w: number, h: number): VlSpec {
  return {
    data: { values: [{ url: uri }] },
    mark: { type: 'image', width: w, height: h, align: 'left', baseline: 'top', aspect: false, aria: false },
    encoding: { url: { field: 'url', type: 'nominal' }, x: { value: 0 }, y: { value: 0 } },
  };
}

/** An × in the unit square, for pruned patches. */
const CROSS = 'M-1,-1L1,1M-1,1L1,-1';
const PRUNED_MARK = { shape: CROSS, filled: false, stroke: '#c8c8c8', strokeWidth: 1 };
const ANCHOR_MARK = { shape: 'circle', filled: true, fill: '#ffffff', stroke: '#000000', strokeWidth: 0.8, opacity: 1 };

/** Patch rects, then a × on pruned patches and a dot on the tokens others merged into. */
function overlayLayers(data: PatchDatum[], grid: [number, number], w: number): VlSpec[] {
  const [rows, cols] = grid;
  const patchPx = w / Math.max(1, cols);
  const X = { field: 'c', type: 'quantitative', scale: { domain: [0, cols], nice: false, zero: false }, axis: null };
  const Y = { field: 'r', type: 'quantitative', scale: { domain: [0, rows], nice: false, zero: false, reverse: true }, axis: null };
  const centre = (fate: PatchDatum['fate']) => data.filter((d) => d.fate === fate).map((d) => ({ c: d.c + 0.5, r: d.r + 0.5 }));
  const layers: VlSpec[] = [
    {
      data: { values: data.filter((d) => d.opacity > 0).map((d) => ({ ...d, c2: d.c + 1, r2: d.r + 1 })) },
      mark: { type: 'rect', aria: false, strokeWidth: 0 },
      encoding: {
        x: X,
        x2: { field: 'c2' },
        y: Y,
        y2: { field: 'r2' },
        fill: { field: 'fill', type: 'nominal', scale: null, legend: null },
        fillOpacity: { field: 'opacity', type: 'quantitative', scale: null, legend: null },
      },
    },
  ];
  const pruned = centre('pruned');
  if (pruned.length > 0) {
    layers.push({
      data: { values: pruned },
      mark: { type: 'point', aria: false, size: Math.min(100, (patchPx * 0.28) ** 2), ...PRUNED_MARK },
      encoding: { x: X, y: Y },
    });
  }
  const anchors = centre('anchor');
  if (anchors.length > 0) {
    layers.push({
      data: { values: anchors },
      mark: { type: 'point', aria: false, size: Math.min(40, Math.max(6, (patchPx * 0.45) ** 2)), ...ANCHOR_MARK },
      encoding: { x: X, y: Y },
    });
  }
  return layers;
}

const TITLE = { fontSize: 11, subtitleFontSize: 9, anchor: 'start', offset: 4, subtitlePadding: 1, limit: 0 };

/** A key of the fates, drawn as its own small chart above the grid. */
function keySpec(): VlSpec {
  const items = [
    { label: 'kept', fill: '#ffffff', op: 1, mark: '' },
    { label: 'merged: colour of the token it joined', fill: GROUP_COLORS[3] ?? '#4363d8', op: 0.62, mark: '' },
    { label: 'that token (dot)', fill: GROUP_COLORS[3] ?? '#4363d8', op: 0.62, mark: 'anchor' },
    { label: 'fused into EViT’s extra token', fill: FUSED_COLOR, op: 0.8, mark: '' },
    { label: 'pruned (here or before)', fill: PRUNED_COLOR, op: 0.8, mark: 'pruned' },
  ];
  let x = 0;
  const values = items.map((it) => {
    const d = { ...it, x };
    x += 24 + it.label.length * 6;
    return d;
  });
  const width = Math.ceil(x);
  const X = { field: 'x', type: 'quantitative', scale: { domain: [0, width], nice: false, zero: true }, axis: null };
  const Y = { value: 8 };
  return {
    width,
    height: 16,
    data: { values },
    layer: [
      {
        mark: { type: 'square', size: 144, stroke: '#888888', strokeWidth: 0.6 },
        encoding: {
          x: X,
          y: Y,
          fill: { field: 'fill', type: 'nominal', scale: null, legend: null },
          fillOpacity: { field: 'op', type: 'quantitative', scale: null, legend: null },
        },
      },
      {
        transform: [{ filter: "datum.mark === 'pruned'" }],
        mark: { type: 'point', size: 12, ...PRUNED_MARK },
        encoding: { x: X, y: Y },
      },
      {
        transform: [{ filter: "datum.mark === 'anchor'" }],
        mark: { type: 'point', size: 20, ...ANCHOR_MARK },
        encoding: { x: X, y: Y },
      },
      {
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 10, fontSize: 10 },
        encoding: { x: X, y: Y, text: { field: 'label' } },
      },
    ],
    view: { stroke: null },
  };
}

/** The token-map grid: images as rows, the input then each reduction block as columns. */
export function tokenMapSpec(maps: TokenMaps): VlSpec {
  const blockIds = [...new Set(maps.images.flatMap((img) => img.blocks.map((b) => b.block)))].sort((a, b) => a - b);
  const cells: VlSpec[] = [];
  for (const img of maps.images) {
    const [w, h] = cellSize(img.width, img.height);
    const uri = imageDataUri(img);
    const colors = groupColors(img.blocks, maps.grid);
    const ok = img.label === img.predicted;
    cells.push({
      title: { ...TITLE, text: `label: ${img.label}`, subtitle: `predicted: ${img.predicted} (${ok ? 'correct' : 'wrong'})` },
      width: w,
      height: h,
      layer: [imageLayer(uri, w, h)],
    });
    for (const id of blockIds) {
      const block = img.blocks.find((b) => b.block === id);
      cells.push(
        block
          ? {
              title: { ...TITLE, text: `block ${id}: ${block.decision}`, subtitle: counts(block) },
              width: w,
              height: h,
              layer: [imageLayer(uri, w, h), ...overlayLayers(patchData(block, maps.grid, colors), maps.grid, w)],
            }
          : { title: { ...TITLE, text: `block ${id}: —`, subtitle: 'not recorded' }, width: w, height: h, layer: [imageLayer(uri, w, h)] },
      );
    }
  }
  return {
    title: {
      text: 'Token maps',
      subtitle: `${maps.setting} · patch grid ${maps.grid[0]}×${maps.grid[1]} · rows: images; columns: the input, then each reduction block`,
    },
    vconcat: [keySpec(), { columns: blockIds.length + 1, concat: cells, spacing: { row: 40, column: 24 }, bounds: 'flush' }],
    spacing: 18,
  };
}
