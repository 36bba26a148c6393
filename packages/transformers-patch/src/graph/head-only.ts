import type { NodeProto } from '../onnx/proto.js';
import type { GraphBuilder } from './builder.js';
import { producerIndex, renameInputs } from './splice.js';

/**
 * The last block's MLP on the protected tokens only: a Slice of the first `P` tokens right after
 * the node that makes `tensor` (the last block's attention residual, reduced or not), and every
 * later reader of `tensor` reads the slice. Only for graphs whose head reads nothing but those
 * tokens (`GraphLayout.headReadsProtectedOnly`): the logits are then the same.
 */
export function sliceHeadTokens(nodes: readonly NodeProto[], tensor: string, P: number, b: GraphBuilder): NodeProto[] {
  const at = producerIndex(nodes, tensor, 'head-only slice');
  const sliced = b.name('jmp/head_tokens');
  const slice = b.slice(tensor, [0], [P], [1], sliced);
  return [...nodes.slice(0, at + 1), slice, ...renameInputs(nodes.slice(at + 1), tensor, sliced)];
}
