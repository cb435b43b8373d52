import { describe, expect, it } from 'vitest';
import { DctBasis } from '../../../src/attacks/dct';
import { resolveSimbaParams, simba, simbaOrder } from '../../../src/attacks/simba';
import { Rng } from '../../../src/core/prng';
import { binaryProblem, dot, inUnitBox, TallyOracle, threeClassProblem, type WeightKind } from './linear';

// Known answers (score oracle = softmax of the linear logits, d = 64 = 8×8, ε = 0.2, minimal L2
// distance |w·x + c|/‖w‖₂). SimBA moves ±ε along one basis direction per step, so its perturbation
// is ε·(sign pattern) on the directions used: it is near-optimal when w is aligned with its basis.
//   pixel basis, w = ±1 per pixel, minimal distance 1.5: measured 1.041×  → asserted 1.1×
//   DCT basis, w = ±1 on the 6×6 lowest frequencies, minimal distance 1.0: 1.10–1.11× → 1.2×
//   either basis, Gaussian w, minimal distance 1.0: 1.34–1.49× → 1.6×
// Budget: 1 + 2·64 = 129 queries covers every direction; asserted ≤ 200.
const cases: { basis: 'pixel' | 'dct'; kind: WeightKind; dist: number; factor: number }[] = [
  { basis: 'pixel', kind: 'signs', dist: 1.5, factor: 1.1 },
  { basis: 'dct', kind: 'dct', dist: 1.0, factor: 1.2 },
  { basis: 'pixel', kind: 'gaussian', dist: 1.0, factor: 1.6 },
  { basis: 'dct', kind: 'gaussian', dist: 1.0, factor: 1.6 },
];

describe('SimBA', () => {
  for (const c of cases) {
    it(`${c.basis} basis, ${c.kind} weights: within ${c.factor}x of the minimal L2 distance`, async () => {
      for (const seed of [1, 2, 3]) {
        const pb = binaryProblem(seed, 64, c.dist, c.kind);
        expect(inUnitBox(Float32Array.from(pb.closest))).toBe(true);
        const tally = new TallyOracle(pb.model);
        const r = await simba({ x: pb.x, label: 0, maxQueries: 200, seed, basis: c.basis }, tally);
        expect(r.success).toBe(true);
        expect(pb.model.label(r.adversarial)).toBe(1);
        expect(r.l2).toBeGreaterThanOrEqual(pb.minL2 * (1 - 1e-6));
        expect(r.l2).toBeLessThanOrEqual(c.factor * pb.minL2);
        expect(tally.images).toBeLessThanOrEqual(200);
        expect(r.queries).toBe(tally.images);
        expect(inUnitBox(r.adversarial)).toBe(true);
      }
    });
  }

  it('targeted: raises the target probability until the target class wins', async () => {
    const pb = threeClassProblem(4, 64, 0.5, 0.8);
    for (const basis of ['pixel', 'dct'] as const) {
      const r = await simba({ x: pb.x, label: 0, target: 2, maxQueries: 400, seed: 3, basis }, pb.model);
      expect(r.success).toBe(true);
      expect(r.adversarialLabel).toBe(2);
      expect(pb.model.label(r.adversarial)).toBe(2);
      // the recorded loss is p(target), rising
      const losses = r.trajectory.map((t) => t.loss as number);
      expect(losses[losses.length - 1]).toBeGreaterThan(losses[0]);
    }
  });

  it('untargeted losses (p of the label) only go down', async () => {
    const pb = binaryProblem(2, 64, 1.0);
    const r = await simba({ x: pb.x, label: 0, maxQueries: 200, seed: 2, basis: 'pixel' }, pb.model);
    const losses = r.trajectory.map((t) => t.loss as number);
    for (let i = 1; i < losses.length; i++) expect(losses[i]).toBeLessThanOrEqual(losses[i - 1]);
  });

  it('works when float32 probabilities saturate at p(label) = 1', async () => {
    // margin 2.5·‖w‖ ≈ 20 logits: p(label) rounds to exactly 1 in float32
    const pb = binaryProblem(1, 64, 2.5, 'signs');
    expect(pb.model.probs(pb.x)[0]).toBe(1);
    const r = await simba({ x: pb.x, label: 0, maxQueries: 200, seed: 1, basis: 'pixel' }, pb.model);
    expect(r.l2).toBeGreaterThan(1); // it moved
  });

  it('never uses more queries than its budget, to the query', async () => {
    const pb = binaryProblem(3, 64, 1.0);
    for (const budget of [0, 1, 2, 3, 50]) {
      const tally = new TallyOracle(pb.model);
      const r = await simba({ x: pb.x, label: 0, maxQueries: budget, seed: 1 }, tally);
      expect(tally.images).toBeLessThanOrEqual(budget);
      expect(r.queries).toBe(tally.images);
      expect(r.success).toBe(pb.model.label(r.adversarial) !== 0);
    }
  });

  it('reproduces a run exactly from its seed', async () => {
    const pb = binaryProblem(5, 64, 1.0);
    const a = await simba({ x: pb.x, label: 0, maxQueries: 100, seed: 8 }, pb.model);
    const b = await simba({ x: pb.x, label: 0, maxQueries: 100, seed: 8 }, pb.model);
    const c = await simba({ x: pb.x, label: 0, maxQueries: 100, seed: 9 }, pb.model);
    expect(Array.from(a.adversarial)).toEqual(Array.from(b.adversarial));
    expect(a.trajectory).toEqual(b.trajectory);
    expect(Array.from(a.adversarial)).not.toEqual(Array.from(c.adversarial));
  });

  it('resolves the paper parameters for 28×28 (freq 28/224 → 4, stride 7/224 → 1) and ε = 0.2', () => {
    const p = resolveSimbaParams({}, 28, 28);
    expect(p).toMatchObject({
      basis: 'dct',
      epsilon: 0.2,
      order: 'strided',
      freqDims: 4,
      stride: 1,
      maxIterations: 784,
    });
    const px = resolveSimbaParams({ basis: 'pixel' }, 28, 28);
    expect(px).toMatchObject({ order: 'rand', maxIterations: 784 });
    expect(resolveSimbaParams({ order: 'rand' }, 28, 28).maxIterations).toBe(16);
  });

  it('the strided order is a permutation that visits low frequencies first', () => {
    const order = simbaOrder(28, 28, 'strided', 4, 3, new Rng(1));
    expect(new Set(order).size).toBe(784);
    expect(Math.max(...order)).toBe(783);
    // the first 16 are the 4×4 block, the next ring stays within 7×7
    for (let k = 0; k < 16; k++) expect(Math.max(Math.floor(order[k] / 28), order[k] % 28)).toBeLessThan(4);
    for (let k = 16; k < 49; k++) expect(Math.max(Math.floor(order[k] / 28), order[k] % 28)).toBeLessThan(7);
    expect(Math.max(Math.floor(order[16] / 28), order[16] % 28)).toBeGreaterThanOrEqual(4);
    // non-square grids work too
    const o2 = simbaOrder(6, 10, 'strided', 2, 2, new Rng(2));
    expect(new Set(o2).size).toBe(60);
  });

  it('the DCT basis is orthonormal', () => {
    const b = new DctBasis(5, 7);
    for (const i of [0, 1, 8, 34]) {
      for (const j of [0, 1, 8, 34]) {
        expect(dot(b.vector(i), b.vector(j))).toBeCloseTo(i === j ? 1 : 0, 10);
      }
    }
  });

  it('rejects the L∞ norm', async () => {
    const pb = binaryProblem(1);
    await expect(
      simba({ x: pb.x, label: 0, maxQueries: 5, seed: 1, norm: 'linf' }, pb.model),
    ).rejects.toThrow(/L2/);
  });
});
