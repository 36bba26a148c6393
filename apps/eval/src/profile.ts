// `bench --profile`: where the time of a forward goes, per node group, from onnxruntime's profiler.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline, type Tensor } from '@huggingface/transformers';
import { enableJMP, type JMPOptions } from '@jmpjs/transformers-patch';
import type { Args } from './args.js';
import { benchSettings, probeInfo, summary, type BenchOptions } from './bench-settings.js';
import type { Classifier } from './classifier.js';
import { randomPixels } from './random-pixels.js';
import { timedForward } from './timing.js';

/** What each node of a profiled forward is for, from its name (the exporter's scopes, `jmp/` for what JMP adds). */
export const GROUPS = ['attention', 'MLP, norms, residuals', 'reduction', 'size bias', 'embeddings, head, neck'] as const;
export type Group = (typeof GROUPS)[number];

export function groupOf(node: string): Group {
  if (node.includes('jmp/biased_scores')) return 'size bias';
  if (node.includes('jmp/') || node.startsWith('jmp_')) return 'reduction';
  if (/\/layer\.\d+\/attention\//.test(node)) return 'attention';
  // onnxruntime's fused GELU nodes lose the scope name
  if (/\/layer\.\d+\//.test(node) || /^(Bias|Fast)?Gelu/.test(node)) return 'MLP, norms, residuals';
  return 'embeddings, head, neck';
}

interface ProfileEvent {
  cat?: string;
  name?: string;
  ts?: number;
  dur?: number;
  args?: { op_name?: string };
}

/** Kernel milliseconds per group and per op type of the reduction, averaged over the profiled forwards. */
export interface Profile {
  runs: number;
  groups: Record<Group, number>;
  /** Kernel time of the added nodes by op type, largest first. */
  reductionOps: [string, number][];
  nodes: number;
}

/**
 * Forwards run before the profiled ones: onnxruntime's arena grows over the first two (at 1 369
 * tokens each took 70 ms more in its first attention MatMul and Softmax than the later ones).
 */
export const WARM_UPS = 2;

/** Sums the forwards after the first `warmUps` (with their first-run allocations). */
export function summarize(events: readonly ProfileEvent[], warmUps = WARM_UPS): Profile {
  const forwards = events.filter((e) => e.name === 'model_run').sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
  const runs = Math.max(0, forwards.length - warmUps);
  const last = forwards[Math.min(warmUps, forwards.length) - 1];
  const warmEnd = last ? (last.ts ?? 0) + (last.dur ?? 0) : 0;
  const groups = Object.fromEntries(GROUPS.map((g) => [g, 0])) as Record<Group, number>;
  const ops = new Map<string, number>();
  const nodes = new Set<string>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || (e.ts ?? 0) < warmEnd) continue;
    const node = e.name.slice(0, -'_kernel_time'.length);
    nodes.add(node);
    const group = groupOf(node);
    groups[group] += (e.dur ?? 0) / 1000;
    if (group === 'reduction' || group === 'size bias') {
      const op = e.args?.op_name ?? '?';
      ops.set(op, (ops.get(op) ?? 0) + (e.dur ?? 0) / 1000);
    }
  }
  const per = Math.max(runs, 1);
  for (const g of GROUPS) groups[g] /= per;
  return { runs, groups, reductionOps: [...ops].map(([op, ms]) => [op, ms / per] as [string, number]).sort((a, b) => b[1] - a[1]), nodes: nodes.size };
}

/**
 * Profiles `runs` forwards of a fresh pipeline (plain when `jmp` is null, else with JMP on at these
 * options) at one input: onnxruntime writes its profile when the session is released; the file with
 * the forwards is read.
 */
export async function profileSetting(
  load: (sessionOptions: Record<string, unknown>) => Promise<Classifier>,
  jmp: JMPOptions | null,
  x: Tensor,
  runs: number,
): Promise<Profile> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'jmp-profile-'));
  try {
    const pipe = await load({ enableProfiling: true, profileFilePrefix: path.join(dir, 'p') });
    const handle = jmp ? await enableJMP(pipe, jmp) : null;
    try {
      for (let i = 0; i < WARM_UPS; i++) await timedForward(pipe, x); // left out by summarize()
      for (let i = 0; i < runs; i++) await timedForward(pipe, x);
    } finally {
      await handle?.dispose();
      await pipe.dispose();
    }
    let best: Profile | undefined;
    for (const file of await readdir(dir)) {
      const p = summarize(JSON.parse(await readFile(path.join(dir, file), 'utf8')) as ProfileEvent[]);
      if (!best || p.runs > best.runs) best = p;
    }
    if (!best || best.runs === 0) throw new Error(`onnxruntime wrote no profile with forwards in ${dir}`);
    return best;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One table per batch size: each group's kernel ms per forward, plain and per setting. */
export function profileTable(batch: number, rows: { label: string; profile: Profile }[]): string {
  const head = `batch ${batch}: kernel ms per forward (onnxruntime's profiler; it adds a cost per node, so compare groups, not totals with unprofiled runs)`;
  const cols = ['setting', ...GROUPS, 'total', 'nodes'];
  const lines = rows.map(({ label, profile }) => {
    const total = GROUPS.reduce((a, g) => a + profile.groups[g], 0);
    return [label, ...GROUPS.map((g) => profile.groups[g].toFixed(2)), total.toFixed(2), String(profile.nodes)];
  });
  const widths = cols.map((c, i) => Math.max(c.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (l: string[]) => l.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  const ops = rows
    .filter((r) => r.profile.reductionOps.length > 0)
    .map(
      (r) =>
        `  ${r.label}, added nodes by op: ${r.profile.reductionOps
          .slice(0, 8)
          .map(([op, ms]) => `${op} ${ms.toFixed(2)}`)
          .join(', ')}`,
    );
  return [head, fmt(cols), ...lines.map(fmt), ...ops].join('\n');
}

/** `bench --profile`: per node group, the kernel time of a plain and of each patched forward. */
export async function profileCommand(args: Args, o: BenchOptions & { dir: string }): Promise<void> {
  const load = async (sessionOptions: Record<string, unknown>) =>
    (await pipeline('image-classification', o.dir, {
      dtype: o.dtype as 'fp32',
      device: (args.device ?? 'cpu') as 'cpu',
      session_options: sessionOptions,
    })) as unknown as Classifier;
  const settings = benchSettings(args, o.methods, await probeInfo(() => load({})), o.tau, o.tauSpec, o.runner);
  console.log(
    `bench --profile: ${o.dir} (${o.dtype}, ${args.device ?? 'cpu'}, runner ${o.runner}), ${o.runs} profiled forwards per setting after ${WARM_UPS} warm-ups\n`,
  );
  for (const batch of o.batches) {
    const x = randomPixels(batch);
    const rows = [{ label: 'plain', profile: await profileSetting(load, null, x, o.runs) }];
    for (const setting of settings)
      rows.push({ label: `${setting.method} ${summary(setting)}`, profile: await profileSetting(load, setting.options!, x, o.runs) });
    console.log(profileTable(batch, rows) + '\n');
  }
}
