/**
 * Shape inference for the reverse pass, at one concrete batch size, with the small integer and
 * float tensors of the shape paths evaluated on the way (the ViT computes its Reshape targets from
 * `Shape(input)`). The pass runs it at two batch sizes and calls a dimension batch-dependent when
 * the two disagree. Output shapes follow the ONNX operator specification (opset 11 to 21).
 */

import { constantAttr, evaluate, VALUE_LIMIT } from './fold';
import {
  Attrs,
  type Const,
  GradientUnsupportedError,
  type ModelProto,
  type NodeProto,
  sizeOf,
  tensorToConst,
} from './onnx-graph';
import { axesParam, broadcastShapes, convPads, normAxis, sliceParams, windowOut } from './params';

export interface Analysis {
  shapes: Map<string, number[]>;
  values: Map<string, Const>;
}

/** The model's view of the analysis: input values and shapes by name. */
class Scope {
  constructor(
    readonly a: Analysis,
    readonly opset: number,
  ) {}
  shape(name: string): number[] {
    const s = this.a.shapes.get(name);
    if (!s) throw new GradientUnsupportedError(`the shape of tensor "${name}" could not be determined`);
    return s;
  }
  value(name: string): Const | undefined {
    return this.a.values.get(name);
  }
  ints(name: string | undefined, what: string): number[] {
    if (!name) throw new GradientUnsupportedError(`${what} is missing`);
    const v = this.value(name);
    if (!v)
      throw new GradientUnsupportedError(
        `${what} ("${name}") is computed from the input; only constant values are supported`,
      );
    return v.data;
  }
}

type ShapeRule = (node: NodeProto, at: Attrs, s: Scope) => number[][];

const same: ShapeRule = (n, _a, s) => [s.shape(n.input?.[0] ?? '')];
const broadcastAll: ShapeRule = (n, _a, s) => [
  (n.input ?? []).map((i) => s.shape(i)).reduce((a, b) => broadcastShapes(a, b)),
];

function windowed(n: NodeProto, at: Attrs, s: Scope, channels: number): number[][] {
  const x = s.shape(n.input?.[0] ?? '');
  const k = n.opType === 'Conv' ? s.shape(n.input?.[1] ?? '').slice(2) : at.ints('kernel_shape', []);
  const r = x.length - 2;
  const st = at.ints('strides', new Array(r).fill(1));
  const dil = at.ints('dilations', new Array(r).fill(1));
  const pads = convPads(at, x.slice(2), k, st, dil);
  const ceil = at.int('ceil_mode', 0) === 1;
  const out = x.slice(2).map((d, i) => windowOut(d, k[i], st[i], dil[i], pads[i], pads[i + r], ceil));
  return [[x[0], channels, ...out]];
}

const SHAPES: Record<string, ShapeRule> = {
  Identity: same,
  Relu: same,
  LeakyRelu: same,
  Sigmoid: same,
  Tanh: same,
  Erf: same,
  Gelu: same,
  Softmax: same,
  Neg: same,
  Exp: same,
  Sqrt: same,
  Clip: same,
  Cast: same,
  Dropout: same,
  LayerNormalization: same,
  BatchNormalization: same,
  Add: broadcastAll,
  Sub: broadcastAll,
  Mul: broadcastAll,
  Div: broadcastAll,
  Pow: broadcastAll,
  Equal: broadcastAll,
  Greater: broadcastAll,
  Less: broadcastAll,
  Where: broadcastAll,
  Conv: (n, at, s) => windowed(n, at, s, s.shape(n.input?.[1] ?? '')[0]),
  MaxPool: (n, at, s) => windowed(n, at, s, s.shape(n.input?.[0] ?? '')[1]),
  AveragePool: (n, at, s) => windowed(n, at, s, s.shape(n.input?.[0] ?? '')[1]),
  GlobalAveragePool: (n, _a, s) => {
    const x = s.shape(n.input?.[0] ?? '');
    return [[x[0], x[1], ...x.slice(2).map(() => 1)]];
  },
  Gemm: (n, at, s) => {
    const a = s.shape(n.input?.[0] ?? '');
    const b = s.shape(n.input?.[1] ?? '');
    return [[at.int('transA', 0) ? a[1] : a[0], at.int('transB', 0) ? b[0] : b[1]]];
  },
  MatMul: (n, _a, s) => {
    const a = s.shape(n.input?.[0] ?? '');
    const b = s.shape(n.input?.[1] ?? '');
    if (a.length < 2 || b.length < 2) throw new GradientUnsupportedError('MatMul with a 1-D operand');
    const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
    return [[...batch, a[a.length - 2], b[b.length - 1]]];
  },
  Flatten: (n, at, s) => {
    const x = s.shape(n.input?.[0] ?? '');
    const axis = at.int('axis', 1);
    const k = axis < 0 ? axis + x.length : axis;
    return [[sizeOf(x.slice(0, k)), sizeOf(x.slice(k))]];
  },
  Reshape: (n, at, s) => {
    const x = s.shape(n.input?.[0] ?? '');
    const target = s.ints(n.input?.[1], 'Reshape shape');
    const allowZero = at.int('allowzero', 0) === 1;
    const out = target.map((d, i) => (d === 0 && !allowZero ? x[i] : d));
    const minus = out.indexOf(-1);
    if (minus >= 0) out[minus] = sizeOf(x) / sizeOf(out.filter((_, i) => i !== minus));
    if (!Number.isInteger(out[minus] ?? 0) || sizeOf(out) !== sizeOf(x))
      throw new GradientUnsupportedError(`Reshape of [${x}] to [${target}] does not keep the element count`);
    return [out];
  },
  Transpose: (n, at, s) => {
    const x = s.shape(n.input?.[0] ?? '');
    const perm = at.ints(
      'perm',
      x.map((_, i) => x.length - 1 - i),
    );
    return [perm.map((p) => x[p])];
  },
  Unsqueeze: (n, at, s) => {
    const x = s.shape(n.input?.[0] ?? '');
    const axes = axesParam(n, at, s, 13) ?? [];
    const r = x.length + axes.length;
    const set = new Set(axes.map((a) => normAxis(a, r, 'Unsqueeze')));
    const out: number[] = [];
    let j = 0;
    for (let i = 0; i < r; i++) out.push(set.has(i) ? 1 : x[j++]);
    return [out];
  },
  Squeeze: (n, at, s) => {
    const x = s.shape(n.input?.[0] ?? '');
    const axes = axesParam(n, at, s, 13);
    const set = new Set(
      (axes ?? x.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, x.length, 'Squeeze')),
    );
    return [x.filter((_, i) => !set.has(i))];
  },
  Concat: (n, at, s) => {
    const shapes = (n.input ?? []).map((i) => s.shape(i));
    const axis = normAxis(at.int('axis', 0), shapes[0].length, 'Concat');
    const out = [...shapes[0]];
    out[axis] = shapes.reduce((t, sh) => t + sh[axis], 0);
    return [out];
  },
  Slice: (n, at, s) => {
    const out = [...s.shape(n.input?.[0] ?? '')];
    for (const p of sliceParams(n, at, s)) out[p.axis] = p.count;
    return [out];
  },
  Pad: (n, at, s) => {
    const x = s.shape(n.input?.[0] ?? '');
    const pads = s.opset < 11 ? at.ints('pads', []) : s.ints(n.input?.[1], 'Pad pads');
    if (s.opset >= 18 && n.input?.[3]) throw new GradientUnsupportedError('Pad with an axes input');
    return [x.map((d, i) => d + pads[i] + pads[i + x.length])];
  },
  Gather: (n, at, s) => {
    const x = s.shape(n.input?.[0] ?? '');
    const idx = s.shape(n.input?.[1] ?? '');
    const axis = normAxis(at.int('axis', 0), x.length, 'Gather');
    return [[...x.slice(0, axis), ...idx, ...x.slice(axis + 1)]];
  },
  Shape: (n, at, s) => {
    const r = s.shape(n.input?.[0] ?? '').length;
    const start = at.int('start', 0);
    const end = at.int('end', r);
    const b = Math.min(Math.max(start < 0 ? start + r : start, 0), r);
    const e = Math.min(Math.max(end < 0 ? end + r : end, 0), r);
    return [[Math.max(0, e - b)]];
  },
  Expand: (n, _a, s) => [broadcastShapes(s.shape(n.input?.[0] ?? ''), s.ints(n.input?.[1], 'Expand shape'))],
  ConstantOfShape: (n, _a, s) => [s.ints(n.input?.[0], 'ConstantOfShape shape')],
  ReduceMean: reduceShape,
  ReduceSum: reduceShape,
};

function reduceShape(n: NodeProto, at: Attrs, s: Scope): number[][] {
  const x = s.shape(n.input?.[0] ?? '');
  const axes = axesParam(n, at, s, n.opType === 'ReduceSum' ? 13 : 18);
  if ((!axes || axes.length === 0) && at.int('noop_with_empty_axes', 0) === 1) return [x];
  const keep = at.int('keepdims', 1) === 1;
  const set = new Set(
    (axes && axes.length > 0 ? axes : x.map((_, i) => i)).map((a) => normAxis(a, x.length, n.opType ?? '')),
  );
  return [keep ? x.map((d, i) => (set.has(i) ? 1 : d)) : x.filter((_, i) => !set.has(i))];
}

/**
 * Shapes of every tensor the model computes (and values of the small ones) for a given input
 * shape. Nodes of op types without a shape rule leave their outputs unknown; the reverse pass
 * refuses only when it needs one of them.
 */
export function analyse(
  model: ModelProto,
  nodes: readonly NodeProto[],
  opset: number,
  inputs: Map<string, number[]>,
): Analysis {
  const a: Analysis = { shapes: new Map(inputs), values: new Map() };
  const scope = new Scope(a, opset);
  for (const t of model.graph?.initializer ?? []) {
    const name = t.name ?? '';
    a.shapes.set(name, (t.dims ?? []).map(Number));
    const c = tensorToConst(t, VALUE_LIMIT);
    if (c) a.values.set(name, c);
  }
  for (const n of nodes) {
    const at = new Attrs(n);
    const out = n.output ?? [];
    if (n.opType === 'Constant') {
      const c = constantAttr(at);
      if (c) {
        a.shapes.set(out[0], c.dims);
        if (sizeOf(c.dims) <= VALUE_LIMIT) a.values.set(out[0], c);
      }
      continue;
    }
    const rule = SHAPES[n.opType ?? ''];
    if (!rule || (n.domain && n.domain !== 'ai.onnx')) continue;
    let shapes: number[][];
    try {
      shapes = rule(n, at, scope);
    } catch (e) {
      if (e instanceof GradientUnsupportedError) continue;
      throw e;
    }
    shapes.forEach((sh, i) => {
      if (out[i]) a.shapes.set(out[i], sh);
    });
    const v = evaluate(n, at, scope, shapes[0]);
    if (v) a.values.set(out[0], v);
  }
  return a;
}
