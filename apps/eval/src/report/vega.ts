/**
 * Vega-Lite spec → SVG string, in Node: compiled by `vega-lite`, rendered headless by `vega`
 * (`renderer: 'none'`, no canvas, no network). Warnings of both are collected, not printed.
 */
import * as vega from 'vega';
import type { LoggerInterface } from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

/** A Vega-Lite spec as plain JSON; checked by vega-lite when it is compiled. */
export type VlSpec = Record<string, unknown>;

class CollectingLogger implements LoggerInterface {
  readonly messages: string[] = [];
  private lvl = vega.Warn;
  level(): number;
  level(l: number): this;
  level(l?: number): number | this {
    if (l === undefined) return this.lvl;
    this.lvl = l;
    return this;
  }
  private add(kind: string, args: unknown[]): this {
    this.messages.push(`${kind}: ${args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ')}`);
    return this;
  }
  error(...args: unknown[]): this {
    return this.add('error', args);
  }
  warn(...args: unknown[]): this {
    return this.lvl >= vega.Warn ? this.add('warn', args) : this;
  }
  info(): this {
    return this;
  }
  debug(): this {
    return this;
  }
}

export interface SvgResult {
  svg: string;
  /** Warnings from vega-lite's compiler and vega's runtime. */
  warnings: string[];
}

/** Shared look of every chart. */
export const CHART_CONFIG = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, subtitleFontSize: 11, anchor: 'start', subtitleColor: '#555' },
} as const;

export async function specToSvg(spec: VlSpec): Promise<SvgResult> {
  const logger = new CollectingLogger();
  const full = { config: CHART_CONFIG, background: 'white', padding: 8, ...spec };
  const compiled = vl.compile(full as unknown as TopLevelSpec, { logger });
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none', logger });
  try {
    const svg = await view.toSVG();
    return { svg, warnings: logger.messages };
  } finally {
    view.finalize();
  }
}
