/**
 * VJP rules of the layers: convolution and pooling (their adjoints are ConvTranspose), Gemm and
 * MatMul, Softmax and the normalisations. Formulas: the input gradients of PyTorch's autograd
 * (aten/src/ATen/native, derivatives.yaml) written as ONNX ops; only input gradients are formed,
 * never weight gradients. MaxPool routes each window's cotangent to the first maximum in row-major
 * window order, as PyTorch's CPU max_pool2d does.
 */

import { convPads, windowOut } from './params';
import { g0, reshapeTarget, staticDim, unbroadcast, unsupported, type VjpContext, type VjpRule } from './vjp';

interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  /** ConvTranspose output_padding that makes its output exactly the forward input's size */
  outputPadding: number[];
}

function windowOf(c: VjpContext, kernel: number[]): Window {
  const x = c.inputs[0];
  const xs = c.shape(x);
  const r = xs.length - 2;
  const spatial = xs.slice(2).map((_, i) => staticDim(c, x, i + 2, 'a window'));
  const strides = c.at.ints('strides', new Array(r).fill(1));
  const dilations = c.at.ints('dilations', new Array(r).fill(1));
  const pads = convPads(c.at, spatial, kernel, strides, dilations);
  const out = c.shape(c.outputs[0]).slice(2);
  if (c.at.int('ceil_mode', 0) === 1) {
    const floor = spatial.map((d, i) =>
      windowOut(d, kernel[i], strides[i], dilations[i], pads[i], pads[i + r], false),
    );
    if (floor.some((d, i) => d !== out[i])) throw unsupported(c, 'ceil_mode that adds a partial window');
  }
  const outputPadding = spatial.map(
    (d, i) => d - ((out[i] - 1) * strides[i] - pads[i] - pads[i + r] + dilations[i] * (kernel[i] - 1) + 1),
  );
  return { kernel, strides, dilations, pads, outputPadding };
}

function convTranspose(c: VjpContext, g: string, weight: string, w: Window, group: number): string {
  return c.e.node('ConvTranspose', [g, weight], {
    kernel_shape: ['ints', w.kernel],
    strides: ['ints', w.strides],
    dilations: ['ints', w.dilations],
    pads: ['ints', w.pads],
    output_padding: ['ints', w.outputPadding],
    group: ['i', group],
  });
}

/** One-hot depthwise kernels [C·K, 1, kh, kw]: channel c·K + k has a 1 at window offset k. */
function offsetKernels(channels: number, kh: number, kw: number): number[] {
  const k = kh * kw;
  const data = new Array(channels * k * k).fill(0);
  for (let ch = 0; ch < channels; ch++) for (let o = 0; o < k; o++) data[(ch * k + o) * k + o] = 1;
  return data;
}

/** A finite stand-in for −∞ in the padding (−∞·0 inside the tap convolution would give NaN). */
const PAD_LOWEST = -3e38;

function maxPool(c: VjpContext): string {
  const e = c.e;
  const x = c.inputs[0];
  const y = c.outputs[0];
  const xs = c.shape(x);
  if (xs.length !== 4) throw unsupported(c, 'only 2-D max pooling has a rule');
  const kernel = c.at.ints('kernel_shape', []);
  const w = windowOf(c, kernel);
  if (w.dilations.some((d) => d !== 1)) throw unsupported(c, 'dilated max pooling');
  const channels = staticDim(c, x, 1, 'pooling over channels');
  const [kh, kw] = kernel;
  const k = kh * kw;
  const [, , ho, wo] = c.shape(y);
  const [pt, pl, pb, pr] = w.pads;
  const batch = c.batchAxes(y);
  const onehot = e.floats([channels * k, 1, kh, kw], offsetKernels(channels, kh, kw));
  // every window offset's value at once: a depthwise convolution with one-hot kernels, [N, C·K, Ho, Wo]
  const xp = e.pad(x, [0, 0, pt, pl, 0, 0, pb, pr], PAD_LOWEST);
  const taps = e.node('Conv', [xp, onehot], {
    kernel_shape: ['ints', kernel],
    strides: ['ints', w.strides],
    group: ['i', channels],
  });
  const split = e.reshape(
    taps,
    reshapeTarget(c, [xs[0], channels, k, ho, wo], [batch[0], false, false, false, false]),
  );
  // the first offset (row-major) holding the maximum gets the window's cotangent
  const eq = e.node('Cast', [e.node('Equal', [split, e.unsqueeze(y, [2])])], { to: ['i', 1] });
  const seen = e.node('CumSum', [eq, e.ints([2])]);
  const first = e.node('Equal', [e.mul(seen, eq), e.scalar(1)]);
  const routed = e.node('Where', [first, e.unsqueeze(g0(c), [2]), e.scalar(0)]);
  const merged = e.reshape(routed, reshapeTarget(c, [xs[0], channels * k, ho, wo], batch));
  return convTranspose(c, merged, onehot, w, channels);
}

function averagePool(c: VjpContext): string {
  const e = c.e;
  const x = c.inputs[0];
  const xs = c.shape(x);
  if (xs.length !== 4) throw unsupported(c, 'only 2-D average pooling has a rule');
  const kernel = c.at.ints('kernel_shape', []);
  const w = windowOf(c, kernel);
  if (w.dilations.some((d) => d !== 1)) throw unsupported(c, 'dilated average pooling');
  const channels = staticDim(c, x, 1, 'pooling over channels');
  const [, , h, wd] = xs;
  const [, , ho, wo] = c.shape(c.outputs[0]);
  const [kh, kw] = kernel;
  const [sh, sw] = w.strides;
  const [pt, pl] = w.pads;
  const includePad = c.at.int('count_include_pad', 0) === 1;
  // how many input pixels each window averaged over
  const divisor: number[] = [];
  for (let oy = 0; oy < ho; oy++) {
    for (let ox = 0; ox < wo; ox++) {
      if (includePad) divisor.push(kh * kw);
      else {
        const rows = Math.min(oy * sh - pt + kh, h) - Math.max(oy * sh - pt, 0);
        const cols = Math.min(ox * sw - pl + kw, wd) - Math.max(ox * sw - pl, 0);
        divisor.push(rows * cols);
      }
    }
  }
  const scaled = e.div(g0(c), e.floats([ho, wo], divisor));
  const ones = e.floats([channels, 1, kh, kw], new Array(channels * kh * kw).fill(1));
  return convTranspose(c, scaled, ones, w, channels);
}

function swapLast(c: VjpContext, name: string): string {
  const r = c.shape(name).length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return c.e.node('Transpose', [name], { perm: ['ints', perm] });
}

export const NN_RULES: Record<string, VjpRule> = {
  Conv: {
    differentiable: [0, 1, 2],
    vjp: (c) => {
      if (c.needs(1) || c.needs(2)) throw unsupported(c, 'a weight or bias computed from the input');
      const wShape = c.shape(c.inputs[1]);
      const w = windowOf(c, wShape.slice(2));
      return [convTranspose(c, g0(c), c.inputs[1], w, c.at.int('group', 1)), null, null];
    },
  },
  MaxPool: { differentiable: [0], vjp: (c) => [maxPool(c)] },
  AveragePool: { differentiable: [0], vjp: (c) => [averagePool(c)] },
  Gemm: {
    differentiable: [0, 1, 2],
    vjp: (c) => {
      const e = c.e;
      const [a, b, cc] = c.inputs;
      const alpha = c.at.float('alpha', 1);
      const beta = c.at.float('beta', 1);
      const ta = c.at.int('transA', 0);
      const tb = c.at.int('transB', 0);
      const g = g0(c);
      const gemm = (p: string, q: string, transA: number, transB: number) =>
        e.node('Gemm', [p, q], { alpha: ['f', alpha], transA: ['i', transA], transB: ['i', transB] });
      return [
        c.needs(0) ? (ta ? gemm(b, g, tb, 1) : gemm(g, b, 0, tb ? 0 : 1)) : null,
        c.needs(1) ? (tb ? gemm(g, a, 1, ta) : gemm(a, g, ta ? 0 : 1, 0)) : null,
        c.needs(2)
          ? unbroadcast(c, beta === 1 ? g : e.mul(g, e.scalar(beta)), c.shape(c.outputs[0]), cc)
          : null,
      ];
    },
  },
  MatMul: {
    differentiable: [0, 1],
    vjp: (c) => {
      const [a, b] = c.inputs;
      const out = c.shape(c.outputs[0]);
      const as = c.shape(a);
      const bs = c.shape(b);
      const g = g0(c);
      const da = () => {
        const shape = [...out.slice(0, -1), as[as.length - 1]];
        return unbroadcast(c, c.e.node('MatMul', [g, swapLast(c, b)]), shape, a);
      };
      const db = () => {
        const shape = [...out.slice(0, -2), bs[bs.length - 2], out[out.length - 1]];
        return unbroadcast(c, c.e.node('MatMul', [swapLast(c, a), g]), shape, b);
      };
      return [c.needs(0) ? da() : null, c.needs(1) ? db() : null];
    },
  },
  Softmax: {
    differentiable: [0],
    vjp: (c) => {
      const y = c.outputs[0];
      const rank = c.shape(y).length;
      const a = c.at.int('axis', c.e.opset >= 13 ? -1 : 1);
      const axis = a < 0 ? a + rank : a;
      // before opset 13 Softmax normalised over all axes from `axis` on (the input coerced to 2-D)
      const axes = c.e.opset >= 13 ? [axis] : [...Array(rank - axis).keys()].map((i) => i + axis);
      const gy = c.e.mul(g0(c), y);
      return [c.e.sub(gy, c.e.mul(y, c.e.reduceSum(gy, axes, true)))];
    },
  },
  LayerNormalization: {
    differentiable: [0, 1, 2],
    vjp: (c) => {
      if (c.needs(1) || c.needs(2)) throw unsupported(c, 'a scale or bias computed from the input');
      if (c.g.slice(1).some(Boolean)) throw unsupported(c, 'its mean or inverse-deviation output is used');
      const e = c.e;
      const x = c.inputs[0];
      const rank = c.shape(x).length;
      const a = c.at.int('axis', -1);
      const axis = a < 0 ? a + rank : a;
      const axes = [...Array(rank - axis).keys()].map((i) => i + axis);
      const eps = c.at.float('epsilon', 1e-5);
      const centred = e.sub(x, e.reduceMean(x, axes, true));
      const variance = e.reduceMean(e.mul(centred, centred), axes, true);
      const rstd = e.node('Reciprocal', [e.node('Sqrt', [e.add(variance, e.scalar(eps))])]);
      const xhat = e.mul(centred, rstd);
      const gh = e.mul(g0(c), c.inputs[1]);
      const m1 = e.reduceMean(gh, axes, true);
      const m2 = e.reduceMean(e.mul(gh, xhat), axes, true);
      return [e.mul(rstd, e.sub(e.sub(gh, m1), e.mul(xhat, m2))), null, null];
    },
  },
  BatchNormalization: {
    differentiable: [0, 1, 2, 3, 4],
    vjp: (c) => {
      if (c.at.int('training_mode', 0) === 1) throw unsupported(c, 'training mode (batch statistics)');
      if ([1, 2, 3, 4].some((i) => c.needs(i))) throw unsupported(c, 'parameters computed from the input');
      const e = c.e;
      const rank = c.shape(c.inputs[0]).length;
      const eps = c.at.float('epsilon', 1e-5);
      const factor = e.div(c.inputs[1], e.node('Sqrt', [e.add(c.inputs[4], e.scalar(eps))]));
      const channels = c.shape(c.inputs[1])[0];
      const shaped = e.reshape(factor, [channels, ...new Array(rank - 2).fill(1)]);
      return [e.mul(g0(c), shaped), null, null, null, null];
    },
  },
};
