import { DataType, toNumber, type ModelProto } from '../onnx/proto.js';

/** Index of a graph: which node produces each tensor, nodes by name. */
export interface GraphIndex {
  producer: Map<string, number>;
  byName: Map<string, number>;
  initializers: Set<string>;
}

export function indexGraph(model: ModelProto): GraphIndex {
  const producer = new Map<string, number>();
  const byName = new Map<string, number>();
  model.graph.node.forEach((n, i) => {
    for (const o of n.output) producer.set(o, i);
    if (n.name) byName.set(n.name, i);
  });
  return { producer, byName, initializers: new Set(model.graph.initializer.map((t) => t.name ?? '')) };
}

/** The values of an int64 / int32 constant (initializer or Constant node), or null. */
export function constantInts(model: ModelProto, index: GraphIndex, name: string | undefined): number[] | null {
  if (!name) return null;
  const producer = model.graph.node[index.producer.get(name) ?? -1];
  const tensor =
    model.graph.initializer.find((t) => t.name === name) ??
    (producer?.opType === 'Constant' ? producer.attribute.find((a) => a.name === 'value')?.t : undefined);
  if (!tensor) return null;
  if (tensor.dataType === DataType.INT64) {
    if (tensor.int64Data?.length) return tensor.int64Data.map(toNumber);
    const raw = tensor.rawData;
    if (!raw) return null;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Array.from({ length: raw.byteLength / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
  }
  if (tensor.dataType === DataType.INT32) {
    if (tensor.int32Data?.length) return [...tensor.int32Data];
    const raw = tensor.rawData;
    if (!raw) return null;
    return Array.from(new Int32Array(raw.slice().buffer));
  }
  return null;
}
