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
  'tau-token'?: string;
  'latency-runs'?: string;
  out?: string;
  json?: string;
  strategy?: string;
  grid?: string;
  runs?: string;
  batches?: string;
  gate?: string;
  runner?: string;
  'keep-one'?: boolean;
  browser?: string;
  gpu?: string;
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
