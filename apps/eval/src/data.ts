import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { RawImage } from '@huggingface/transformers';
import { readImageSet } from '@jmpjs/fixtures';

/** A labelled image set, read lazily. */
export interface Dataset {
  /** Shown in reports. */
  name: string;
  size: number;
  /** Files in class order (an ImageFolder): a subset must be sampled across the classes, not taken from the front. */
  classOrdered?: boolean;
  /** Label of image i as a class index of the model. */
  label(i: number): number;
  image(i: number): Promise<RawImage>;
}

/** The committed image sets of @jmpjs/fixtures ('photo-test', 'photo-calibration', 'fmnist-test', 'fmnist-calibration'). */
export function committedDataset(name: string): Dataset {
  const set = readImageSet(name);
  const per = set.rows * set.cols * set.channels;
  return {
    name,
    size: set.count,
    label: (i) => set.labels[i]!,
    image: async (i) => new RawImage(new Uint8ClampedArray(set.images.subarray(i * per, (i + 1) * per)), set.cols, set.rows, set.channels as 1 | 3),
  };
}

/** Seed of the sample `limitDataset` takes from an ImageFolder. */
export const SAMPLE_SEED = 20261207;

/**
 * The first `limit` images of a committed set (they are in no class order), or, from an ImageFolder
 * (files in class order), a seeded sample spread over the classes: each class's files shuffled
 * (seed {@link SAMPLE_SEED}), then taken class by class in turn until `limit`, kept in file order.
 * `taken` says what was taken.
 */
export function limitDataset(data: Dataset, limit: number): { data: Dataset; taken: string } {
  if (limit >= data.size) return { data, taken: `all ${data.size} images` };
  if (!data.classOrdered) return { data: { ...data, size: limit }, taken: `the first ${limit} of ${data.size} images` };
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < data.size; i++) {
    const l = data.label(i);
    if (!byClass.has(l)) byClass.set(l, []);
    byClass.get(l)!.push(i);
  }
  let x = SAMPLE_SEED >>> 0;
  const next = () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return x;
  };
  const pools = [...byClass.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([label, idx]) => {
      for (let i = idx.length - 1; i > 0; i--) {
        const j = next() % (i + 1);
        [idx[i], idx[j]] = [idx[j]!, idx[i]!];
      }
      return { label, idx, taken: 0 };
    });
  const chosen: number[] = [];
  while (chosen.length < limit) {
    for (const p of pools) {
      if (chosen.length < limit && p.taken < p.idx.length) chosen.push(p.idx[p.taken++]!);
    }
  }
  chosen.sort((a, b) => a - b);
  const counts = pools.map((p) => p.taken);
  return {
    data: { name: data.name, size: limit, label: (i) => data.label(chosen[i]!), image: (i) => data.image(chosen[i]!) },
    taken: `a seeded sample of ${limit} of ${data.size} images spread over ${pools.length} classes (seed ${SAMPLE_SEED}; per class ${Math.min(...counts)}–${Math.max(...counts)})`,
  };
}

const IMAGE = /\.(jpe?g|png|webp|bmp|gif)$/i;

/**
 * An ImageFolder: one sub-folder per class with image files, as ImageNet val is usually kept.
 * Folder names are matched against the model's labels (`label2id`, case-insensitive, also the
 * first comma-separated synonym); if none match, folders are taken in sorted order as class 0, 1, …
 */
export async function imageFolder(root: string, label2id: Record<string, number>): Promise<Dataset> {
  const entries = (await readdir(root, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  if (entries.length === 0) throw new Error(`--data ${root}: expected one sub-folder per class, found none`);
  const byName = new Map<string, number>();
  for (const [name, id] of Object.entries(label2id)) {
    byName.set(name.toLowerCase(), id);
    byName.set(name.split(',')[0]!.trim().toLowerCase(), id);
  }
  const matched = entries.every((e) => byName.has(e.toLowerCase()));
  const files: { file: string; label: number }[] = [];
  for (const [index, dir] of entries.entries()) {
    const label = matched ? byName.get(dir.toLowerCase())! : index;
    for (const f of (await readdir(path.join(root, dir))).sort()) {
      if (IMAGE.test(f)) files.push({ file: path.join(root, dir, f), label });
    }
  }
  if (files.length === 0) throw new Error(`--data ${root}: no JPEG/PNG files in the class folders`);
  return {
    classOrdered: true,
    name: `${path.basename(root)} (ImageFolder, ${entries.length} classes${matched ? ', matched to the model labels' : ', sorted folder order'})`,
    size: files.length,
    label: (i) => files[i]!.label,
    image: (i) => RawImage.read(files[i]!.file),
  };
}

/** `limitDataset`, with what was taken printed: the images a command runs on. */
export function sampled(all: Dataset, limit: number): { data: Dataset; limit: number } {
  const { data, taken } = limitDataset(all, limit);
  console.log(`images: ${taken} of ${all.name}`);
  return { data, limit: data.size };
}
