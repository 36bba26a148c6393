// No imports: shared by the eval CLI (through defaults.ts) and the browser demo (demo/).

/**
 * τ per model, from `pnpm eval calibrate` on a held-out split (never test data). The curves are
 * committed in apps/eval/calibration/<model>/.
 * - `tau`: JMP with head-mean keys (select 'redundancy', strategy 'adaptive-token', at the default
 *   blocks: every second block, or every block from the second on models with at most 64 patches),
 *   the default JMP on models with more than 64 patches; chosen by `calibrate --strategy
 *   adaptive-token --grid 0.50:0.99:0.01` (`--metric keys` on at most 64 patches since keys-per-head
 *   is the default there): the lowest KL to the plain model averaged over the keep rates of −20, −35
 *   and −50 % GMACs (ties: agreement, then the highest τ; `chooseTau`, calibrateJMP's rule); its curve is `file`.
 * - `tauPerHead`: the same with `--metric keys-per-head` (and ToMe's split: `--match bipartite` since
 *   nearest neighbours are the default on at most 64 patches), by the same KL rule (curve
 *   `…-keys-per-head.json`): the ablation's keys-per-head rows. On the 49-patch models the KL falls
 *   to the bottom of the grid or next to it (0.50, 0.51; merge share 100 %).
 * - `tauNearest` (models with at most 64 patches): the same with `--metric keys-per-head --match
 *   nearest` (curve `…-keys-per-head-nearest.json`): the default JMP's τ there (the eval's `jmp` rows
 *   and the ablation's default row).
 * - `tauHidden`: the default JMP's τ (metric 'hidden', the similarity of the token states, with the
 *   library's pairing for the model): `calibrate --metric hidden --match <its pairing>` (curve
 *   `…-hidden-nearest.json` or `…-hidden.json`), by the same KL rule; the eval's `jmp` rows and the
 *   ablation's default row.
 * - `tauSpec`: the paper's rule as reconstructed (select 'attention', strategy 'adaptive').
 */
export const CALIBRATED_TAU: Record<string, { tau?: number; tauSpec: number; tauPerHead?: number; tauNearest?: number; tauHidden?: number; file: string }> = {
  // tauSpec: `calibrate --select attention --grid 0.40:0.99:0.01` picked the lowest τ of its grid
  // (fmnist-deit/calibration-adaptive.json).
  'fmnist-deit': { tau: 0.93, tauSpec: 0.4, tauPerHead: 0.9, tauHidden: 0.86, file: 'fmnist-deit/calibration-redundancy-adaptive-token.json' },
  // the held-out model: only its own calibration split set these, as a user's would; tauSpec from
  // `calibrate --model fmnist-vit --select attention --strategy adaptive --grid -0.2:0.7:0.05`.
  'fmnist-vit': { tau: 0.77, tauSpec: 0.6, tauPerHead: 0.5, tauNearest: 0.8, tauHidden: 0.54, file: 'fmnist-vit/calibration-redundancy-adaptive-token.json' },
  // the held-out model with more than 64 patches (196): likewise only its own calibration split; all
  // three by the KL rule (tauSpec: `calibrate --model fmnist-vit-p2 --select attention --strategy
  // adaptive --grid 0.40:0.99:0.01`, the bottom of its grid; top-1 would have picked 0.57).
  'fmnist-vit-p2': { tau: 0.98, tauSpec: 0.4, tauPerHead: 0.96, tauHidden: 0.9, file: 'fmnist-vit-p2/calibration-redundancy-adaptive-token.json' },
  // the second held-out model with at most 64 patches (trained to confirm a change to that regime's
  // default after fmnist-vit's test rows were read): likewise its own calibration split, by the KL rule
  // (tauSpec: `--select attention --strategy adaptive --grid 0.40:0.99:0.01`, the bottom of its grid).
  'fmnist-vit-d10': {
    tau: 0.89,
    tauSpec: 0.4,
    tauPerHead: 0.51,
    tauNearest: 0.79,
    tauHidden: 0.5,
    file: 'fmnist-vit-d10/calibration-redundancy-adaptive-token.json',
  },
  // the third held-out model with at most 64 patches (trained to confirm the pairing by nearest
  // neighbours after fmnist-vit-d10's test rows were read for it): likewise its own calibration split,
  // by the KL rule (tauSpec: `--select attention --strategy adaptive --grid 0.40:0.99:0.01`).
  'fmnist-vit-w56': {
    tau: 0.85,
    tauSpec: 0.48,
    tauPerHead: 0.78,
    tauNearest: 0.76,
    tauHidden: 0.53,
    file: 'fmnist-vit-w56/calibration-redundancy-adaptive-token.json',
  },
  // the natural-image test bed (docs/natural-images.md). photo-deit, the default model (196 patches):
  // tauHidden from `calibrate --model photo-deit --strategy adaptive-token --grid 0.40:0.96:0.04` (the KL
  // is flat up to 0.80, merge share 100 %; ties: the highest τ; 0.84: 0.003231 against 0.003228), tauSpec from
  // `--select attention --strategy adaptive --grid 0.40:0.96:0.08`. No key-metric τ.
  'photo-deit': { tauSpec: 0.48, tauHidden: 0.8, file: 'photo-deit/calibration-redundancy-adaptive-token.json' },
  // photo-vit, the development model with at most
  // 64 patches: every τ from its own calibration split (photo-calibration), grid 0.40:0.98:0.02, by
  // the KL rule; tauSpec: `--select attention --strategy adaptive`.
  'photo-vit': { tau: 0.52, tauSpec: 0.64, tauPerHead: 0.56, tauHidden: 0.42, file: 'photo-vit/calibration-redundancy-adaptive-token.json' },
  // the development model (its calibration split chooses what fmnist-deit's cannot tell apart);
  // tauSpec from `calibrate --model fmnist-vit-dev --select attention --strategy adaptive --grid 0.40:0.99:0.01`.
  'fmnist-vit-dev': {
    tau: 0.66,
    tauSpec: 0.42,
    tauPerHead: 0.5,
    tauNearest: 0.72,
    tauHidden: 0.66,
    file: 'fmnist-vit-dev/calibration-redundancy-adaptive-token.json',
  },
};

/**
 * The calibrated τ of the default JMP as it runs on a model (its metric and pairing, as `inspectJMP`
 * reports them) and the committed curve it was chosen on; undefined where none was calibrated for them.
 */
export function defaultCalibration(
  entry: (typeof CALIBRATED_TAU)[string],
  info: { metric: string | null; match: string | null },
): { tau: number; file: string } | undefined {
  if (info.metric === 'hidden')
    return entry.tauHidden === undefined
      ? undefined
      : { tau: entry.tauHidden, file: entry.file.replace(/\.json$/, info.match === 'nearest' ? '-hidden-nearest.json' : '-hidden.json') };
  if (info.match === 'nearest')
    return entry.tauNearest === undefined ? undefined : { tau: entry.tauNearest, file: entry.file.replace(/\.json$/, '-keys-per-head-nearest.json') };
  if (info.metric === 'keys-per-head')
    return entry.tauPerHead === undefined ? undefined : { tau: entry.tauPerHead, file: entry.file.replace(/\.json$/, '-keys-per-head.json') };
  return entry.tau === undefined ? undefined : { tau: entry.tau, file: entry.file };
}
