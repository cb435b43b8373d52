/**
 * Node parameters the shape inference, the constant folding and the VJP rules all read: NumPy
 * broadcasting, axes, Slice's resolved ranges, Conv/pool windows and pads (ONNX operator
 * specification, opset 11 to 21).
 */

import { type Attrs, GradientUnsupportedError, type NodeProto } from './onnx-graph';

/** What these helpers need of a shape analysis: shapes, constant integer values and the opset. */
export interface ParamScope {
  opset: number;
  shape(name: string): number[];
  ints(name: string | undefined, what: string): number[];
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

export function normAxis(axis: number, rank: number, what: string): number {
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

/** Slice inputs (opset ≥ 10) or attributes (older). */
export function sliceParams(node: NodeProto, at: Attrs, scope: ParamScope): SliceAxis[] {
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
  scope: Pick<ParamScope, 'ints' | 'opset'>,
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
