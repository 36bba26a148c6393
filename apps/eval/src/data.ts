import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { RawImage } from '@huggingface/transformers';
import { readImageSet } from '@jmpjs/fixtures';

/** A labelled image set, read lazily. */
export interface Dataset {
  /** Shown in reports. */
  name: string;
  size: number;
  /** Label of image i as a class index of the model. */
  label(i: number): number;
  image(i: number): Promise<RawImage>;
}

/** The committed image sets of @jmpjs/fixtures ('fmnist-test', 'fmnist-calibration'). */
export function committedDataset(name: string): Dataset {
  const set = readImageSet(name);
  const per = set.rows * set.cols;
  return {
    name,
    size: set.count,
    label: (i) => set.labels[i]!,
    image: async (i) => new RawImage(new Uint8ClampedArray(set.images.subarray(i * per, (i + 1) * per)), set.cols, set.rows, 1),
  };
}

const IMAGE = /\.(jpe?g|png|webp|bmp|gif)$/i;

/**
 * An ImageFolder: one sub-folder per class with image files, as ImageNet val is usually kept.
 * Folder names are matched against the model's labels (`label2id`, case-insensitive, also the
 * first comma-separated synonym); if none match, folders are taken in sorted order as class 0, 1, …
 */
export async function imageFolder(root: string, label2id: Record<string, number>): Promise<Dataset> {
  const entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
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
    name: `${path.basename(root)} (ImageFolder, ${entries.length} classes${matched ? ', matched to the model labels' : ', sorted folder order'})`,
    size: files.length,
    label: (i) => files[i]!.label,
    image: (i) => RawImage.read(files[i]!.file),
  };
}
