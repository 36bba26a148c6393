// jmp's parity test: compiled graph (src/graph/methods/jmp/) = core (@jmpjs/core's methods/jmp/, the
// segments runner) = the independent PyTorch reference (tooling/fixtures/jmp_reference.py).
import { describe, expect, it } from 'vitest';
import { jmpReference } from '../helpers.js';
import { parity } from './parity.js';

parity('jmp');

describe("the reference's JMP cases", () => {
  // the package's default metric ('hidden') and its default pairing on at most 64 patches ('nearest'), on every model
  it.each(['tiny-vit', 'tiny-deit', 'tiny-dinov2', 'tiny-clip', 'tiny-siglip'])('%s has metric hidden and match nearest cases', (name) => {
    const { cases } = jmpReference(name).ref;
    expect(cases.some((c) => c.options.metric === 'hidden' && c.options.match !== 'nearest')).toBe(true);
    expect(cases.some((c) => c.options.match === 'nearest' && c.options.metric !== 'hidden')).toBe(true);
    expect(cases.some((c) => c.options.match === 'nearest' && c.options.metric === 'hidden' && c.options.strategy === 'adaptive-token')).toBe(true);
  });
});
