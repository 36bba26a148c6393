// Token maps: the image, upscaled, with every patch tinted translucently by what happened to it up
// to a reduction block — kept (outlined), merged into which token (the kept patch's colour), pruned
// (darkened, hatched) — and the borders between tokens drawn, as ToMe's pictures do, so the image
// stays visible underneath and a person sees what was merged with what.
import { tokenFates, type SourceMap, type TokenFate } from '@jmpjs/core';

export interface TokenMapInput {
  /** 1-based block after whose attention the reduction ran. */
  block: number;
  /** Tokens into that block and after its reduction (protected tokens included). */
  tokensIn: number;
  tokens: number;
  /** Sources after the reduction (`stats().lastCall.sourcesAfter[k].sources`). */
  sources: SourceMap;
  /** CLS (and distillation) tokens at the front: not patches, not drawn. */
  protectedTokens: number;
  /** Patch grid (row-major patches). */
  grid: { cols: number; rows: number };
  /** Image 0's decision at this block, and σ. */
  decision?: string;
  sigma?: number;
}

export interface TokenMapCounts {
  kept: number;
  merged: number;
  pruned: number;
}

const GOLDEN_ANGLE = 137.50776;

/** A colour per resulting token, keyed by its anchor (the original patch it grew from), so a token keeps its colour from block to block. */
function tokenHue(anchor: number): number {
  return (anchor * GOLDEN_ANGLE) % 360;
}
function tokenLightness(anchor: number): number {
  return [52, 64, 44][anchor % 3]!;
}

/** Anchor (original token index) of the token a patch belongs to; −1 for a fused token, null when pruned. */
function anchorOf(fate: TokenFate, index: number): number | null {
  if (fate.fate === 'pruned') return null;
  return fate.fate === 'kept' ? index : fate.into;
}

/**
 * Draws one map on `canvas` (about `size` pixels wide, whole pixels per patch) over `image`, and
 * returns the counts of patches kept, merged and pruned.
 */
export function drawTokenMap(canvas: HTMLCanvasElement, image: CanvasImageSource, input: TokenMapInput, size = 252): TokenMapCounts {
  const { sources, protectedTokens: P, grid } = input;
  const fates = tokenFates(sources, 0, input.tokens);
  const patches = fates.length - P;
  if (patches !== grid.cols * grid.rows) throw new Error(`token map: ${patches} patches do not fill a ${grid.cols}×${grid.rows} grid`);

  const cw = Math.max(4, Math.round(size / grid.cols));
  const ch = Math.max(4, Math.round(size / grid.rows));
  canvas.width = cw * grid.cols;
  canvas.height = ch * grid.rows;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('token map: no 2d context');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);

  // how many patches each token stands for: singletons are drawn paler so that merged groups stand out
  const groupSize = new Map<number, number>();
  fates.forEach((f, o) => {
    if (o < P) return;
    const a = anchorOf(f, o);
    if (a !== null) groupSize.set(a, (groupSize.get(a) ?? 0) + 1);
  });

  const counts: TokenMapCounts = { kept: 0, merged: 0, pruned: 0 };
  for (let p = 0; p < patches; p++) {
    const o = p + P;
    const fate = fates[o]!;
    const x = (p % grid.cols) * cw;
    const y = Math.floor(p / grid.cols) * ch;
    if (fate.fate === 'pruned') {
      counts.pruned++;
      ctx.fillStyle = 'rgba(15, 15, 20, 0.5)';
      ctx.fillRect(x, y, cw, ch);
      ctx.save();
      ctx.beginPath();
      ctx.rect(x, y, cw, ch);
      ctx.clip();
      ctx.strokeStyle = 'rgba(255, 255, 255, 0.45)';
      ctx.lineWidth = 1;
      for (let d = -ch; d < cw; d += Math.max(4, cw / 3)) {
        ctx.beginPath();
        ctx.moveTo(x + d, y + ch);
        ctx.lineTo(x + d + ch, y);
        ctx.stroke();
      }
      ctx.restore();
      continue;
    }
    const anchor = anchorOf(fate, o)!;
    const single = (groupSize.get(anchor) ?? 1) === 1;
    if (anchor < 0) {
      ctx.fillStyle = 'rgba(128, 128, 128, 0.45)'; // a fused token (EViT): no anchor patch
    } else {
      ctx.fillStyle = `hsla(${tokenHue(anchor).toFixed(1)}, 85%, ${tokenLightness(anchor)}%, ${single ? 0.3 : 0.35})`;
    }
    ctx.fillRect(x, y, cw, ch);
    if (fate.fate === 'kept') {
      counts.kept++;
      ctx.strokeStyle = single ? 'rgba(255, 255, 255, 0.55)' : `hsl(${tokenHue(anchor).toFixed(1)}, 90%, 22%)`;
      ctx.lineWidth = single ? 1 : 2;
      ctx.strokeRect(x + ctx.lineWidth / 2, y + ctx.lineWidth / 2, cw - ctx.lineWidth, ch - ctx.lineWidth);
    } else {
      counts.merged++;
    }
  }
  drawBorders(ctx, fates, P, grid, cw, ch);
  return counts;
}

/** Lines between neighbouring patches that belong to different tokens (pruned patches are apart from all). */
function drawBorders(
  ctx: CanvasRenderingContext2D,
  fates: readonly TokenFate[],
  P: number,
  grid: { cols: number; rows: number },
  cw: number,
  ch: number,
): void {
  const group = (p: number): number => anchorOf(fates[p + P]!, p + P) ?? -2 - p;
  ctx.strokeStyle = 'rgba(255, 255, 255, 0.75)';
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let r = 0; r < grid.rows; r++) {
    for (let c = 0; c < grid.cols; c++) {
      const p = r * grid.cols + c;
      if (c + 1 < grid.cols && group(p) !== group(p + 1)) {
        ctx.moveTo((c + 1) * cw - 0.5, r * ch);
        ctx.lineTo((c + 1) * cw - 0.5, (r + 1) * ch);
      }
      if (r + 1 < grid.rows && group(p) !== group(p + grid.cols)) {
        ctx.moveTo(c * cw, (r + 1) * ch - 0.5);
        ctx.lineTo((c + 1) * cw, (r + 1) * ch - 0.5);
      }
    }
  }
  ctx.stroke();
}

/** The map with its caption, as a figure. */
export function tokenMapFigure(image: CanvasImageSource, input: TokenMapInput): HTMLElement {
  const figure = document.createElement('figure');
  figure.className = 'token-map';
  figure.dataset.block = String(input.block);
  figure.dataset.tokens = String(input.tokens);
  const canvas = document.createElement('canvas');
  const counts = drawTokenMap(canvas, image, input);
  const caption = document.createElement('figcaption');
  const decision = input.decision
    ? ` · ${input.decision}${input.sigma !== undefined && Number.isFinite(input.sigma) ? ` (σ ${input.sigma.toFixed(2)})` : ''}`
    : '';
  caption.innerHTML =
    `<strong>block ${input.block}</strong> · ${input.tokensIn} → ${input.tokens} tokens${decision}<br>` +
    `<span class="hint">${counts.kept} kept · ${counts.merged} merged · ${counts.pruned} pruned patches</span>`;
  figure.append(canvas, caption);
  return figure;
}
