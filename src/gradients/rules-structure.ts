/**
 * VJP rules of ops that move, select or sum elements without arithmetic on them: their adjoints
 * put each cotangent element back where its value came from. Written without the scatter ops
 * (the WebGPU execution provider lacks some of them): a strided Slice's adjoint interleaves zeros
 * with Pad and Reshape, a Gather of constant indices pads each selected slice back into place.
 */

import { axesParam, sliceParams } from './params';
import { g0, reshapeTarget, staticDim, unbroadcast, unsupported, type VjpContext, type VjpRule } from './vjp';

/** Most constant indices a Gather may select (each costs a Pad in the backward graph). */
const MAX_GATHER_INDICES = 64;

const reshapeBack: VjpRule = { differentiable: [0], vjp: (c) => [c.e.reshapeLike(g0(c), c.inputs[0])] };

/**
 * The adjoint of taking `count` elements from `start` every `step` along `axis` of a tensor whose
 * size there is `size`: zeros everywhere else.
 */
function unslice(
  c: VjpContext,
  g: string,
  gDims: number[],
  gBatch: boolean[],
  axis: number,
  size: number,
  start: number,
  step: number,
  count: number,
): string {
  const e = c.e;
  const rank = gDims.length;
  let x = g;
  let len = count;
  if (step > 1 && count > 0) {
    // [.., count, ..] → [.., count, step, ..] with zeros after each element → [.., count·step, ..]
    x = e.unsqueeze(x, [axis + 1]);
    const pads = new Array(2 * (rank + 1)).fill(0);
    pads[rank + 1 + axis + 1] = step - 1;
    x = e.pad(x, pads);
    const merged = [...gDims];
    merged[axis] = count * step;
    x = e.reshape(x, reshapeTarget(c, merged, gBatch));
    len = count * step;
  }
  let end = size - start - len;
  if (end < 0) {
    x = e.slice(x, [0], [len + end], [axis]);
    end = 0;
  }
  const pads = new Array(2 * rank).fill(0);
  pads[axis] = start;
  pads[rank + axis] = end;
  return e.pad(x, pads);
}

export const STRUCTURE_RULES: Record<string, VjpRule> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Expand: {
    differentiable: [0],
    vjp: (c) => [unbroadcast(c, g0(c), c.shape(c.outputs[0]), c.inputs[0])],
  },
  Transpose: {
    differentiable: [0],
    vjp: (c) => {
      const rank = c.shape(c.inputs[0]).length;
      const perm = c.at.ints('perm', [...Array(rank).keys()].reverse());
      const inv = new Array(rank);
      perm.forEach((p, i) => {
        inv[p] = i;
      });
      return [c.e.node('Transpose', [g0(c)], { perm: ['ints', inv] })];
    },
  },
  Concat: {
    differentiable: 'all',
    vjp: (c) => {
      const rank = c.shape(c.outputs[0]).length;
      const a = c.at.int('axis', 0);
      const axis = a < 0 ? a + rank : a;
      let offset = 0;
      return c.inputs.map((name, i) => {
        const size = staticDim(c, name, axis, 'Concat');
        const start = offset;
        offset += size;
        return c.needs(i) ? c.e.slice(g0(c), [start], [start + size], [axis]) : null;
      });
    },
  },
  Slice: {
    differentiable: [0],
    vjp: (c) => {
      const x = c.inputs[0];
      const params = sliceParams(c.node, c.at, { ints: c.ints, shape: c.shape, opset: c.e.opset });
      let g = g0(c);
      const dims = [...c.shape(c.outputs[0])];
      const batch = c.batchAxes(c.outputs[0]);
      for (const p of params) {
        if (p.step < 0) throw unsupported(c, 'a negative step');
        const size = c.shape(x)[p.axis];
        if (p.start === 0 && p.count === size && p.step === 1) continue;
        staticDim(c, x, p.axis, 'a Slice that selects part of an axis');
        g = unslice(c, g, dims, batch, p.axis, size, p.start, p.step, p.count);
        dims[p.axis] = size;
      }
      return [g];
    },
  },
  Pad: {
    differentiable: [0],
    vjp: (c) => {
      const mode = c.at.string('mode', 'constant');
      if (mode !== 'constant') throw unsupported(c, `mode "${mode}" (only constant padding has a rule)`);
      if (c.e.opset >= 18 && c.inputs[3]) throw unsupported(c, 'an axes input (pads over all axes only)');
      const x = c.inputs[0];
      const xs = c.shape(x);
      const pads = c.e.opset < 11 ? c.at.ints('pads', []) : c.ints(c.inputs[1], 'Pad pads');
      if (pads.some((p) => p < 0)) throw unsupported(c, 'negative pads');
      const starts: number[] = [];
      const ends: number[] = [];
      const axes: number[] = [];
      xs.forEach((_, i) => {
        if (pads[i] === 0 && pads[i + xs.length] === 0) return;
        axes.push(i);
        starts.push(pads[i]);
        ends.push(pads[i] + staticDim(c, x, i, 'padding'));
      });
      return [axes.length === 0 ? g0(c) : c.e.slice(g0(c), starts, ends, axes)];
    },
  },
  Gather: {
    differentiable: [0],
    vjp: (c) => {
      const x = c.inputs[0];
      const xs = c.shape(x);
      const a = c.at.int('axis', 0);
      const axis = a < 0 ? a + xs.length : a;
      const idx = c.value(c.inputs[1]);
      if (!idx) throw unsupported(c, 'indices computed from the input (only constant indices have a rule)');
      if (idx.data.length > MAX_GATHER_INDICES)
        throw unsupported(c, `more than ${MAX_GATHER_INDICES} indices`);
      const size = staticDim(c, x, axis, 'Gather');
      const e = c.e;
      // the cotangent with the index dimensions flattened to one axis of length K
      const k = idx.data.length;
      const gDims = [...xs];
      gDims[axis] = k;
      const xBatch = c.batchAxes(x);
      const g = idx.dims.length === 1 ? g0(c) : e.reshape(g0(c), reshapeTarget(c, gDims, xBatch));
      const parts = idx.data.map((raw, j) => {
        const i = raw < 0 ? raw + size : raw;
        if (i < 0 || i >= size) throw unsupported(c, `index ${raw} is out of range for size ${size}`);
        const one = k === 1 ? g : e.slice(g, [j], [j + 1], [axis]);
        const pads = new Array(2 * xs.length).fill(0);
        pads[axis] = i;
        pads[xs.length + axis] = size - 1 - i;
        return e.pad(one, pads);
      });
      return [e.sum(parts)];
    },
  },
  GlobalAveragePool: {
    differentiable: [0],
    vjp: (c) => {
      const x = c.inputs[0];
      const xs = c.shape(x);
      const count = xs.slice(2).reduce((p, _, i) => p * staticDim(c, x, i + 2, 'GlobalAveragePool'), 1);
      return [c.e.node('Expand', [c.e.mul(g0(c), c.e.scalar(1 / count)), c.e.shapeOf(x)])];
    },
  },
  ReduceMean: reduceRule(true),
  ReduceSum: reduceRule(false),
};

function reduceRule(mean: boolean): VjpRule {
  return {
    differentiable: [0],
    vjp: (c) => {
      const x = c.inputs[0];
      const xs = c.shape(x);
      const axes = axesParam(c.node, c.at, { ints: c.ints, opset: c.e.opset }, mean ? 18 : 13);
      const all = !axes || axes.length === 0;
      // noop_with_empty_axes (ReduceSum from 13, ReduceMean from 18): no axes is the identity
      if (all && c.at.int('noop_with_empty_axes', 0) === 1) return [g0(c)];
      const list = (all ? xs.map((_, i) => i) : axes).map((a) => (a < 0 ? a + xs.length : a));
      let g = g0(c);
      if (c.at.int('keepdims', 1) === 0)
        g = c.e.unsqueeze(
          g,
          [...list].sort((p, q) => p - q),
        );
      g = c.e.node('Expand', [g, c.e.shapeOf(x)]);
      if (!mean) return [g];
      const count = list.reduce((p, a) => p * staticDim(c, x, a, c.node.opType ?? 'Reduce'), 1);
      return [c.e.mul(g, c.e.scalar(1 / count))];
    },
  };
}
