import { RawImage, pipeline } from '@huggingface/transformers';
import { modelPath, xorshift32Bytes } from '@jmpjs/fixtures';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { countSessions } from './hardening/sessions.js';
import { check, flushTally, maxDiff, trial } from './hardening/harness.js';
import { failure, settle, type Settled } from './hardening/calls.js';
import { enableJMP, type JMPOptions } from '../src/index.js';

/**
 * Hardening, zero-shot classification with odd labels (CLIP and SigLIP): no label, one, duplicates,
 * very long ones, unicode (emoji, ZWJ sequences, flags, combining marks, RTL, CJK), empty and
 * whitespace-only strings, control characters and lone surrogates, 100 labels, labels that are not
 * strings, odd hypothesis templates, a batch of images — with the default JMP and with keep = 1.
 *
 * The oracle is the plain pipeline on the same call: where it throws, JMP throws the same error
 * (a fallback: what the plain pipeline does); where it returns, JMP returns the same shape — one
 * list per image, the same labels (as a multiset), finite scores (CLIP's summing to 1 per image,
 * SigLIP's each in (0, 1)) — after running the reduced model, and with keep = 1 the plain scores
 * (1e-5).
 */
countSessions();
vi.setConfig({ testTimeout: 120_000, hookTimeout: 300_000 });

type ZeroShotPipe = ((images: unknown, labels: unknown, options?: unknown) => Promise<unknown>) & { model: unknown; dispose(): Promise<void> };
const MODELS = {
  CLIP: modelPath('tiny-clip'),
  SigLIP: modelPath('tiny-siglip'),
} as const;
type Model = keyof typeof MODELS;
const pipes = {} as Record<Model, ZeroShotPipe>;

const image = (seed: number, w = 40, h = 30) => new RawImage(new Uint8ClampedArray(xorshift32Bytes(seed, w * h * 3)), w, h, 3);
const ONE = image(3);
const BATCH = [image(4), image(5, 64, 20), image(6, 28, 28)];

// [name, labels, images, pipeline options]
const SETS: [string, () => unknown, () => unknown, Record<string, unknown>?][] = [
  ['no label ([])', () => [], () => ONE],
  ['one label', () => ['a photo of a shirt'], () => ONE],
  ['duplicate labels', () => ['shirt', 'shirt', 'bag'], () => ONE],
  ['five times the same label', () => Array(5).fill('boot') as string[], () => ONE],
  ['a very long label (5 000 characters, truncated by the tokenizer)', () => ['x'.repeat(5000)], () => ONE],
  ['a label of 3 000 words beside a short one', () => ['a '.repeat(3000), 'bag'], () => ONE],
  ['100 labels', () => Array.from({ length: 100 }, (_, i) => `a photo of thing ${i}`), () => ONE],
  ['emoji, ZWJ sequences, flags, combining marks', () => ['🐱 cat', '👨‍👩‍👧‍👦 family', '🇫🇷 flag', 'e\u0301te\u0301', 'Ünïcödé'], () => ONE],
  ['RTL and CJK labels', () => ['עברית', 'العربية', '中文标签', '日本語のラベル', '한국어'], () => ONE],
  ['an empty string', () => [''], () => ONE],
  ['empty strings and a label', () => ['', '', 'bag'], () => ONE],
  ['whitespace-only labels', () => ['   ', '\n\t'], () => ONE],
  ['control characters and lone surrogates', () => ['\u0000', '\ud800', '\uffff', '\u200b'], () => ONE],
  ['labels that are not strings (a number, null)', () => [42, null], () => ONE],
  ['a string instead of a list', () => 'a photo of a shirt', () => ONE],
  ['no labels argument (undefined)', () => undefined, () => ONE],
  ['a nested list', () => [['shirt'], 'bag'], () => ONE],
  ["hypothesis_template '{}'", () => ['shirt', 'bag'], () => ONE, { hypothesis_template: '{}' }],
  ['a hypothesis_template without {}', () => ['shirt', 'bag'], () => ONE, { hypothesis_template: 'a photo' }],
  ['an emoji hypothesis_template', () => ['shirt', '🐱'], () => ONE, { hypothesis_template: '🖼️ {} 🖼️' }],
  ['3 images, duplicate and unicode labels', () => ['shirt', 'shirt', '犬', ''], () => BATCH],
];

beforeAll(async () => {
  for (const [name, dir] of Object.entries(MODELS) as [Model, string][]) {
    pipes[name] = (await pipeline('zero-shot-image-classification', dir, { dtype: 'fp32' })) as unknown as ZeroShotPipe;
    await pipes[name](ONE, ['warm-up']); // transformers.js's own tensor-op sessions, before any case counts sessions
  }
});
afterAll(async () => {
  for (const p of Object.values(pipes)) await p.dispose();
  flushTally('zero-shot');
});

type Row = { label: unknown; score: number };

/** One list of {label, score} per image, each sorted by label (then score) for comparisons. */
function rows(out: unknown, images: number): Row[][] {
  const lists = (images > 1 ? out : [out]) as Row[][];
  check(Array.isArray(lists) && lists.length === images && lists.every(Array.isArray), `not one list per image (${images})`);
  return lists.map((list) => [...list].sort((a, b) => String(a.label).localeCompare(String(b.label)) || a.score - b.score));
}

describe.each(Object.keys(MODELS) as Model[])('%s zero-shot', (model) => {
  describe.each<[string, JMPOptions]>([
    ['the default JMP', {}],
    ['keep = 1', { strategy: 'prune', keep: 1 }],
  ])('with %s', (setting, options) => {
    it.each(SETS)('%s: what the plain pipeline does', async (what, labels, images, extra) => {
      await trial('zero-shot', `${model}, ${setting}: ${what}`, async () => {
        const pipe = pipes[model];
        const args = [images(), labels(), ...(extra ? [extra] : [])] as const;
        const plain = await settle(pipe(...args));
        const jmp = await enableJMP(pipe, { ...options, warn: () => {} });
        let reduced: Settled<unknown>;
        let calls: number;
        try {
          reduced = await settle(pipe(...args));
          calls = jmp.stats().calls;
        } finally {
          await jmp.dispose();
        }
        if (!plain.ok) {
          check(!reduced.ok, `the plain pipeline throws (${String(plain.error)}), with JMP it returns`);
          check(String(reduced.error) === String(plain.error), `with JMP: ${String(reduced.error)}; plain: ${String(plain.error)}`);
          return { outcome: 'fallback', detail: `both throw: ${String(plain.error).slice(0, 80)}` };
        }
        check(reduced.ok, `the plain pipeline returns, with JMP it throws: ${failure(reduced)}`);
        check(calls > 0, 'the reduced model did not run');
        const n = Array.isArray(args[0]) ? args[0].length : 1;
        const a = rows(plain.value, n);
        const b = rows((reduced as { value: unknown }).value, n);
        a.forEach((image, i) => {
          const other = b[i]!;
          check(image.length === other.length, `image ${i}: ${other.length} results with JMP, ${image.length} plain`);
          check(
            image.every((r, j) => String(r.label) === String(other[j]!.label)),
            `image ${i}: other labels with JMP`,
          );
          check(
            other.every((r) => Number.isFinite(r.score) && r.score >= 0 && r.score <= 1),
            `image ${i}: scores not in [0, 1]`,
          );
          if (model === 'CLIP') {
            const sum = other.reduce((s, r) => s + r.score, 0);
            check(Math.abs(sum - 1) < 1e-4, `image ${i}: CLIP's scores sum to ${sum}`);
          }
          if (setting === 'keep = 1') {
            const d = maxDiff(
              image.map((r) => r.score),
              other.map((r) => r.score),
            );
            check(d <= 1e-5, `image ${i}: keep 1 scores differ from the plain ones by ${d}`);
          }
        });
        return 'correct';
      });
    });
  });
});
