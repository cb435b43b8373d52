/**
 * VJP rules of element-wise ops. Derivatives at kinks follow PyTorch's autograd (the reference the
 * tests compare against): ReLU and LeakyReLU use x > 0 (torch threshold_backward,
 * leaky_relu_backward), Clip passes the gradient where min < x < max (hardtanh_backward).
 */

import { g0, unbroadcast, unsupported, type VjpContext, type VjpRule } from './vjp';

const ERF_SCALE = 2 / Math.sqrt(Math.PI);
const SQRT_HALF = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

const passThrough: VjpRule = { differentiable: [0], vjp: (c) => [g0(c)] };

function unary(f: (c: VjpContext, g: string, x: string, y: string) => string): VjpRule {
  return { differentiable: [0], vjp: (c) => [f(c, g0(c), c.inputs[0], c.outputs[0])] };
}

/** Binary broadcasting op: `local(i)` is ∂y/∂input_i as a tensor (or the full cotangent product). */
function binary(grad: (c: VjpContext, g: string, i: number) => string): VjpRule {
  return {
    differentiable: [0, 1],
    vjp: (c) => {
      const gs = c.shape(c.outputs[0]);
      return [0, 1].map((i) => (c.needs(i) ? unbroadcast(c, grad(c, g0(c), i), gs, c.inputs[i]) : null));
    },
  };
}

export const ELEMENTWISE_RULES: Record<string, VjpRule> = {
  Identity: passThrough,
  Dropout: passThrough, // inference: the output is the input (a training-mode Dropout is refused in build)
  Cast: {
    differentiable: [0],
    vjp: (c) => {
      if (c.at.int('to', 1) !== 1)
        throw unsupported(c, 'a cast to a type other than float32 has no gradient');
      return [g0(c)];
    },
  },
  // the mask as 0/1 floats times g: faster in onnxruntime's CPU kernels than Where or Sign
  Relu: unary((c, g, x) =>
    c.e.mul(g, c.e.node('Cast', [c.e.node('Greater', [x, c.e.scalar(0)])], { to: ['i', 1] })),
  ),
  LeakyRelu: unary((c, g, x) => {
    const alpha = c.at.float('alpha', 0.01);
    return c.e.node('Where', [c.e.node('Greater', [x, c.e.scalar(0)]), g, c.e.mul(g, c.e.scalar(alpha))]);
  }),
  Clip: {
    differentiable: [0],
    vjp: (c) => {
      const x = c.inputs[0];
      let lo: string | null = null;
      let hi: string | null = null;
      if (c.e.opset < 11) {
        lo = c.at.has('min') ? c.e.scalar(c.at.float('min', 0)) : null;
        hi = c.at.has('max') ? c.e.scalar(c.at.float('max', 0)) : null;
      } else {
        lo = c.inputs[1] || null;
        hi = c.inputs[2] || null;
      }
      let keep: string | null = null;
      if (lo) keep = c.e.node('Greater', [x, lo]);
      if (hi) {
        const below = c.e.node('Less', [x, hi]);
        keep = keep ? c.e.node('And', [keep, below]) : below;
      }
      return [keep ? c.e.node('Where', [keep, g0(c), c.e.scalar(0)]) : g0(c)];
    },
  },
  Sigmoid: unary((c, g, _x, y) => c.e.mul(g, c.e.mul(y, c.e.sub(c.e.scalar(1), y)))),
  Tanh: unary((c, g, _x, y) => c.e.mul(g, c.e.sub(c.e.scalar(1), c.e.mul(y, y)))),
  Erf: unary((c, g, x) => {
    const ex = c.e.node('Exp', [c.e.node('Neg', [c.e.mul(x, x)])]);
    return c.e.mul(g, c.e.mul(ex, c.e.scalar(ERF_SCALE)));
  }),
  Gelu: unary((c, g, x) => {
    const approx = c.at.string('approximate', 'none');
    const e = c.e;
    if (approx === 'none') {
      // d/dx x·Φ(x) = Φ(x) + x·φ(x)
      const cdf = e.mul(e.add(e.node('Erf', [e.mul(x, e.scalar(SQRT_HALF))]), e.scalar(1)), e.scalar(0.5));
      const pdf = e.mul(e.node('Exp', [e.mul(e.mul(x, x), e.scalar(-0.5))]), e.scalar(INV_SQRT_2PI));
      return e.mul(g, e.add(cdf, e.mul(x, pdf)));
    }
    if (approx !== 'tanh') throw unsupported(c, `approximate "${approx}"`);
    // y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³)
    const k = Math.sqrt(2 / Math.PI);
    const x2 = e.mul(x, x);
    const u = e.mul(e.add(x, e.mul(e.mul(x2, x), e.scalar(0.044715))), e.scalar(k));
    const t = e.node('Tanh', [u]);
    const du = e.mul(e.add(e.mul(x2, e.scalar(3 * 0.044715)), e.scalar(1)), e.scalar(k));
    const left = e.mul(e.add(t, e.scalar(1)), e.scalar(0.5));
    const right = e.mul(e.mul(e.mul(x, e.scalar(0.5)), e.sub(e.scalar(1), e.mul(t, t))), du);
    return e.mul(g, e.add(left, right));
  }),
  Neg: unary((c, g) => c.e.node('Neg', [g])),
  Exp: unary((c, g, _x, y) => c.e.mul(g, y)),
  Sqrt: unary((c, g, _x, y) => c.e.div(c.e.mul(g, c.e.scalar(0.5)), y)),
  Add: binary((_c, g) => g),
  Sub: binary((c, g, i) => (i === 0 ? g : c.e.node('Neg', [g]))),
  Mul: binary((c, g, i) => c.e.mul(g, c.inputs[1 - i])),
  Div: binary((c, g, i) =>
    i === 0 ? c.e.div(g, c.inputs[1]) : c.e.node('Neg', [c.e.mul(g, c.e.div(c.outputs[0], c.inputs[1]))]),
  ),
  Pow: {
    differentiable: [0],
    vjp: (c) => {
      const p = c.value(c.inputs[1]);
      if (!p || p.data.length !== 1) throw unsupported(c, 'only a constant scalar exponent is supported');
      const k = p.data[0];
      const local = c.e.mul(c.e.node('Pow', [c.inputs[0], c.e.scalar(k - 1)]), c.e.scalar(k));
      return [unbroadcast(c, c.e.mul(g0(c), local), c.shape(c.outputs[0]), c.inputs[0])];
    },
  },
  Where: {
    differentiable: [1, 2],
    vjp: (c) => {
      const gs = c.shape(c.outputs[0]);
      const zero = c.e.scalar(0);
      return [
        null,
        c.needs(1) ? unbroadcast(c, c.e.node('Where', [c.inputs[0], g0(c), zero]), gs, c.inputs[1]) : null,
        c.needs(2) ? unbroadcast(c, c.e.node('Where', [c.inputs[0], zero, g0(c)]), gs, c.inputs[2]) : null,
      ];
    },
  },
};

/** Ops whose outputs carry no gradient at all (comparisons, shapes, index computations). */
export const NON_DIFFERENTIABLE = new Set([
  'Shape',
  'Size',
  'Constant',
  'ConstantOfShape',
  'Equal',
  'Greater',
  'GreaterOrEqual',
  'Less',
  'LessOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'ArgMax',
  'ArgMin',
  'NonZero',
  'Range',
  'EyeLike',
]);
