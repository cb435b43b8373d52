/**
 * White-box FGSM and PGD on real onnxruntime-node sessions through the reverse pass.
 * - Known answer: on a linear classifier the smallest perturbation that changes the class is
 *   min_j m_j/‖w_y − w_j‖ (L2, dual norm L2) or m_j/‖w_y − w_j‖₁ (L∞), m_j the logit margin; PGD
 *   must succeed just above it and cannot below it.
 * - Strength: PGD-20 at L∞ ε 0.1 leaves the vanilla CNN `0` at most 1 % accurate on 200 test
 *   images, and on `0_1`, `2_1`, `5_1` it matches the training code's PGD-20 (adversary.py on the
 *   same file and images, test/golden/pgd20.json) within 3 points.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeEngine } from '../../../server/node-engine';
import { fgsm, pgd } from '../../../src/attacks/whitebox';
import { MODELS } from '../../../src/core/models';
import { Rng } from '../../../src/core/prng';
import { imageInput } from '../../../src/data/idx';
import { engineWhiteBoxOracle } from '../../../src/gradients/oracle';
import { loadTestSetNode } from '../../../tools/lib/test-set-node';
import { linearModel } from '../../helpers/onnx-models';

const engine = createNodeEngine({ threads: 2 });
afterAll(() => engine.release());

describe('PGD on a linear classifier (known minimal perturbation)', () => {
  const rng = new Rng(5);
  const w = Array.from({ length: 7840 }, () => rng.normal() * 0.05);
  const b = Array.from({ length: 10 }, () => rng.normal() * 0.1);
  // mid-gray images: the [0, 1] box never binds at these radii
  const xs = Array.from({ length: 6 }, () =>
    Float32Array.from({ length: 784 }, () => 0.45 + 0.1 * rng.uniform()),
  );
  const logits = (x: Float32Array) =>
    Array.from({ length: 10 }, (_, c) => b[c] + x.reduce((s, v, i) => s + v * w[c * 784 + i], 0));
  const labels = xs.map((x) => {
    const z = logits(x);
    return z.indexOf(Math.max(...z));
  });
  /** smallest distance to another class's half-space, in the dual norm of the attack norm */
  const minimal = (x: Float32Array, y: number, dual: (v: number[]) => number) => {
    const z = logits(x);
    let best = Number.POSITIVE_INFINITY;
    for (let j = 0; j < 10; j++) {
      if (j === y) continue;
      const diff = Array.from({ length: 784 }, (_, i) => w[y * 784 + i] - w[j * 784 + i]);
      best = Math.min(best, (z[y] - z[j]) / dual(diff));
    }
    return best;
  };
  const l2 = (v: number[]) => Math.hypot(...v);
  const l1 = (v: number[]) => v.reduce((s, a) => s + Math.abs(a), 0);

  it.each([
    ['l2', l2],
    ['linf', l1],
  ] as const)('%s: succeeds at 1.05× the minimal radius, never at 0.95×', async (norm, dual) => {
    await engine.addCustom('linear', 'linear.onnx', linearModel(w, b));
    const oracle = engineWhiteBoxOracle(engine, { weights: 'custom/linear', preprocessor: null }, 1, 0);
    for (const [k, x] of xs.entries()) {
      const r = minimal(x, labels[k], dual);
      const opts = {
        xs: [x],
        labels: [labels[k]],
        seed: k,
        norm,
        steps: 100,
        loss: 'margin' as const,
        randomStart: false,
      };
      const above = await pgd({ ...opts, eps: 1.05 * r, stepSize: (1.05 * r) / 20 }, oracle);
      expect(above.results[0].success, `image ${k} at 1.05×${r}`).toBe(true);
      const below = await pgd(
        { ...opts, eps: 0.95 * r, stepSize: (0.95 * r) / 20, restarts: 2, randomStart: true },
        oracle,
      );
      expect(below.results[0].success, `image ${k} at 0.95×${r}`).toBe(false);
      const dist = norm === 'l2' ? below.results[0].l2 : below.results[0].linf;
      expect(dist).toBeLessThanOrEqual(0.95 * r + 1e-6);
    }
  });
});

describe('targeted PGD (two live classes on a linear model)', () => {
  it.each(['ce', 'margin', 'dlr'] as const)('%s: moves the image into the target class', async (loss) => {
    const rng = new Rng(11);
    const w = Array.from({ length: 7840 }, () => rng.normal() * 0.05);
    // only classes 0 and 1 can win: the target is the other one, and steps must go towards it
    const b = Array.from({ length: 10 }, (_, c) => (c < 2 ? 0 : -100));
    await engine.addCustom('targeted', 'targeted.onnx', linearModel(w, b));
    const oracle = engineWhiteBoxOracle(engine, { weights: 'custom/targeted', preprocessor: null }, 1, 0);
    const x = Float32Array.from({ length: 784 }, () => 0.45 + 0.1 * rng.uniform());
    const z = [0, 1].map((c) => x.reduce((s, v, i) => s + v * w[c * 784 + i], 0));
    const label = z[0] >= z[1] ? 0 : 1;
    const target = 1 - label;
    let l1 = 0;
    for (let i = 0; i < 784; i++) l1 += Math.abs(w[i] - w[784 + i]);
    const r = Math.abs(z[0] - z[1]) / l1;
    const run = await pgd(
      { xs: [x], labels: [label], targets: [target], seed: 1, norm: 'linf', eps: 1.1 * r, steps: 40, loss },
      oracle,
    );
    expect(run.results[0].adversarialLabel, `${loss}: radius ${r}`).toBe(target);
    expect(run.results[0].success).toBe(true);
  });
});

describe('PGD-20 strength on the shipped models (L∞ ε 0.1, 200 test images)', () => {
  const set = loadTestSetNode();
  const n = 200;
  const xs = Array.from({ length: n }, (_, i) => imageInput(set, i));
  const labels = Array.from({ length: n }, (_, i) => set.labels[i]);
  const reference = JSON.parse(readFileSync(join('test', 'golden', 'pgd20.json'), 'utf8'));
  const model = (id: string) => MODELS.find((m) => m.id === id)!;

  const robust = async (id: string) => {
    const oracle = engineWhiteBoxOracle(engine, model(id), 1, 0);
    const run = await pgd({ xs, labels, seed: 0, norm: 'linf', eps: 0.1, steps: 20, quantize: true }, oracle);
    for (const r of run.results) expect(r.linf).toBeLessThanOrEqual(0.1 + 1e-6);
    return { run, accuracy: run.results.filter((r) => !r.success).length / n };
  };

  it('leaves the vanilla CNN 0 at most 1 % accurate; FGSM is weaker; evaluations are counted', async () => {
    const { run, accuracy } = await robust('0');
    expect(accuracy).toBeLessThanOrEqual(0.01);
    // 20 gradient steps per image, then one forward check of each reported image
    expect(run.gradientEvaluations).toBe(20 * n);
    expect(run.forwardQueries).toBe(n);
    const one = await fgsm(
      { xs, labels, seed: 0, norm: 'linf', eps: 0.1 },
      engineWhiteBoxOracle(engine, model('0'), 1, 0),
    );
    expect(one.gradientEvaluations).toBe(n);
    expect(one.results.filter((r) => !r.success).length / n).toBeGreaterThan(accuracy);
  }, 60_000);

  it.each(['0_1', '2_1', '5_1'])(
    '%s matches the training code’s PGD-20 within 3 points',
    async (id) => {
      expect(reference.n).toBe(n);
      const { accuracy } = await robust(id);
      expect(Math.abs(accuracy - reference.robust_accuracy[id])).toBeLessThanOrEqual(0.03);
    },
    120_000,
  );
});

describe('PGD against a randomized defense (EOT)', () => {
  it('0_4: averages draws per step, replays from its seed and says the result is random', async () => {
    const set = loadTestSetNode();
    const xs = [0, 1, 2].map((i) => imageInput(set, i));
    const labels = [0, 1, 2].map((i) => set.labels[i]);
    const target = MODELS.find((m) => m.id === '0_4')!;
    const run = (seed: number) =>
      pgd(
        { xs, labels, seed, norm: 'linf', eps: 0.1, steps: 3 },
        engineWhiteBoxOracle(engine, target, 4, seed),
      );
    const a = await run(1);
    const b = await run(1);
    expect(a.randomized).toBe(true);
    expect(a.trajectory.map((p) => p.loss)).toEqual(b.trajectory.map((p) => p.loss));
    // 4 draws per image and step
    expect(a.gradientEvaluations % 4).toBe(0);
    expect(a.trajectory[0].gradientEvaluations).toBe(12);
  }, 60_000);
});
