/**
 * Linear classifiers with closed-form minimal adversarial distances, for known-answer tests.
 * f(x) = argmax(Wx + b), ties to the lowest index (as the API's argmax).
 * For a binary problem with logit difference g(x) = w·x + c, the closest point of the boundary
 * g = 0 is at L2 distance |g(x)|/‖w‖₂ and L∞ distance |g(x)|/‖w‖₁ (if it lies inside [0,1]^d).
 */
import { DctBasis } from '../../../src/attacks/dct';
import type { DecisionOracle, ScoreOracle } from '../../../src/attacks/oracle';
import { Rng } from '../../../src/core/prng';

export class LinearModel implements DecisionOracle, ScoreOracle {
  calls = 0;
  images = 0;
  constructor(
    readonly W: number[][],
    readonly b: number[],
  ) {}

  logits(x: ArrayLike<number>): number[] {
    return this.W.map((row, k) => {
      let s = this.b[k];
      for (let i = 0; i < row.length; i++) s += row[i] * x[i];
      return s;
    });
  }

  label(x: ArrayLike<number>): number {
    const z = this.logits(x);
    let best = 0;
    for (let k = 1; k < z.length; k++) if (z[k] > z[best]) best = k;
    return best;
  }

  probs(x: ArrayLike<number>): Float32Array {
    const z = this.logits(x);
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, v) => a + v, 0);
    return Float32Array.from(e, (v) => v / s);
  }

  async decide(xs: Float32Array[]): Promise<number[]> {
    this.calls++;
    this.images += xs.length;
    return xs.map((x) => this.label(x));
  }

  async score(xs: Float32Array[]): Promise<Float32Array[]> {
    this.calls++;
    this.images += xs.length;
    return xs.map((x) => this.probs(x));
  }
}

/** An independent query counter around any oracle (not the library's CountingOracle). */
export class TallyOracle implements DecisionOracle, ScoreOracle {
  images = 0;
  calls = 0;
  maxBatch = 0;
  constructor(readonly inner: DecisionOracle & ScoreOracle) {}
  async decide(xs: Float32Array[]): Promise<number[]> {
    this.calls++;
    this.images += xs.length;
    this.maxBatch = Math.max(this.maxBatch, xs.length);
    return this.inner.decide(xs);
  }
  async score(xs: Float32Array[]): Promise<Float32Array[]> {
    this.calls++;
    this.images += xs.length;
    this.maxBatch = Math.max(this.maxBatch, xs.length);
    return this.inner.score(xs);
  }
}

export interface BinaryProblem {
  model: LinearModel;
  x: Float32Array;
  w: number[];
  /** Minimal L2 distance to the boundary (closed form). */
  minL2: number;
  /** Minimal L∞ distance to the boundary (closed form). */
  minLinf: number;
  /** The closest boundary point (L2), for checking it lies in [0,1]^d. */
  closest: Float64Array;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export type WeightKind = 'gaussian' | 'signs' | 'dct';

/**
 * Weights of the logit difference: i.i.d. N(0,1) ('gaussian'), random ±1 ('signs', aligned with
 * SimBA's pixel steps), or random ±1 coefficients on the 6×6 lowest DCT frequencies of an 8×8 image
 * ('dct', aligned with SimBA-DCT's first directions).
 */
export function weights(rng: Rng, d: number, kind: WeightKind): number[] {
  if (kind === 'gaussian') return Array.from({ length: d }, () => rng.normal());
  if (kind === 'signs') return Array.from({ length: d }, () => (rng.uniform() < 0.5 ? -1 : 1));
  const side = Math.round(Math.sqrt(d));
  const basis = new DctBasis(side, side);
  const w = new Float64Array(d);
  for (let u = 0; u < Math.min(6, side); u++) {
    for (let v = 0; v < Math.min(6, side); v++) basis.addBasis(w, u, v, rng.uniform() < 0.5 ? -1 : 1);
  }
  return Array.from(w);
}

/**
 * Class 0 has logit 0, class 1 has logit w·x + c, with c chosen so x (class 0) lies at L2 distance
 * `dist` from the boundary.
 */
export function binaryProblem(
  seed: number,
  d = 64,
  dist = 0.5,
  kind: WeightKind = 'gaussian',
): BinaryProblem {
  const rng = new Rng(seed);
  const w = weights(rng, d, kind);
  const x = new Float32Array(d);
  for (let i = 0; i < d; i++) x[i] = 0.35 + 0.3 * rng.uniform();
  const nw = Math.sqrt(dot(w, w));
  const n1 = w.reduce((s, v) => s + Math.abs(v), 0);
  const c = -dot(w, x) - dist * nw;
  const model = new LinearModel([new Array(d).fill(0), w], [0, c]);
  const g = dot(w, x) + c;
  const closest = Float64Array.from(x, (v, i) => v - (g * w[i]) / (nw * nw));
  return { model, x, w, minL2: Math.abs(g) / nw, minLinf: Math.abs(g) / n1, closest };
}

/**
 * Three classes: class 0 = the class of x; classes 1 and 2 have their own boundaries (against
 * class 0) at L2 distances d1 < d2 along w1 and w2. When the closest point of each boundary is not
 * claimed by the third class (checked by the tests), the minimal untargeted distance is d1 and the
 * minimal distance to reach class 2 is d2.
 */
export function threeClassProblem(seed: number, d = 64, d1 = 0.5, d2 = 0.8) {
  const rng = new Rng(seed);
  const w1 = weights(rng, d, 'gaussian');
  const w2 = weights(rng, d, 'gaussian');
  const x = new Float32Array(d);
  for (let i = 0; i < d; i++) x[i] = 0.35 + 0.3 * rng.uniform();
  const n1 = Math.sqrt(dot(w1, w1));
  const n2 = Math.sqrt(dot(w2, w2));
  const c1 = -dot(w1, x) - d1 * n1;
  const c2 = -dot(w2, x) - d2 * n2;
  const model = new LinearModel([new Array(d).fill(0), w1, w2], [0, c1, c2]);
  // just past each boundary's closest point
  const past1 = Float32Array.from(x, (v, i) => v + (d1 * 1.001 * w1[i]) / n1);
  const past2 = Float32Array.from(x, (v, i) => v + (d2 * 1.001 * w2[i]) / n2);
  return { model, x, d1, d2, w1, w2, past1, past2 };
}

/** Every pixel inside [0, 1]. */
export function inUnitBox(a: Float32Array): boolean {
  return a.every((v) => v >= 0 && v <= 1);
}

/** An image of class `k` for targeted starts: x moved along `dir` until the model says k. */
export function imageOfClass(
  model: LinearModel,
  x: Float32Array,
  k: number,
  dir: ArrayLike<number>,
): Float32Array {
  for (let t = 0.05; t < 50; t *= 1.2) {
    const y = Float32Array.from(x, (v, i) => Math.min(1, Math.max(0, v + t * dir[i])));
    if (model.label(y) === k) return y;
  }
  throw new Error(`no image of class ${k} along the direction`);
}
