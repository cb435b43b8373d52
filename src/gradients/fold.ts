/**
 * Constant folding for the shape analysis: the values of the small tensors on a model's shape paths
 * (Shape, Gather, Concat, Unsqueeze, arithmetic on them), as NumPy and the ONNX specification
 * compute them, so that Reshape targets and Slice ranges are known.
 */

import { type Attrs, type Const, DTYPE, type NodeProto, sizeOf, tensorToConst } from './onnx-graph';
import { broadcastShapes, normAxis, type ParamScope, sliceParams } from './params';

/** Tensors up to this many elements are evaluated when their inputs are known. */
export const VALUE_LIMIT = 4096;

/** What folding needs of the analysis: ParamScope and the values found so far. */
export interface FoldScope extends ParamScope {
  value(name: string): Const | undefined;
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

/** Values of small tensors on the shape paths; undefined when an input value is unknown. */
export function evaluate(n: NodeProto, at: Attrs, s: FoldScope, outShape: number[]): Const | undefined {
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

/** The value of a Constant node, from whichever of its attributes it has. */
export function constantAttr(at: Attrs): Const | null {
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
