import { describe, expect, it } from 'vitest';
import { boundaryAttack } from '../../../src/attacks/boundary';
import { binaryProblem, imageOfClass, inUnitBox, TallyOracle, threeClassProblem } from './linear';

// Known answer as for HSJA (minimal L2 distance |w·x + c|/‖w‖₂, d = 64). Measured ratios:
// 1.4–1.8 at 2000 queries, 1.00–1.01 at 5000. Asserted: 1.2× at 5000 queries.
const FACTOR = 1.2;
const BUDGET = 5000;

describe('Boundary attack', () => {
  it(`gets within ${FACTOR}x of the minimal L2 distance of a linear classifier in ${BUDGET} queries`, async () => {
    for (const seed of [1, 2, 3]) {
      const pb = binaryProblem(seed, 64, 0.5);
      const tally = new TallyOracle(pb.model);
      const r = await boundaryAttack({ x: pb.x, label: 0, maxQueries: BUDGET, seed }, tally);
      expect(r.success).toBe(true);
      expect(pb.model.label(r.adversarial)).toBe(1);
      expect(r.l2).toBeGreaterThanOrEqual(pb.minL2 * (1 - 1e-6));
      expect(r.l2).toBeLessThanOrEqual(FACTOR * pb.minL2);
      expect(tally.images).toBeLessThanOrEqual(BUDGET);
      expect(r.queries).toBe(tally.images);
      expect(inUnitBox(r.adversarial)).toBe(true);
      // the distance trajectory only goes down
      const ds = r.trajectory.map((t) => t.distance as number);
      for (let i = 1; i < ds.length; i++) expect(ds[i]).toBeLessThanOrEqual(ds[i - 1]);
    }
  });

  it('adapts its step sizes (they leave their initial values)', async () => {
    const pb = binaryProblem(2);
    const r = await boundaryAttack({ x: pb.x, label: 0, maxQueries: 3000, seed: 2 }, pb.model);
    expect(r.params.finalSourceStep).not.toBe(1e-2);
    expect(r.params.finalSphericalStep).not.toBe(1e-2);
  });

  it('never uses more queries than its budget, to the query', async () => {
    const pb = binaryProblem(3);
    for (const budget of [0, 1, 9, 10, 11, 12, 333]) {
      const tally = new TallyOracle(pb.model);
      const r = await boundaryAttack({ x: pb.x, label: 0, maxQueries: budget, seed: 5 }, tally);
      expect(tally.images).toBeLessThanOrEqual(budget);
      expect(r.queries).toBe(tally.images);
    }
  });

  it('reproduces a run exactly from its seed', async () => {
    const pb = binaryProblem(1);
    const a = await boundaryAttack({ x: pb.x, label: 0, maxQueries: 700, seed: 11 }, pb.model);
    const b = await boundaryAttack({ x: pb.x, label: 0, maxQueries: 700, seed: 11 }, pb.model);
    const c = await boundaryAttack({ x: pb.x, label: 0, maxQueries: 700, seed: 12 }, pb.model);
    expect(a.success).toBe(true);
    expect(Array.from(a.adversarial)).toEqual(Array.from(b.adversarial));
    expect(a.trajectory).toEqual(b.trajectory);
    expect(Array.from(a.adversarial)).not.toEqual(Array.from(c.adversarial));
  });

  it('targeted: from an image of the target class, reaches it within 1.5x of the minimal distance', async () => {
    const pb = threeClassProblem(6, 64, 0.5, 0.8);
    expect(pb.model.label(pb.past2)).toBe(2);
    const init = imageOfClass(pb.model, pb.x, 2, pb.w2);
    const r = await boundaryAttack(
      { x: pb.x, label: 0, target: 2, init, maxQueries: 5000, seed: 3 },
      pb.model,
    );
    expect(r.success).toBe(true);
    expect(pb.model.label(r.adversarial)).toBe(2);
    expect(r.l2).toBeGreaterThanOrEqual(pb.d2 * (1 - 1e-6));
    expect(r.l2).toBeLessThanOrEqual(1.5 * pb.d2);
  });

  it('is L2 only', async () => {
    const pb = binaryProblem(1);
    await expect(
      boundaryAttack({ x: pb.x, label: 0, maxQueries: 10, seed: 1, norm: 'linf' }, pb.model),
    ).rejects.toThrow(/L2 only/);
  });
});
