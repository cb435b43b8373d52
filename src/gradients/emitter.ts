/**
 * Writes the nodes and constants of the backward graph. Every op it writes is a standard
 * `ai.onnx` op in the form the model's own opset defines (axes as attributes or inputs as the
 * opset says), so the forward nodes stay valid as they are.
 */

import { type Const, constToTensor, DTYPE, type NodeProto, onnx, type TensorProto } from './onnx-graph';

export type AttrSpec =
  | ['i', number]
  | ['f', number]
  | ['ints', number[]]
  | ['s', string]
  | ['t', TensorProto];

function attribute(name: string, spec: AttrSpec): onnxAttr {
  const T = onnx.AttributeProto.AttributeType;
  switch (spec[0]) {
    case 'i':
      return onnx.AttributeProto.create({ name, type: T.INT, i: spec[1] });
    case 'f':
      return onnx.AttributeProto.create({ name, type: T.FLOAT, f: spec[1] });
    case 'ints':
      return onnx.AttributeProto.create({ name, type: T.INTS, ints: spec[1] });
    case 's':
      return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(spec[1]) });
    case 't':
      return onnx.AttributeProto.create({ name, type: T.TENSOR, t: spec[1] });
  }
}
type onnxAttr = ReturnType<typeof onnx.AttributeProto.create>;

export class Emitter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private count = 0;
  private readonly cache = new Map<string, string>();

  /**
   * @param opset the model's default opset version (11 or later)
   * @param taken every name the model already uses; new names never collide with them
   */
  constructor(
    readonly opset: number,
    private readonly taken: Set<string>,
  ) {}

  fresh(hint: string): string {
    let name: string;
    do name = `grad/${hint}_${this.count++}`;
    while (this.taken.has(name));
    this.taken.add(name);
    return name;
  }

  /** Appends a node and returns its first output's name. */
  node(op: string, inputs: string[], attrs: Record<string, AttrSpec> = {}): string {
    const out = this.fresh(op);
    this.nodes.push(
      onnx.NodeProto.create({
        opType: op,
        name: out,
        input: inputs,
        output: [out],
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return out;
  }

  /** A constant initializer; equal constants are written once. */
  constant(c: Const): string {
    const key = `${c.dtype}|${c.dims}|${c.data.length <= 64 ? c.data.join(',') : Math.random()}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const name = this.fresh('const');
    this.initializers.push(constToTensor(name, c));
    this.cache.set(key, name);
    return name;
  }

  scalar(v: number): string {
    return this.constant({ dtype: DTYPE.FLOAT, dims: [], data: [v] });
  }

  ints(values: number[]): string {
    return this.constant({ dtype: DTYPE.INT64, dims: [values.length], data: values });
  }

  floats(dims: number[], data: number[]): string {
    return this.constant({ dtype: DTYPE.FLOAT, dims, data });
  }

  /** `Shape(x)`, written once per tensor. */
  shapeOf(x: string): string {
    const key = `shape|${x}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const s = this.node('Shape', [x]);
    this.cache.set(key, s);
    return s;
  }

  /** `g` reshaped to the runtime shape of `like`. */
  reshapeLike(g: string, like: string): string {
    return this.node('Reshape', [g, this.shapeOf(like)]);
  }

  reshape(x: string, dims: number[]): string {
    return this.node('Reshape', [x, this.ints(dims)]);
  }

  reduceSum(x: string, axes: number[], keepdims: boolean): string {
    if (this.opset >= 13)
      return this.node('ReduceSum', [x, this.ints(axes)], { keepdims: ['i', keepdims ? 1 : 0] });
    return this.node('ReduceSum', [x], { axes: ['ints', axes], keepdims: ['i', keepdims ? 1 : 0] });
  }

  reduceMean(x: string, axes: number[], keepdims: boolean): string {
    if (this.opset >= 18)
      return this.node('ReduceMean', [x, this.ints(axes)], { keepdims: ['i', keepdims ? 1 : 0] });
    return this.node('ReduceMean', [x], { axes: ['ints', axes], keepdims: ['i', keepdims ? 1 : 0] });
  }

  unsqueeze(x: string, axes: number[]): string {
    if (this.opset >= 13) return this.node('Unsqueeze', [x, this.ints(axes)]);
    return this.node('Unsqueeze', [x], { axes: ['ints', axes] });
  }

  slice(x: string, starts: number[], ends: number[], axes: number[], steps?: number[]): string {
    const inputs = [x, this.ints(starts), this.ints(ends), this.ints(axes)];
    if (steps) inputs.push(this.ints(steps));
    return this.node('Slice', inputs);
  }

  /** Constant-mode Pad with non-negative [begin…, end…] pads over all axes. */
  pad(x: string, pads: number[], value = 0): string {
    if (pads.every((p) => p === 0)) return x;
    return this.node('Pad', [x, this.ints(pads), this.scalar(value)], { mode: ['s', 'constant'] });
  }

  add(a: string, b: string): string {
    return this.node('Add', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.node('Sub', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.node('Mul', [a, b]);
  }
  div(a: string, b: string): string {
    return this.node('Div', [a, b]);
  }

  /** Sum of gradient contributions (one name passes through unchanged). */
  sum(parts: string[]): string {
    if (parts.length === 1) return parts[0];
    return this.node('Sum', parts);
  }
}
