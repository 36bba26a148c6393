import type { NodeProto } from '../onnx/proto.js';

/**
 * Where a rewrite goes in a node list: the index of the node that makes `tensor`. A missing
 * producer is an internal error naming the rewrite (`what`).
 */
export function producerIndex(nodes: readonly NodeProto[], tensor: string, what: string): number {
  const at = nodes.findIndex((n) => n.output.includes(tensor));
  if (at < 0) throw new Error(`internal error: no node makes '${tensor}' (${what})`);
  return at;
}

/** The nodes with every input `from` read as `to` instead (nodes that do not read it are kept as they are). */
export function renameInputs(nodes: readonly NodeProto[], from: string, to: string): NodeProto[] {
  return nodes.map((n) => (n.input.includes(from) ? { ...n, input: n.input.map((t) => (t === from ? to : t)) } : n));
}
