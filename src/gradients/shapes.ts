/**
 * Shape inference for the reverse pass, at one concrete batch size, with the small integer and
 * float tensors of the shape paths evaluated on the way (the ViT computes its Reshape targets from
 * `Shape(input)`). The pass runs it at two batch sizes and calls a dimension batch-dependent when
 * the two disagree. Output shapes follow the ONNX operator specification (opset 11 to 21).
 */

import {
  Attrs,
  type Const,
  DTYPE,
  GradientUnsupportedError,
  type ModelProto,
  type NodeProto,
  sizeOf,
  tensorToConst,
} from './onnx-graph';

/** Tensors up to this many elements are evaluated when their inputs are known. */
const VALUE_LIMIT = 4096;

export interface Analysis {
  shapes: Map<string, number[]>;
  values: Map<string, Const>;
}

export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1)
      throw new GradientUnsupportedError(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

function strides(dims: readonly number[]): number[] {
  const s = new Array(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/** Element-wise op on broadcast constants. */
function broadcastEval(inputs: Const[], f: (...v: number[]) => number, dtype: number): Const {
  const dims = inputs.map((c) => c.dims).reduce((a, b) => broadcastShapes(a, b));
  const n = sizeOf(dims);
  const st = inputs.map((c) => {
    const pad = [...new Array(dims.length - c.dims.length).fill(1), ...c.dims];
    const s = strides(pad);
    return pad.map((d, i) => (d === 1 ? 0 : s[i]));
  });
  const outSt = strides(dims);
  const data = new Array(n);
  for (let i = 0; i < n; i++) {
    const args = inputs.map((c, k) => {
      let off = 0;
      let rem = i;
      for (let d = 0; d < dims.length; d++) {
        const q = Math.floor(rem / outSt[d]);
        rem -= q * outSt[d];
        off += q * st[k][d];
      }
      return c.data[off];
    });
    data[i] = f(...args);
  }
  return { dtype, dims, data };
}

function normAxis(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw new GradientUnsupportedError(`${what}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Resolved Slice parameters per axis: start, step and element count (ONNX clamping rules). */
export interface SliceAxis {
  axis: number;
  start: number;
  step: number;
  count: number;
}

export function resolveSlice(
  dims: readonly number[],
  starts: number[],
  ends: number[],
  axes: number[],
  steps: number[],
): SliceAxis[] {
  return starts.map((s0, i) => {
    const axis = normAxis(axes[i], dims.length, 'Slice');
    const d = dims[axis];
    const step = steps[i];
    if (step === 0) throw new GradientUnsupportedError('Slice with step 0');
    let s = s0 < 0 ? s0 + d : s0;
    let e = ends[i] < 0 ? ends[i] + d : ends[i];
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
    }
    const count = Math.max(0, Math.ceil((e - s) / step));
    return { axis, start: s, step, count };
  });
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

/** Slice inputs (opset ≥ 10) or attributes (older). */
export function sliceParams(
  node: NodeProto,
  at: Attrs,
  scope: Pick<Scope, 'ints' | 'shape' | 'opset'>,
): SliceAxis[] {
  const inp = node.input ?? [];
  const dims = scope.shape(inp[0]);
  let starts: number[];
  let ends: number[];
  let axes: number[];
  let steps: number[];
  if (scope.opset < 10) {
    starts = at.ints('starts', []);
    ends = at.ints('ends', []);
    axes = at.ints(
      'axes',
      starts.map((_, i) => i),
    );
    steps = starts.map(() => 1);
  } else {
    starts = scope.ints(inp[1], 'Slice starts');
    ends = scope.ints(inp[2], 'Slice ends');
    axes = inp[3] ? scope.ints(inp[3], 'Slice axes') : starts.map((_, i) => i);
    steps = inp[4] ? scope.ints(inp[4], 'Slice steps') : starts.map(() => 1);
  }
  return resolveSlice(dims, starts, ends, axes, steps);
}

/** Unsqueeze/Squeeze/Reduce axes: an attribute before `inputFrom`, the second input from then on. */
export function axesParam(
  node: NodeProto,
  at: Attrs,
  scope: Pick<Scope, 'ints' | 'opset'>,
  inputFrom: number,
): number[] | undefined {
  if (scope.opset < inputFrom) return at.has('axes') ? at.ints('axes', []) : undefined;
  const name = node.input?.[1];
  return name ? scope.ints(name, `${node.opType} axes`) : undefined;
}

/** Explicit [begin…, end…] pads of a Conv/pool node, resolving auto_pad against the input size. */
export function convPads(
  at: Attrs,
  inSpatial: number[],
  kernel: number[],
  stridesV: number[],
  dil: number[],
): number[] {
  const autoPad = at.string('auto_pad', 'NOTSET');
  const r = inSpatial.length;
  if (autoPad === 'NOTSET') return at.ints('pads', new Array(2 * r).fill(0));
  if (autoPad === 'VALID') return new Array(2 * r).fill(0);
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < r; i++) {
    const out = Math.ceil(inSpatial[i] / stridesV[i]);
    const total = Math.max(0, (out - 1) * stridesV[i] + (kernel[i] - 1) * dil[i] + 1 - inSpatial[i]);
    const small = Math.floor(total / 2);
    if (autoPad === 'SAME_UPPER') {
      begin.push(small);
      end.push(total - small);
    } else {
      begin.push(total - small);
      end.push(small);
    }
  }
  return [...begin, ...end];
}

/** Spatial output size of a Conv/pool window along one axis. */
export function windowOut(
  size: number,
  k: number,
  s: number,
  d: number,
  pb: number,
  pe: number,
  ceil: boolean,
): number {
  const span = size + pb + pe - d * (k - 1) - 1;
  return (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
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
  const keep = at.int('keepdims', 1) === 1;
  const set = new Set(
    (axes && axes.length > 0 ? axes : x.map((_, i) => i)).map((a) => normAxis(a, x.length, n.opType ?? '')),
  );
  return [keep ? x.map((d, i) => (set.has(i) ? 1 : d)) : x.filter((_, i) => !set.has(i))];
}

/** Values of small tensors on the shape paths; undefined when an input value is unknown. */
function evaluate(n: NodeProto, at: Attrs, s: Scope, outShape: number[]): Const | undefined {
  const inp = n.input ?? [];
  if (n.opType === 'Shape') {
    const r = s.shape(inp[0]);
    const b = at.int('start', 0);
    const start = b < 0 ? b + r.length : b;
    return { dtype: DTYPE.INT64, dims: outShape, data: r.slice(start, start + outShape[0]) };
  }
  if (n.opType === 'Constant') return undefined;
  const vals = inp.map((i) => (i ? s.value(i) : undefined));
  if (inp.length === 0 || vals.some((v, i) => inp[i] && !v) || sizeOf(outShape) > VALUE_LIMIT)
    return undefined;
  const v = vals as Const[];
  const ew = (f: (...x: number[]) => number, dtype = v[0].dtype) => broadcastEval(v, f, dtype);
  switch (n.opType) {
    case 'Identity':
    case 'Unsqueeze':
    case 'Squeeze':
    case 'Reshape':
    case 'Flatten':
      return { dtype: v[0].dtype, dims: outShape, data: v[0].data };
    case 'Cast': {
      const to = at.int('to', DTYPE.FLOAT);
      const isInt = to === DTYPE.INT64 || to === DTYPE.INT32;
      return { dtype: to, dims: outShape, data: v[0].data.map((x) => (isInt ? Math.trunc(x) : x)) };
    }
    case 'Add':
      return ew((a, b) => a + b);
    case 'Sub':
      return ew((a, b) => a - b);
    case 'Mul':
      return ew((a, b) => a * b);
    case 'Div':
      return ew((a, b) =>
        v[0].dtype === DTYPE.FLOAT || v[0].dtype === DTYPE.DOUBLE ? a / b : Math.trunc(a / b),
      );
    case 'Equal':
      return ew((a, b) => (a === b ? 1 : 0), DTYPE.BOOL);
    case 'Where':
      return broadcastEval([v[0], v[1], v[2]], (c, a, b) => (c ? a : b), v[1].dtype);
    case 'Expand':
      return broadcastEval(
        [v[0], { dtype: v[0].dtype, dims: outShape, data: new Array(sizeOf(outShape)).fill(0) }],
        (a) => a,
        v[0].dtype,
      );
    case 'ConstantOfShape': {
      const t = at.map.get('value');
      const fill =
        t && typeof t === 'object' && !Array.isArray(t)
          ? (tensorToConst(t, 1) ?? { dtype: DTYPE.FLOAT, dims: [1], data: [0] })
          : { dtype: DTYPE.FLOAT, dims: [1], data: [0] };
      return { dtype: fill.dtype, dims: outShape, data: new Array(sizeOf(outShape)).fill(fill.data[0]) };
    }
    case 'Concat': {
      const axis = normAxis(at.int('axis', 0), outShape.length, 'Concat');
      const outer = sizeOf(outShape.slice(0, axis));
      const data: number[] = [];
      for (let o = 0; o < outer; o++) {
        for (const c of v) {
          const inner = sizeOf(c.dims.slice(axis));
          data.push(...c.data.slice(o * inner, (o + 1) * inner));
        }
      }
      return { dtype: v[0].dtype, dims: outShape, data };
    }
    case 'Gather': {
      const x = v[0];
      const axis = normAxis(at.int('axis', 0), x.dims.length, 'Gather');
      const outer = sizeOf(x.dims.slice(0, axis));
      const inner = sizeOf(x.dims.slice(axis + 1));
      const d = x.dims[axis];
      const data: number[] = [];
      for (let o = 0; o < outer; o++) {
        for (const i of v[1].data) {
          const k = i < 0 ? i + d : i;
          data.push(...x.data.slice((o * d + k) * inner, (o * d + k + 1) * inner));
        }
      }
      return { dtype: x.dtype, dims: outShape, data };
    }
    case 'Slice': {
      if (v[0].dims.length !== 1) return undefined;
      const [p] = sliceParams(n, at, s);
      const data: number[] = [];
      for (let k = 0; k < p.count; k++) data.push(v[0].data[p.start + k * p.step]);
      return { dtype: v[0].dtype, dims: outShape, data };
    }
    default:
      return undefined;
  }
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

function constantAttr(at: Attrs): Const | null {
  const t = at.map.get('value');
  if (t && typeof t === 'object' && !Array.isArray(t)) return tensorToConst(t);
  if (at.has('value_float')) return { dtype: DTYPE.FLOAT, dims: [], data: [at.float('value_float', 0)] };
  if (at.has('value_int')) return { dtype: DTYPE.INT64, dims: [], data: [at.int('value_int', 0)] };
  const floats = at.map.get('value_floats');
  if (Array.isArray(floats)) return { dtype: DTYPE.FLOAT, dims: [floats.length], data: floats };
  const ints = at.map.get('value_ints');
  if (Array.isArray(ints)) return { dtype: DTYPE.INT64, dims: [ints.length], data: ints };
  return null;
}
