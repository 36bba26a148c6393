import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelPath } from '@jmpjs/fixtures';
import { describe, expect, it } from 'vitest';
import {
  ARCHITECTURES,
  SCHEMES,
  SOFTMAX_NAMES_TEXT,
  SUPPORTED_MODEL_TYPES,
  SUPPORTED_MODEL_TYPES_TEXT,
  architecture,
  blockScope,
  isArchitecture,
  softmaxBlock,
} from '../src/graph/architectures/index.js';
import { indexGraph } from '../src/graph/graph-index.js';
import { findLayout } from '../src/graph/layout.js';
import { shapeFromConfig } from '../src/graph/model-shape.js';
import { UnsupportedModelError } from '../src/index.js';
import { decodeModel } from '../src/onnx/proto.js';

/**
 * The architectures, one file each under src/graph/architectures: the registry lists exactly the
 * backbones the detector finds in the fixtures, every fixture is detected as its config's
 * model_type by one of its architecture's schemes, and the files stay small.
 */
const fixtures = readdirSync(path.dirname(modelPath('tiny-vit'))).filter((name) => existsSync(`${modelPath(name)}/onnx/model.onnx`));
const config = (name: string) => JSON.parse(readFileSync(`${modelPath(name)}/config.json`, 'utf8')) as Record<string, unknown>;
const model = (name: string) => decodeModel(readFileSync(`${modelPath(name)}/onnx/model.onnx`));

describe('architectures', { timeout: 60_000 }, () => {
  it('the registry derives the supported model types, in its order', () => {
    expect(SUPPORTED_MODEL_TYPES).toEqual(ARCHITECTURES.map((a) => a.name));
    expect(new Set(SUPPORTED_MODEL_TYPES).size).toBe(SUPPORTED_MODEL_TYPES.length);
    expect(SUPPORTED_MODEL_TYPES_TEXT).toBe("a ViT-family model (config.model_type 'vit', 'deit', 'dinov2', 'clip', 'siglip' or 'depth_anything')");
    for (const type of SUPPORTED_MODEL_TYPES) expect(isArchitecture(type) && architecture(type).name).toBe(type);
    for (const type of ['resnet', 'beit', 'swin', 'toString', undefined, 3]) expect(isArchitecture(type)).toBe(false);
  });

  it('every fixture of a supported model_type is detected as it; the detected set is exactly the registry', () => {
    const detected = new Set<string>();
    for (const name of fixtures) {
      const type = config(name).model_type;
      if (!isArchitecture(type)) {
        expect(() => findLayout(model(name)), name).toThrow(SOFTMAX_NAMES_TEXT);
        continue;
      }
      const layout = findLayout(model(name));
      expect(layout.root, name).toBe(type);
      detected.add(layout.root);
      // config → shape agrees with the graph (width, depth, model_type)
      const { shape } = shapeFromConfig(config(name), layout);
      expect(shape.hidden, name).toBe(layout.hidden);
      expect(shape.depth, name).toBe(layout.blocks.length);
    }
    expect([...detected].sort()).toEqual([...SUPPORTED_MODEL_TYPES].sort());
  });

  it("each fixture's Softmax names fit exactly one scheme, its architecture's, and its blocks' scopes", () => {
    for (const name of fixtures) {
      const type = config(name).model_type;
      if (!isArchitecture(type)) continue;
      const proto = model(name);
      const index = indexGraph(proto);
      const layout = findLayout(proto);
      const fitting = SCHEMES.filter(
        ({ scheme }) => layout.blocks.every((b) => softmaxBlock(scheme, b.softmax) === b.index) && (scheme.accepts?.(index) ?? true),
      );
      expect(
        fitting.map((s) => s.architecture),
        name,
      ).toEqual([type]);
      const scheme = fitting[0]!.scheme;
      expect(architecture(type).schemes).toContain(scheme);
      for (const b of layout.blocks) expect(b.softmax, name).toBe(`${blockScope(scheme, b.index)}/${scheme.softmax}`);
      // the bare backbone (image-feature-extraction) has no scope, and per-token features
      expect(scheme.scope === '', name).toBe(layout.perTokenOutput !== null && !proto.graph.node.some((n) => (n.name ?? '').startsWith(`/${type}/`)));
    }
  });

  it("the architecture's inputs and segments runner: zero-shot models (text inputs) and dense necks are refused by the segments runner", () => {
    for (const name of fixtures) {
      const type = config(name).model_type;
      if (!isArchitecture(type)) continue;
      const spec = architecture(type);
      const textInputs = model(name).graph.input.some((v) => v.name === 'input_ids');
      expect(spec.io === 'zero-shot', name).toBe(textInputs);
      expect(spec.runners.segments !== null, name).toBe(textInputs || spec.io === 'dense');
    }
  });

  it('a bare backbone other than DINOv2 is refused with what the bare scheme looked for', () => {
    const proto = model('tiny-vit');
    const strip = (s: string) => s.replace(/^\/vit\//, '/');
    for (const n of proto.graph.node) n.name = strip(n.name ?? '');
    const error = (() => {
      try {
        findLayout(proto);
      } catch (e) {
        return e;
      }
    })();
    expect(UnsupportedModelError.isInstance(error)).toBe(true);
    expect((error as UnsupportedModelError).lookedFor).toBe("a bare DINOv2 backbone ('/encoder/layer.0/Add_1'; bare ViT / DeiT backbones are not recognised)");
  });

  it('every file under src/graph has at most 400 lines', () => {
    const root = fileURLToPath(new URL('../src/graph/', import.meta.url));
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
      );
    const long = files(root)
      .map((f) => ({ file: path.relative(root, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > 400);
    expect(long).toEqual([]);
  });
});
