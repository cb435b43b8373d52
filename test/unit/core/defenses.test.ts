import { describe, expect, it } from 'vitest';
import {
  addGaussianNoise,
  applyPreprocessor,
  gaussianBlur,
  gaussianBlurAdjoint,
  gaussianKernel1d,
  type PreprocessDraw,
  preprocessAdjoint,
  resizePad,
  resizePadAdjoint,
  resizePadGeometry,
  resizePadSize,
} from '../../../src/core/defenses';
import { BLUR_DEFAULT, NOISE_DEFAULT, RESIZE_PAD_DEFAULT } from '../../../src/core/models';
import { Rng } from '../../../src/core/prng';
import { resizeBicubic, resizeBicubicAdjoint } from '../../../src/core/resample';

const midGray = () => new Float32Array(784).fill(0.5);
const ramp = () => new Float32Array(784).map((_, i) => (i % 28) / 27);

function meanStd(values: ArrayLike<number>): [number, number] {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  const mean = s / values.length;
  let v = 0;
  for (let i = 0; i < values.length; i++) v += (values[i] - mean) ** 2;
  return [mean, Math.sqrt(v / (values.length - 1))];
}

describe('Gaussian noise (_4)', () => {
  it('adds zero-mean noise with std sigma on a mid-gray image (where clipping is negligible)', () => {
    const rng = new Rng(123);
    const diffs: number[] = [];
    for (let k = 0; k < 50; k++) {
      const out = addGaussianNoise(midGray(), 0.1, rng);
      for (const v of out) diffs.push(v - 0.5);
    }
    const [mean, std] = meanStd(diffs); // 39200 samples: standard error of the mean 5e-4
    expect(Math.abs(mean)).toBeLessThan(0.003);
    expect(std).toBeGreaterThan(0.097);
    expect(std).toBeLessThan(0.103);
  });

  it('clips to [0, 1]', () => {
    const out = addGaussianNoise(new Float32Array(784).fill(0.98), 0.5, new Rng(1));
    expect(Math.min(...out)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...out)).toBe(1);
    expect(out.some((v) => v === 0)).toBe(true);
  });

  it('is reproducible from the seed and differs between seeds', () => {
    const a = addGaussianNoise(midGray(), 0.1, new Rng(7));
    const b = addGaussianNoise(midGray(), 0.1, new Rng(7));
    const c = addGaussianNoise(midGray(), 0.1, new Rng(8));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('sigma 0 is the identity and a negative sigma is refused', () => {
    expect(Array.from(addGaussianNoise(ramp(), 0, new Rng(1)))).toEqual(Array.from(ramp()));
    expect(() => addGaussianNoise(ramp(), -0.1, new Rng(1))).toThrow(/sigma/);
  });
});

describe('random resize & pad (_3)', () => {
  it('side s = floor((1 - r) * 28) for the thesis ratios', () => {
    expect([0.1, 0.08, 0.06, 0.04, 0.02].map(resizePadSize)).toEqual([25, 25, 26, 26, 27]);
    expect(resizePadSize(0.25)).toBe(21);
    expect(resizePadSize(0)).toBe(28);
    expect(() => resizePadSize(1)).toThrow(RangeError);
  });

  it('offsets floor(a * (28 - s))', () => {
    expect(resizePadGeometry(0.02, 0.5, 1)).toEqual({ size: 27, left: 0, top: 1 });
    expect(resizePadGeometry(0.1, 0.5, 0.5)).toEqual({ size: 25, left: 1, top: 1 });
    expect(resizePadGeometry(0.1, 1, 0)).toEqual({ size: 25, left: 3, top: 0 });
  });

  it('zero pads outside the resized square', () => {
    const out = resizePad(new Float32Array(784).fill(1), 0.1, 1, 0);
    // columns 0..2 are padding, rows 25..27 too; the inside of a constant image stays 1
    expect(out[0 * 28 + 2]).toBe(0);
    expect(out[0 * 28 + 3]).toBeCloseTo(1, 6);
    expect(out[25 * 28 + 10]).toBe(0);
    expect(out[24 * 28 + 27]).toBeCloseTo(1, 6);
  });

  it('applies with probability 0.8 and draws ratio, a and b uniformly', () => {
    const rng = new Rng(99);
    const draws: PreprocessDraw[] = [];
    for (let i = 0; i < 4000; i++) draws.push(applyPreprocessor(RESIZE_PAD_DEFAULT, ramp(), rng).draw);
    const applied = draws.filter((d) => d.kind === 'resize_pad' && d.applied);
    expect(applied.length / draws.length).toBeGreaterThan(0.77);
    expect(applied.length / draws.length).toBeLessThan(0.83);
    const ratios = new Set(applied.map((d) => (d.kind === 'resize_pad' && d.applied ? d.ratio : -1)));
    expect([...ratios].sort()).toEqual([0.02, 0.04, 0.06, 0.08, 0.1]);
    const as = applied.map((d) => (d.kind === 'resize_pad' && d.applied ? d.a : -1));
    for (const a of [0, 0.5, 1]) expect(as.filter((v) => v === a).length / as.length).toBeGreaterThan(0.28);
  });

  it('passes the input through unchanged when not applied, and the draw says so', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 50; i++) {
      const x = ramp();
      const { output, draw } = applyPreprocessor(RESIZE_PAD_DEFAULT, x, rng);
      if (draw.kind === 'resize_pad' && !draw.applied) {
        expect(Array.from(output)).toEqual(Array.from(x));
        expect(output).not.toBe(x);
        return;
      }
    }
    throw new Error('no pass-through draw in 50 tries');
  });

  it('the output of a draw equals resizePad with the drawn parameters', () => {
    const rng = new Rng(11);
    let checked = 0;
    for (let i = 0; i < 20; i++) {
      const { output, draw } = applyPreprocessor(RESIZE_PAD_DEFAULT, ramp(), rng);
      if (draw.kind !== 'resize_pad' || !draw.applied) continue;
      expect(Array.from(output)).toEqual(Array.from(resizePad(ramp(), draw.ratio, draw.a, draw.b)));
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });
});

describe('Gaussian blur', () => {
  it('kernels are normalised, symmetric and peak in the middle', () => {
    const k = gaussianKernel1d(9, 1.5);
    expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(k[0]).toBeCloseTo(k[8], 15);
    expect(Math.max(...k)).toBe(k[4]);
    expect(() => gaussianKernel1d(4, 1)).toThrow(/odd/);
    expect(() => gaussianKernel1d(5, 0)).toThrow(/sigma/);
  });

  it('keeps a constant image constant (reflect padding, normalised kernel)', () => {
    const out = gaussianBlur(new Float32Array(784).fill(0.3), 5, 9, 2);
    for (const v of out) expect(v).toBeCloseTo(0.3, 6);
  });

  it('draws sigma uniformly from [0.1, 5] per call, reproducibly', () => {
    const sigmas = Array.from({ length: 200 }, (_, i) => {
      const d = applyPreprocessor(BLUR_DEFAULT, ramp(), new Rng(i)).draw;
      return d.kind === 'blur' ? d.sigma : Number.NaN;
    });
    expect(Math.min(...sigmas)).toBeGreaterThanOrEqual(0.1);
    expect(Math.max(...sigmas)).toBeLessThan(5);
    expect(Math.max(...sigmas) - Math.min(...sigmas)).toBeGreaterThan(4);
    const again = applyPreprocessor(BLUR_DEFAULT, ramp(), new Rng(3));
    expect(again.draw).toEqual(applyPreprocessor(BLUR_DEFAULT, ramp(), new Rng(3)).draw);
  });
});

describe('applyPreprocessor', () => {
  it('noise: reports sigma, reproducible per seed', () => {
    const a = applyPreprocessor(NOISE_DEFAULT, midGray(), new Rng(42));
    const b = applyPreprocessor(NOISE_DEFAULT, midGray(), new Rng(42));
    expect(a.draw).toEqual({ kind: 'noise', sigma: 0.1 });
    expect(Array.from(a.output)).toEqual(Array.from(b.output));
  });

  it('refuses inputs that are not 28x28', () => {
    expect(() => applyPreprocessor(NOISE_DEFAULT, new Float32Array(100), new Rng(1))).toThrow(/784/);
  });
});

describe('adjoints of the defenses (dot-product test ⟨A x, y⟩ = ⟨x, Aᵀ y⟩)', () => {
  const rng = new Rng(42);
  const random = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
  const expectAdjoint = (
    forward: (x: Float32Array) => Float32Array,
    adjoint: (y: Float32Array) => Float32Array,
    n = 784,
  ) => {
    for (let t = 0; t < 3; t++) {
      const x = random(n);
      const y = random(forward(x).length);
      const lhs = dot(forward(x), y);
      const rhs = dot(x, adjoint(y));
      expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-5 * (Math.abs(lhs) + Math.abs(rhs)) + 1e-4);
    }
  };

  it.each([
    [28, 28, 25, 25],
    [28, 28, 21, 21],
    [7, 5, 13, 9],
  ])('bicubic resize %i×%i → %i×%i', (w, h, ow, oh) => {
    expectAdjoint(
      (x) => resizeBicubic(x, w, h, ow, oh),
      (y) => resizeBicubicAdjoint(y, w, h, ow, oh),
      w * h,
    );
  });

  it.each(
    [0.1, 0.08, 0.06, 0.04, 0.02].flatMap((r): [number, number, number][] => [
      [r, 0, 1],
      [r, 0.5, 0.5],
      [r, 1, 0],
    ]),
  )('resize & pad, ratio %f, offsets (%f, %f)', (r, a, b) => {
    expectAdjoint(
      (x) => resizePad(x, r, a, b),
      (y) => resizePadAdjoint(y, r, a, b),
    );
  });

  it.each([
    [3, 3, 0.4],
    [5, 3, 1.7],
    [7, 9, 4.9],
  ])('blur %i×%i, σ %f (reflect padding)', (kw, kh, sigma) => {
    expectAdjoint(
      (x) => gaussianBlur(x, kw, kh, sigma),
      (y) => gaussianBlurAdjoint(y, kw, kh, sigma),
    );
  });

  it('a draw not applied and the noise defense pass the gradient through', () => {
    const g = random(784);
    expect(preprocessAdjoint({ kind: 'resize_pad', applied: false }, g)).toEqual(g);
    expect(preprocessAdjoint({ kind: 'noise', sigma: 0.1 }, g)).toEqual(g);
  });
});
