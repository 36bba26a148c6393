// Bare backbones: a ViT-family model exported as the backbone itself (image-feature-extraction:
// `Dinov2Model`), so Optimum's names have no module scope (`/encoder/layer.{i}/…`, `/embeddings/…`,
// `/layernorm/…`) and the graph outputs per-token features (`last_hidden_state`). Only DINOv2's is
// recognised: its blocks end in `Add_1` (layer scale), which tells it from a bare ViT or DeiT.
import { blockScope, type Scheme } from './spec.js';

/** The scheme of `scoped`'s bare backbone: its names without the module scope, refused without its MLP residual. */
export function bareBackbone(scoped: Scheme, label: string): Scheme {
  const strip = (name: string, prefix: string) => (name.startsWith(prefix) ? name.slice(prefix.length) : name);
  const bare: Scheme = {
    ...scoped,
    scope: '',
    firstInput: strip(scoped.firstInput, scoped.scope),
    headScope: strip(scoped.headScope, scoped.scope),
    width: { ...scoped.width, name: strip(scoped.width.name, `${scoped.scope.slice(1)}.`) },
  };
  const marker = `${blockScope(bare, 0)}/${bare.output}`;
  return {
    ...bare,
    refuse: (index) =>
      index.byName.has(marker)
        ? null
        : { lookedFor: `a bare ${label} backbone ('${marker}'; bare ViT / DeiT backbones are not recognised)`, found: 'blocks without it' },
  };
}
