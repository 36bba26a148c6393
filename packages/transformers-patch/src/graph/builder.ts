import { DataType, type AttributeProto, type NodeProto, type TensorProto } from '../onnx/proto.js';
import type { GraphLayout } from './layout.js';

/** Small helper that makes nodes and int64 constants for the added ops, at the model's opset. */
export class GraphBuilder {
  readonly initializers: TensorProto[] = [];
  private counter = 0;

  constructor(private readonly layout: GraphLayout) {}

  /** A fresh tensor name. */
  name(base: string): string {
    return `${base}_${this.counter++}`;
  }

  /** An int64 1-D constant (or a scalar with `dims` []); returns its name. */
  int64(values: number[], dims: number[] = [values.length]): string {
    const name = this.name('jmp/const');
    const raw = new Uint8Array(values.length * 8);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    this.initializers.push({ name, dataType: DataType.INT64, dims, rawData: raw });
    return name;
  }

  /** A float32 constant of the given dims; returns its name. */
  float32(values: number[], dims: number[] = [values.length]): string {
    const name = this.name('jmp/constf');
    this.initializers.push({ name, dataType: DataType.FLOAT, dims, rawData: new Uint8Array(Float32Array.from(values).buffer) });
    return name;
  }

  node(opType: string, input: string[], output: string, attribute: AttributeProto[] = []): NodeProto {
    return { opType, input, output: [output], name: `${output}/${opType}`, attribute };
  }

  castToFloat(input: string, output: string): NodeProto {
    return this.layout.floatType === DataType.FLOAT
      ? this.node('Identity', [input], output)
      : this.node('Cast', [input], output, [{ name: 'to', type: 2, i: DataType.FLOAT }]);
  }

  castFromFloat(input: string, output: string): NodeProto {
    return this.layout.floatType === DataType.FLOAT
      ? this.node('Identity', [input], output)
      : this.node('Cast', [input], output, [{ name: 'to', type: 2, i: this.layout.floatType }]);
  }

  unsqueeze(input: string, axes: number[], output: string): NodeProto {
    return this.layout.opset >= 13
      ? this.node('Unsqueeze', [input, this.int64(axes)], output)
      : this.node('Unsqueeze', [input], output, [{ name: 'axes', type: 7, ints: axes }]);
  }

  slice(input: string, starts: number[], ends: number[], axes: number[], output: string): NodeProto {
    return this.node('Slice', [input, this.int64(starts), this.int64(ends), this.int64(axes)], output);
  }

  reduceMean(input: string, axes: number[], output: string): NodeProto {
    const keepdims: AttributeProto = { name: 'keepdims', type: 2, i: 0 };
    return this.layout.opset >= 18
      ? this.node('ReduceMean', [input, this.int64(axes)], output, [keepdims])
      : this.node('ReduceMean', [input], output, [{ name: 'axes', type: 7, ints: axes }, keepdims]);
  }

  reshape(input: string, shape: number[], output: string): NodeProto {
    return this.node('Reshape', [input, this.int64(shape)], output);
  }

  add(a: string, b: string, output: string): NodeProto {
    return this.node('Add', [a, b], output);
  }
}
