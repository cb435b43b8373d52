/**
 * Randomized smoothing (Cohen, Rosenfeld & Kolter 2019) on problems with a known answer, and on the
 * shipped noise defense through onnxruntime-node.
 * - A linear rule smoothed with N(0, σ²I) (no clipping) has p_A = Φ(d/σ), d the distance to its
 *   hyperplane, so the exact radius is d: CERTIFY's radius is below it (it certifies with
 *   probability 1 − α) and within the Monte Carlo error of it at n = 10,000.
 * - p_A ≤ ½ abstains; seeded runs reproduce bit for bit; PREDICT's binomial test.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeEngine } from '../../server/node-engine';
import { engineSampler } from '../../src/certify/samplers';
import {
  type BaseSampler,
  binomialTestHalf,
  certifiedAccuracy,
  certify,
  predictSmoothed,
} from '../../src/certify/smoothing';
import { clopperPearsonLower, standardNormalQuantile } from '../../src/core/intervals';
import { MODELS } from '../../src/core/models';
import { Rng } from '../../src/core/prng';
import { imageInput } from '../../src/data/idx';
import { loadTestSetNode } from '../../tools/lib/test-set-node';

/** sign(w·(x + ε) + b) with ε ~ N(0, σ²I), 2 classes, each draw from its own seed. */
function linearSampler(w: number[], b: number, x: number[], sigma: number): BaseSampler {
  return async (seeds) =>
    seeds.map((s) => {
      const rng = new Rng(s);
      let z = b;
      for (let i = 0; i < w.length; i++) z += w[i] * (x[i] + sigma * rng.normal());
      return z > 0 ? 1 : 0;
    });
}

describe('CERTIFY on a linear rule (closed form)', () => {
  const rng = new Rng(4);
  const w = Array.from({ length: 20 }, () => rng.normal());
  const norm = Math.hypot(...w);
  const sigma = 0.25;

  it('certifies a radius just below the distance to the hyperplane', async () => {
    for (const d of [0.05, 0.2, 0.5]) {
      const x = w.map((v) => (v / norm) * d);
      const c = await certify(linearSampler(w, 0, x, sigma), { sigma, n0: 100, n: 10_000, alpha: 0.001 }, 7);
      expect(c.prediction).toBe(1);
      expect(c.radius).toBeLessThan(d);
      // the radius the bound gives at the true p_A, within 4 standard errors of p̂ at n = 10,000
      const p = 0.5 * (1 + erf(d / sigma / Math.SQRT2));
      const se = Math.sqrt((p * (1 - p)) / 10_000);
      const at = (q: number) =>
        sigma * standardNormalQuantile(clopperPearsonLower(Math.round(q * 10_000), 10_000, 0.001));
      expect(c.radius, `d = ${d}`).toBeGreaterThan(at(p - 4 * se));
      expect(c.radius, `d = ${d}`).toBeLessThan(at(Math.min(1, p + 4 * se)));
    }
  });

  it('abstains on the hyperplane (p_A ≤ ½), and reproduces bit for bit from its seed', async () => {
    const x = w.map(() => 0);
    const c = await certify(linearSampler(w, 0, x, sigma), { sigma, n0: 100, n: 2000 }, 1);
    expect(c.prediction).toBeNull();
    expect(c.radius).toBe(0);
    const y = w.map((v) => (v / norm) * 0.3);
    const a = await certify(linearSampler(w, 0, y, sigma), { sigma, n: 3000 }, 11);
    const b = await certify(linearSampler(w, 0, y, sigma), { sigma, n: 3000 }, 11);
    expect(a).toEqual(b);
    const other = await certify(linearSampler(w, 0, y, sigma), { sigma, n: 3000 }, 12);
    expect(other.votes).not.toBe(a.votes);
  });

  it('PREDICT abstains when the top two classes are close; the binomial test against scipy values', async () => {
    // scipy.stats.binom_test(60, 100, 0.5) = 0.056887933..., binom_test(5, 10) = 1
    expect(binomialTestHalf(60, 100)).toBeCloseTo(0.0568879, 6);
    expect(binomialTestHalf(5, 10)).toBe(1);
    expect(binomialTestHalf(0, 20)).toBeCloseTo(2 * 0.5 ** 20, 15);
    const x = w.map(() => 0);
    const near = await predictSmoothed(linearSampler(w, 0, x, sigma), { n: 1000, alpha: 0.001 }, 3);
    expect(near.prediction).toBeNull();
    const far = await predictSmoothed(
      linearSampler(
        w,
        0,
        w.map((v) => (v / norm) * 0.5),
        sigma,
      ),
      { n: 1000, alpha: 0.001 },
      3,
    );
    expect(far.prediction).toBe(1);
  });

  it('certified accuracy counts correct classes with a radius of at least r', () => {
    const rows = [
      { label: 1, prediction: 1, radius: 0.3 },
      { label: 1, prediction: 0, radius: 0.9 },
      { label: 0, prediction: null, radius: 0 },
      { label: 2, prediction: 2, radius: 0.1 },
    ];
    expect(certifiedAccuracy(rows, [0, 0.1, 0.25, 0.5])).toEqual([0.5, 0.5, 0.25, 0]);
  });
});

/** Abramowitz & Stegun 7.1.26 is too coarse here: erf from Φ⁻¹'s inverse via bisection. */
function erf(x: number): number {
  // Φ(t) = (1 + erf(t/√2))/2; invert the quantile by bisection on p
  const t = x * Math.SQRT2;
  let lo = 0;
  let hi = 1;
  for (let k = 0; k < 80; k++) {
    const mid = (lo + hi) / 2;
    if (standardNormalQuantile(mid) < t) lo = mid;
    else hi = mid;
  }
  return 2 * lo - 1;
}

describe('CERTIFY on the shipped noise defense', () => {
  const engine = createNodeEngine({ threads: 2 });
  afterAll(() => engine.release());

  it('0_4: a certificate through the same draws as /score, reproducible from its seed', async () => {
    const set = loadTestSetNode();
    const model = MODELS.find((m) => m.id === '0_4')!;
    const x = imageInput(set, 0);
    const sample = engineSampler(engine, model, x);
    const a = await certify(sample, { sigma: 0.1, n0: 50, n: 500 }, 5);
    const b = await certify(sample, { sigma: 0.1, n0: 50, n: 500 }, 5);
    expect(a).toEqual(b);
    expect(a.queries).toBe(550);
    // test image 0 is an ankle boot (9), classified with a wide margin by the noise-trained CNN
    expect(a.prediction).toBe(set.labels[0]);
    expect(a.radius).toBeGreaterThan(0.1);
    expect(() => engineSampler(engine, MODELS.find((m) => m.id === '0')!, x)).toThrow(
      /Gaussian-noise defense/,
    );
  });
});
