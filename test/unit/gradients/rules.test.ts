/**
 * Every VJP rule against central finite differences on onnxruntime-node. Each case is a small ONNX
 * model around one op, with random shapes, strides, pads and groups where the op has them (seeded,
 * so a failure reproduces). For f(x) = ⟨w, y(x)⟩ with a random cotangent w, the gradient graph's
 * g_x must satisfy ⟨g_x, v⟩ ≈ (f(x + h·v) − f(x − h·v)) / 2h for random directions v.
 *
 * h = 1e-3 in float32: the difference quotient carries rounding of about 1e-7·|f|/h and, for
 * smooth ops, truncation of order h²; piecewise-linear ops (ReLU, MaxPool) are exact unless a kink
 * lies within h, which random inputs make unlikely. Tolerance 1e-2 relative (+1e-3 absolute); a
 * wrong rule is off by order 1.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/core/prng';
import { buildGradientModel } from '../../../src/gradients/build';
import { type GradientUnsupportedError, onnx } from '../../../src/gradients/onnx-graph';

type Attr = number | number[] | string | { f: number };

interface Case {
  name: string;
  /** input dims, null = batch */
  input: (number | null)[];
  nodes: { op: string; inputs: string[]; output: string; attrs?: Record<string, Attr> }[];
  inits?: { name: string; dims: number[]; data?: number[]; int?: boolean }[];
  opset?: number;
  /** inputs shifted away from the kink of ReLU-like ops */
  positive?: boolean;
}

function attr(name: string, v: Attr) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (typeof v === 'object') return { name, type: T.FLOAT, f: v.f };
  return { name, type: T.INT, i: v };
}

function encode(c: Case, rng: Rng): Uint8Array {
  const last = c.nodes[c.nodes.length - 1].output;
  const dim = (d: number | null) => (d === null ? { dimParam: 'N' } : { dimValue: d });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: c.opset ?? 17 }],
    graph: {
      name: c.name,
      node: c.nodes.map((n, i) => ({
        opType: n.op,
        name: `n${i}`,
        input: n.inputs,
        output: [n.output],
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attr(k, v)),
      })),
      initializer: (c.inits ?? []).map((t) => {
        const size = t.dims.reduce((a, b) => a * b, 1);
        const data = t.data ?? Array.from({ length: size }, () => rng.normal() * 0.5);
        return t.int
          ? { name: t.name, dims: t.dims, dataType: 7, int64Data: data }
          : { name: t.name, dims: t.dims, dataType: 1, floatData: data };
      }),
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: c.input.map(dim) } } } }],
      output: [{ name: last, type: { tensorType: { elemType: 1 } } }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

async function check(c: Case, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const bytes = encode(c, rng);
  const gm = buildGradientModel(bytes, { inputShape: c.input });
  const n = 2;
  const dims = c.input.map((d) => d ?? n);
  const size = dims.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: size }, () => (c.positive ? 0.5 + rng.uniform() : rng.normal()));
  const fwd = await ort.InferenceSession.create(bytes);
  const run = async (xx: Float32Array) =>
    (await fwd.run({ x: new ort.Tensor('float32', xx, dims) }))[gm.logits];
  const y0 = await run(x);
  const w = Float32Array.from({ length: y0.data.length }, () => rng.normal());
  const f = async (xx: Float32Array) => {
    const y = (await run(xx)).data as Float32Array;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * w[i];
    return s;
  };
  const back = await ort.InferenceSession.create(gm.bytes);
  const out = await back.run({
    x: new ort.Tensor('float32', x, dims),
    [gm.gradLogits]: new ort.Tensor('float32', w, y0.dims as number[]),
  });
  const g = out[gm.gradInput].data as Float32Array;
  expect(g.length).toBe(size);
  const h = 1e-3;
  for (let t = 0; t < 3; t++) {
    const v = Float32Array.from({ length: size }, () => rng.normal());
    const fd =
      ((await f(x.map((a, i) => a + h * v[i]))) - (await f(x.map((a, i) => a - h * v[i])))) / (2 * h);
    let an = 0;
    for (let i = 0; i < size; i++) an += g[i] * v[i];
    expect(Math.abs(fd - an), `${c.name} seed ${seed}: fd ${fd} vs vjp ${an}`).toBeLessThanOrEqual(
      1e-2 * (Math.abs(fd) + Math.abs(an)) + 1e-3,
    );
  }
  await fwd.release();
  await back.release();
}

const r = (rng: Rng, lo: number, hi: number) => lo + rng.int(hi - lo + 1);

/** Random Conv: channels, groups, kernel, stride, asymmetric pads, dilation. */
function convCase(seed: number): Case {
  const rng = new Rng(1000 + seed);
  const group = rng.uniform() < 0.5 ? 1 : r(rng, 2, 3);
  const cin = group * r(rng, 1, 2);
  const cout = group * r(rng, 1, 3);
  const k = [r(rng, 1, 3), r(rng, 1, 3)];
  const strides = [r(rng, 1, 3), r(rng, 1, 3)];
  const dil = [r(rng, 1, 2), 1];
  const pads = [r(rng, 0, k[0] - 1), r(rng, 0, k[1] - 1), r(rng, 0, k[0] - 1), r(rng, 0, k[1] - 1)];
  const hw = [r(rng, 6, 10), r(rng, 5, 9)];
  return {
    name: `Conv g${group} k${k} s${strides} d${dil} p${pads} in${cin}x${hw}`,
    input: [null, cin, ...hw],
    inits: [
      { name: 'w', dims: [cout, cin / group, ...k] },
      { name: 'b', dims: [cout] },
    ],
    nodes: [
      {
        op: 'Conv',
        inputs: ['x', 'w', 'b'],
        output: 'y',
        attrs: { group, kernel_shape: k, strides, dilations: dil, pads },
      },
    ],
  };
}

function poolCase(op: 'MaxPool' | 'AveragePool', seed: number): Case {
  const rng = new Rng(2000 + seed);
  const k = [r(rng, 2, 3), r(rng, 2, 3)];
  const strides = [r(rng, 1, 3), r(rng, 1, 2)];
  const pads = [r(rng, 0, k[0] - 1), r(rng, 0, k[1] - 1), r(rng, 0, k[0] - 1), r(rng, 0, k[1] - 1)];
  const attrs: Record<string, Attr> = { kernel_shape: k, strides, pads };
  if (op === 'AveragePool') attrs.count_include_pad = seed % 2;
  return {
    name: `${op} k${k} s${strides} p${pads} ${attrs.count_include_pad ?? ''}`,
    input: [null, 2, r(rng, 6, 9), r(rng, 6, 9)],
    nodes: [{ op, inputs: ['x'], output: 'y', attrs }],
  };
}

function sliceCase(seed: number): Case {
  const rng = new Rng(3000 + seed);
  const d = [r(rng, 5, 9), r(rng, 5, 9)];
  const starts = [r(rng, 0, 2), r(rng, -3, 1)];
  const steps = [r(rng, 1, 3), r(rng, 1, 2)];
  const ends = [d[0] - r(rng, 0, 2), 100];
  return {
    name: `Slice ${starts}:${ends}:${steps} of ${d}`,
    input: [null, 3, ...d],
    inits: [
      { name: 's', dims: [2], data: starts, int: true },
      { name: 'e', dims: [2], data: ends, int: true },
      { name: 'a', dims: [2], data: [2, 3], int: true },
      { name: 't', dims: [2], data: steps, int: true },
    ],
    nodes: [{ op: 'Slice', inputs: ['x', 's', 'e', 'a', 't'], output: 'y' }],
  };
}

const unary = (op: string, attrs?: Record<string, Attr>, opset?: number): Case => ({
  name: op,
  input: [null, 3, 4],
  nodes: [{ op, inputs: ['x'], output: 'y', attrs }],
  opset,
});

const FIXED: Case[] = [
  unary('Relu'),
  unary('LeakyRelu', { alpha: { f: 0.2 } }),
  unary('Sigmoid'),
  unary('Tanh'),
  unary('Erf'),
  unary('Gelu', {}, 20),
  unary('Gelu', { approximate: 'tanh' }, 20),
  unary('Identity'),
  unary('Dropout'),
  unary('Neg'),
  unary('Exp'),
  { ...unary('Sqrt'), positive: true },
  unary('Softmax', { axis: 1 }),
  unary('Softmax', { axis: 1 }, 11),
  unary('Flatten', { axis: 2 }),
  unary('Transpose', { perm: [2, 0, 1] }),
  unary('GlobalAveragePool'),
  {
    name: 'Clip',
    input: [null, 6],
    inits: [
      { name: 'lo', dims: [], data: [-0.5] },
      { name: 'hi', dims: [], data: [0.7] },
    ],
    nodes: [{ op: 'Clip', inputs: ['x', 'lo', 'hi'], output: 'y' }],
  },
  {
    name: 'Pow 3',
    input: [null, 5],
    inits: [{ name: 'p', dims: [], data: [3] }],
    nodes: [{ op: 'Pow', inputs: ['x', 'p'], output: 'y' }],
  },
  {
    name: 'ReduceMean keepdims 0',
    input: [null, 3, 4],
    nodes: [{ op: 'ReduceMean', inputs: ['x'], output: 'y', attrs: { axes: [2], keepdims: 0 } }],
  },
  {
    name: 'ReduceSum',
    input: [null, 3, 4],
    inits: [{ name: 'ax', dims: [1], data: [1], int: true }],
    nodes: [{ op: 'ReduceSum', inputs: ['x', 'ax'], output: 'y' }],
  },
  {
    name: 'Gemm transA transB alpha beta',
    input: [3, null],
    inits: [
      { name: 'b', dims: [4, 3] },
      { name: 'c', dims: [4] },
    ],
    nodes: [
      {
        op: 'Gemm',
        inputs: ['x', 'b', 'c'],
        output: 'y',
        attrs: { transA: 1, transB: 1, alpha: { f: 0.7 }, beta: { f: 1.3 } },
      },
    ],
  },
  {
    name: 'Gemm',
    input: [null, 5],
    inits: [{ name: 'b', dims: [5, 4] }],
    nodes: [{ op: 'Gemm', inputs: ['x', 'b'], output: 'y' }],
  },
  {
    name: 'MatMul broadcast weight',
    input: [null, 3, 4],
    inits: [{ name: 'w', dims: [4, 5] }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], output: 'y' }],
  },
  {
    name: 'MatMul of two activations (attention scores)',
    input: [null, 2, 3, 4],
    nodes: [
      { op: 'Transpose', inputs: ['x'], output: 'xt', attrs: { perm: [0, 1, 3, 2] } },
      { op: 'Tanh', inputs: ['xt'], output: 't' },
      { op: 'MatMul', inputs: ['x', 't'], output: 'y' },
    ],
  },
  {
    name: 'Mul and Div of broadcast activations',
    input: [null, 3, 4],
    inits: [{ name: 'two', dims: [], data: [2] }],
    nodes: [
      { op: 'ReduceMean', inputs: ['x'], output: 'm', attrs: { axes: [2], keepdims: 1 } },
      { op: 'Mul', inputs: ['x', 'm'], output: 'p' },
      { op: 'Exp', inputs: ['m'], output: 'em' },
      { op: 'Div', inputs: ['p', 'em'], output: 'q' },
      { op: 'Sub', inputs: ['q', 'x'], output: 's' },
      { op: 'Add', inputs: ['two', 's'], output: 'y' },
    ],
  },
  {
    name: 'LayerNormalization',
    input: [null, 3, 5],
    inits: [
      { name: 'g', dims: [5] },
      { name: 'b', dims: [5] },
    ],
    nodes: [
      {
        op: 'LayerNormalization',
        inputs: ['x', 'g', 'b'],
        output: 'y',
        attrs: { axis: -1, epsilon: { f: 1e-5 } },
      },
    ],
  },
  {
    name: 'BatchNormalization',
    input: [null, 3, 4, 4],
    inits: [
      { name: 's', dims: [3] },
      { name: 'b', dims: [3] },
      { name: 'm', dims: [3] },
      { name: 'v', dims: [3], data: [0.5, 1.5, 2] },
    ],
    nodes: [{ op: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'v'], output: 'y' }],
  },
  {
    name: 'Pad, Concat, Reshape, Unsqueeze, Squeeze',
    input: [null, 2, 3],
    inits: [
      { name: 'p', dims: [6], data: [0, 1, 0, 0, 2, 1], int: true },
      { name: 'shape', dims: [3], data: [0, 5, -1], int: true },
      { name: 'ax', dims: [1], data: [1], int: true },
    ],
    nodes: [
      { op: 'Pad', inputs: ['x', 'p'], output: 'xp', attrs: { mode: 'constant' } },
      { op: 'Relu', inputs: ['xp'], output: 'r' },
      { op: 'Concat', inputs: ['xp', 'r'], output: 'c', attrs: { axis: 2 } },
      { op: 'Reshape', inputs: ['c', 'shape'], output: 'rs' },
      { op: 'Unsqueeze', inputs: ['rs', 'ax'], output: 'u' },
      { op: 'Squeeze', inputs: ['u', 'ax'], output: 'y' },
    ],
  },
  {
    name: 'Gather scalar and 1-D indices, Expand, Where',
    input: [null, 4, 3],
    inits: [
      { name: 'i0', dims: [], data: [2], int: true },
      { name: 'i1', dims: [3], data: [3, 0, 3], int: true },
      { name: 'shape', dims: [3], data: [1, 3, 3], int: true },
      { name: 'cond', dims: [3], data: [1, 0, 1], int: true },
    ],
    nodes: [
      { op: 'Gather', inputs: ['x', 'i0'], output: 'a', attrs: { axis: 1 } },
      { op: 'Gather', inputs: ['x', 'i1'], output: 'b', attrs: { axis: 1 } },
      { op: 'Unsqueeze', inputs: ['a', 'one'], output: 'au' },
      { op: 'Expand', inputs: ['au', 'shape'], output: 'ae' },
      { op: 'Cast', inputs: ['cond'], output: 'cb', attrs: { to: 9 } },
      { op: 'Where', inputs: ['cb', 'ae', 'b'], output: 'y' },
    ],
  },
];
// the Unsqueeze axes of the Gather case
FIXED[FIXED.length - 1].inits?.push({ name: 'one', dims: [1], data: [1], int: true });

describe('VJP rules against central finite differences', () => {
  it.each(FIXED.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    await check(c, 7 + i);
  });
  it.each([0, 1, 2, 3, 4, 5])('Conv, random case %i', async (s) => check(convCase(s), s));
  it.each([0, 1, 2, 3])('MaxPool (overlapping windows), random case %i', async (s) =>
    check(poolCase('MaxPool', s), s),
  );
  it.each([0, 1, 2, 3])('AveragePool, random case %i', async (s) => check(poolCase('AveragePool', s), s));
  it.each([0, 1, 2, 3])('strided Slice, random case %i', async (s) => check(sliceCase(s), s));
});

describe('models the reverse pass refuses', () => {
  it('names every op on the input→logits path that has no rule', () => {
    const c: Case = {
      name: 'no rule',
      input: [null, 4],
      nodes: [
        { op: 'Floor', inputs: ['x'], output: 'f' },
        { op: 'Softplus', inputs: ['f'], output: 'y' },
      ],
    };
    let err: GradientUnsupportedError | undefined;
    try {
      buildGradientModel(encode(c, new Rng(1)), { inputShape: c.input });
    } catch (e) {
      err = e as GradientUnsupportedError;
    }
    expect(err?.name).toBe('GradientUnsupportedError');
    expect(err?.message).toBe('no gradient rule for ops Softplus, Floor');
    expect(err?.ops).toEqual(['Softplus', 'Floor']);
  });

  it('ignores ops off the path (shape computations) and refuses reflect padding by name', () => {
    const ok: Case = {
      name: 'shape path',
      input: [null, 4],
      nodes: [
        { op: 'Shape', inputs: ['x'], output: 's' },
        { op: 'Reshape', inputs: ['x', 's'], output: 'y' },
      ],
    };
    expect(() => buildGradientModel(encode(ok, new Rng(1)), { inputShape: ok.input })).not.toThrow();
    const reflect: Case = {
      name: 'reflect',
      input: [null, 1, 4, 4],
      inits: [{ name: 'p', dims: [8], data: [0, 0, 1, 1, 0, 0, 1, 1], int: true }],
      nodes: [{ op: 'Pad', inputs: ['x', 'p'], output: 'y', attrs: { mode: 'reflect' } }],
    };
    expect(() => buildGradientModel(encode(reflect, new Rng(1)), { inputShape: reflect.input })).toThrow(
      /Pad node "n0": mode "reflect"/,
    );
  });
});
