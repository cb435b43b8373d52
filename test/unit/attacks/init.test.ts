import { describe, expect, it } from 'vitest';
import { boundaryAttack } from '../../../src/attacks/boundary';
import { hopSkipJump } from '../../../src/attacks/hopskipjump';
import type { DecisionOracle } from '../../../src/attacks/oracle';

// Known answer, shaped like the failure seen on Fashion-MNIST (every model calls uniform noise a
// "Bag", so on Bags no noise draw is adversarial): class 0 when the mean brightness exceeds 0.3,
// else class 1. Uniform noise (mean ≈ 0.5) is always class 0. From x = 0.6 everywhere (d = 64) the
// nearest class-1 point lowers every pixel by 0.3: minimal L2 = 0.3·√64 = 2.4.
const D = 64;
const MIN_L2 = 2.4;

class MeanThreshold implements DecisionOracle {
  images = 0;
  async decide(xs: Float32Array[]): Promise<number[]> {
    this.images += xs.length;
    return xs.map((x) => (x.reduce((s, v) => s + v, 0) / x.length > 0.3 ? 0 : 1));
  }
}

const x = new Float32Array(D).fill(0.6);
// "test images of other classes": one of class 0 (useless) and one dark image of class 1
const candidates = [Array.from({ length: D }, () => 0.9), Array.from({ length: D }, (_, i) => (i % 2) * 0.2)];

describe('adversarial starting points', () => {
  for (const [name, attack] of [
    ['HopSkipJump', hopSkipJump],
    ['Boundary', boundaryAttack],
  ] as const) {
    it(`${name}: when no noise draw is adversarial it starts from a data candidate, and says so`, async () => {
      const oracle = new MeanThreshold();
      const r = await attack({ x, label: 0, maxQueries: 1500, seed: 1, initCandidates: candidates }, oracle);
      expect(r.params.start).toBe('data');
      expect(r.params.initCandidates).toBe(2);
      expect(r.success).toBe(true);
      expect(r.adversarialLabel).toBe(1);
      expect((await oracle.decide([r.adversarial]))[0]).toBe(1);
      expect(r.l2).toBeGreaterThanOrEqual(MIN_L2 * (1 - 1e-6));
      expect(r.l2).toBeLessThan(1.5 * MIN_L2); // the candidate itself is 4.6 away
      expect(r.queries).toBeLessThanOrEqual(1500);
    });

    it(`${name}: without candidates it spends its noise trials, reports no start and no success`, async () => {
      const oracle = new MeanThreshold();
      const r = await attack({ x, label: 0, maxQueries: 1500, seed: 1 }, oracle);
      expect(r.params.start).toBe('none');
      expect(r.success).toBe(false);
      expect(r.queries).toBe(100);
      expect(r.l2).toBe(0);
    });
  }

  it('noise still comes first: where a noise draw is adversarial the candidates are never queried', async () => {
    const inverted: DecisionOracle = {
      async decide(xs) {
        return xs.map((v) => (v.reduce((s, t) => s + t, 0) / v.length > 0.3 ? 1 : 0));
      },
    };
    const dark = new Float32Array(D).fill(0.1);
    const withC = await hopSkipJump(
      { x: dark, label: 0, maxQueries: 800, seed: 2, initCandidates: candidates },
      inverted,
    );
    const without = await hopSkipJump({ x: dark, label: 0, maxQueries: 800, seed: 2 }, inverted);
    expect(withC.params.start).toBe('noise');
    expect(Array.from(withC.adversarial)).toEqual(Array.from(without.adversarial));
    expect(withC.queries).toBe(without.queries);
  });

  it('rejects candidates of the wrong size with a message', async () => {
    await expect(
      hopSkipJump(
        { x, label: 0, maxQueries: 500, seed: 1, initCandidates: [[0.1, 0.2]] },
        new MeanThreshold(),
      ),
    ).rejects.toThrow(/init candidate 0 has 2 pixels, x has 64/);
  });
});
