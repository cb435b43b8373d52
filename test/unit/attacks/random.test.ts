import { describe, expect, it } from 'vitest';
import { randomNoise } from '../../../src/attacks/random';
import { l2Distance, linfDistance } from '../../../src/attacks/vec';
import { binaryProblem, inUnitBox, TallyOracle, threeClassProblem } from './linear';

describe('random-noise baseline', () => {
  it('cannot succeed below the minimal distance: uses all draws and returns x', async () => {
    const pb = binaryProblem(1, 64, 0.5);
    for (const norm of ['linf', 'l2'] as const) {
      const eps = 0.99 * (norm === 'linf' ? pb.minLinf : pb.minL2);
      const tally = new TallyOracle(pb.model);
      const r = await randomNoise({ x: pb.x, label: 0, maxQueries: 300, seed: 1, norm, eps }, tally);
      expect(r.success).toBe(false);
      expect(tally.images).toBe(300);
      expect(r.queries).toBe(300);
      expect(Array.from(r.adversarial)).toEqual(Array.from(pb.x));
    }
  });

  it('succeeds with large noise, within eps, and stops at the first hit (charging its call)', async () => {
    // Random L2 directions barely move w·x (≈ ε/√d per unit of ‖w‖), so it takes ε ≫ the minimum.
    const pb = binaryProblem(2, 64, 0.1);
    for (const norm of ['linf', 'l2'] as const) {
      const eps = norm === 'linf' ? 0.3 : 2.5;
      const tally = new TallyOracle(pb.model);
      const r = await randomNoise(
        { x: pb.x, label: 0, maxQueries: 1000, seed: 3, norm, eps, drawsPerCall: 8 },
        tally,
      );
      expect(r.success).toBe(true);
      expect(pb.model.label(r.adversarial)).toBe(1);
      const dist = norm === 'linf' ? linfDistance(r.adversarial, pb.x) : l2Distance(r.adversarial, pb.x);
      expect(dist).toBeLessThanOrEqual(eps);
      expect(inUnitBox(r.adversarial)).toBe(true);
      expect(tally.images).toBe(r.queries);
      expect(r.queries).toBeLessThan(1000);
      expect(r.queries % 8).toBe(0);
      expect(tally.maxBatch).toBe(8);
    }
  });

  it('never uses more queries than its budget when the batch does not divide it', async () => {
    const pb = binaryProblem(1, 64, 0.5);
    for (const budget of [0, 1, 13, 100]) {
      const tally = new TallyOracle(pb.model);
      const r = await randomNoise({ x: pb.x, label: 0, maxQueries: budget, seed: 1, eps: 0.01 }, tally);
      expect(tally.images).toBe(budget);
      expect(r.queries).toBe(budget);
    }
  });

  it('targeted: only the target class counts', async () => {
    const pb = threeClassProblem(3, 64, 0.05, 0.1);
    const r = await randomNoise(
      { x: pb.x, label: 0, target: 2, maxQueries: 2000, seed: 2, eps: 0.4 },
      pb.model,
    );
    expect(r.success).toBe(true);
    expect(pb.model.label(r.adversarial)).toBe(2);
  });

  it('reproduces a run exactly from its seed', async () => {
    const pb = binaryProblem(2, 64, 0.1);
    const a = await randomNoise({ x: pb.x, label: 0, maxQueries: 500, seed: 4, eps: 0.3 }, pb.model);
    const b = await randomNoise({ x: pb.x, label: 0, maxQueries: 500, seed: 4, eps: 0.3 }, pb.model);
    expect(a.success).toBe(true);
    expect(Array.from(a.adversarial)).toEqual(Array.from(b.adversarial));
    expect(a.queries).toBe(b.queries);
  });
});
