import { readFile } from 'node:fs/promises';
import type { EvalJson } from './types.js';

/** Bounds a CI eval must stay within (apps/eval/ci-bounds.json). */
export interface GateBounds {
  /** Most points of top-1 JMP (at its −35 % GMACs setting) may lose against the plain model. */
  maxTop1DropPoints: number;
  /** Least GMACs reduction JMP must deliver (0.3 = −30 %). */
  minGmacsReduction: number;
}

/** Checks JMP against the baseline; returns the failures (empty: pass) and a summary line. */
export function checkGate(json: EvalJson, bounds: GateBounds): { failures: string[]; summary: string } {
  const base = json.results.find((r) => r.method === 'baseline');
  const jmp = json.results.find((r) => r.method === 'jmp');
  if (!base || !jmp) return { failures: ['the gate needs the baseline and jmp methods in the run'], summary: '' };
  const drop = (base.top1 - jmp.top1) * 100;
  const reduction = 1 - jmp.gmacs / base.gmacs;
  const failures: string[] = [];
  if (drop > bounds.maxTop1DropPoints) failures.push(`JMP loses ${drop.toFixed(2)} points of top-1 (bound ${bounds.maxTop1DropPoints})`);
  if (reduction < bounds.minGmacsReduction)
    failures.push(`JMP saves ${(reduction * 100).toFixed(1)} % GMACs (bound ${(bounds.minGmacsReduction * 100).toFixed(1)} %)`);
  return {
    failures,
    summary: `gate: JMP top-1 drop ${drop.toFixed(2)} points (≤ ${bounds.maxTop1DropPoints}), GMACs −${(reduction * 100).toFixed(1)} % (≥ ${(bounds.minGmacsReduction * 100).toFixed(1)} %)`,
  };
}

export async function readBounds(file: string): Promise<GateBounds> {
  const raw = JSON.parse(await readFile(file, 'utf8')) as Partial<GateBounds>;
  if (typeof raw.maxTop1DropPoints !== 'number' || typeof raw.minGmacsReduction !== 'number') {
    throw new Error(`${file}: expected { maxTop1DropPoints: number, minGmacsReduction: number }`);
  }
  return raw as GateBounds;
}
