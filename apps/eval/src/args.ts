/** Command-line options shared by the commands. */
export interface Args {
  model?: string;
  data?: string;
  limit?: string;
  full?: boolean;
  batch?: string;
  device?: string;
  dtype?: string;
  methods?: string;
  'no-sweep'?: boolean;
  tau?: string;
  'tau-spec'?: string;
  'tau-per-head'?: string;
  metric?: string;
  match?: string;
  'latency-runs'?: string;
  'speed-runs'?: string;
  out?: string;
  json?: string;
  strategy?: string;
  grid?: string;
  choose?: string;
  objective?: string;
  blocks?: string;
  runs?: string;
  batches?: string;
  gate?: string;
  runner?: string;
  'keep-one'?: boolean;
  profile?: boolean;
  'keep-rates'?: boolean;
  'head-only-ab'?: boolean;
  clip?: boolean;
  opset?: string;
  attention?: string;
  shapes?: string;
  tokens?: string;
  'label-free'?: boolean;
  'labelled-plan'?: boolean;
  budget?: string;
  plan?: string;
  'plan-taus'?: string;
  'plan-out'?: string;
  browser?: string;
  gpu?: string;
  only?: string;
  versus?: string;
  keeps?: string;
  select?: string;
  targets?: string;
  help?: boolean;
}

/** A bad command line: printed with the help, exit code 2. */
export class UsageError extends Error {}

export function int(name: string, v: string | undefined, def: number, min = 1): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name}: expected an integer ≥ ${min}, found '${v}'`);
  return n;
}

export function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name}: expected a number, found '${v}'`);
  return n;
}

/** `--budget`: a share of the plain model's GMACs in (0, 1], or undefined when not given. */
export function budgetArg(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new UsageError(`--budget: expected a share of the plain GMACs in (0, 1], found '${v}'`);
  return n;
}

/**
 * The command line as npm users type it, made parseable: a bare `--` is a separator and dropped
 * (`pnpm eval -- --limit 100` hands the `--` through), and a negative number after an option that
 * takes a value is that value (`--tau -1` reads as `--tau=-1`).
 */
export function normalizeArgv(argv: readonly string[], valueOptions: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    const next = argv[i + 1];
    if (next !== undefined && a.startsWith('--') && !a.includes('=') && valueOptions.has(a.slice(2)) && /^-(\d|\.\d)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}
