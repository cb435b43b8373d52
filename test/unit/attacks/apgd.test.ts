/**
 * APGD (Croce & Hein 2020) on real onnxruntime-node sessions through the reverse pass.
 * - Its step-size checkpoints are the reference's (autopgd_base.py: 22 %, then −3 % down to 6 %).
 * - Known answer: on a linear classifier the smallest L∞ perturbation that changes the class is
 *   min_j m_j/‖w_y − w_j‖₁; APGD-CE succeeds at 1.02× it, never at 0.98×, and reaches it in fewer
 *   iterations than PGD with the same budget (its first step is 2ε).
 * - Strength: APGD-CE and APGD-T on the PGD-trained CNN `0_1` are at least as strong as PGD-20.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeEngine } from '../../../server/node-engine';
import { apgd, apgdCheckpoints, apgdTargeted } from '../../../src/attacks/apgd';
import { pgd } from '../../../src/attacks/whitebox';
import { MODELS } from '../../../src/core/models';
import { Rng } from '../../../src/core/prng';
import { imageInput } from '../../../src/data/idx';
import { engineWhiteBoxOracle } from '../../../src/gradients/oracle';
import { loadTestSetNode } from '../../../tools/lib/test-set-node';
import { linearModel } from '../../helpers/onnx-models';

const engine = createNodeEngine({ threads: 2 });
afterAll(() => engine.release());

describe('APGD', () => {
  it('halves its step at the reference checkpoints', () => {
    // n_iter 100: 22, then windows 19, 16, 13, 10, 7, 6, … (autopgd_base.py)
    expect(apgdCheckpoints(100)).toEqual([22, 41, 57, 70, 80, 87, 93, 99]);
    expect(apgdCheckpoints(10)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('linear model: succeeds at 1.02× the minimal L∞ radius, never at 0.98×, and before PGD does', async () => {
    const rng = new Rng(9);
    const w = Array.from({ length: 7840 }, () => rng.normal() * 0.05);
    // two live classes (the others' biases keep them far below): the cross-entropy gradient's sign is
    // then exactly the direction of the nearest boundary, and the minimal radius is known
    const b = Array.from({ length: 10 }, (_, c) => (c < 2 ? rng.normal() * 0.1 : -100));
    await engine.addCustom('apgd-linear', 'apgd-linear.onnx', linearModel(w, b));
    const oracle = engineWhiteBoxOracle(engine, { weights: 'custom/apgd-linear', preprocessor: null }, 1, 0);
    for (let k = 0; k < 4; k++) {
      const x = Float32Array.from({ length: 784 }, () => 0.45 + 0.1 * rng.uniform());
      const z = Array.from({ length: 10 }, (_, c) => b[c] + x.reduce((s, v, i) => s + v * w[c * 784 + i], 0));
      const y = z.indexOf(Math.max(...z));
      let r = Number.POSITIVE_INFINITY;
      for (let j = 0; j < 10; j++) {
        if (j === y) continue;
        let l1 = 0;
        for (let i = 0; i < 784; i++) l1 += Math.abs(w[y * 784 + i] - w[j * 784 + i]);
        r = Math.min(r, (z[y] - z[j]) / l1);
      }
      const base = { xs: [x], labels: [y], seeds: [k], norm: 'linf' as const, nIter: 20 };
      let apgdAt = -1;
      const above = await apgd(
        {
          ...base,
          eps: 1.02 * r,
          onStep: (p) => {
            if (apgdAt < 0 && p.fooled) apgdAt = p.iteration;
          },
        },
        oracle,
      );
      expect(above.results[0].success, `image ${k}`).toBe(true);
      expect(above.results[0].linf).toBeLessThanOrEqual(1.02 * r + 1e-6);
      const below = await apgd({ ...base, eps: 0.98 * r, restarts: 2 }, oracle);
      expect(below.results[0].success, `image ${k} below`).toBe(false);
      let pgdAt = -1;
      await pgd(
        {
          xs: [x],
          labels: [y],
          seed: k,
          norm: 'linf',
          eps: 1.02 * r,
          steps: 20,
          onStep: (p) => {
            if (pgdAt < 0 && p.margin < 0) pgdAt = p.step;
          },
        },
        oracle,
      );
      expect(apgdAt).toBeGreaterThanOrEqual(0);
      expect(apgdAt, `APGD fooled at ${apgdAt}, PGD at ${pgdAt}`).toBeLessThan(pgdAt < 0 ? 1000 : pgdAt);
    }
  });

  it('0_1: APGD-CE and APGD-T (20 images, L∞ 0.1) are no weaker than PGD-20', async () => {
    const set = loadTestSetNode();
    const n = 20;
    const xs = Array.from({ length: n }, (_, i) => imageInput(set, i));
    const labels = Array.from({ length: n }, (_, i) => set.labels[i]);
    const model = MODELS.find((m) => m.id === '0_1')!;
    const oracle = () => engineWhiteBoxOracle(engine, model, 1, 0);
    const robust = (r: { results: { success: boolean }[] }) => r.results.filter((x) => !x.success).length;
    const p = await pgd({ xs, labels, seed: 0, norm: 'linf', eps: 0.1, steps: 20, quantize: true }, oracle());
    const ce = await apgd(
      { xs, labels, seeds: labels.map((_, i) => i), norm: 'linf', eps: 0.1, quantize: true },
      oracle(),
    );
    const t = await apgdTargeted(
      { xs, labels, seeds: labels.map((_, i) => i), norm: 'linf', eps: 0.1, quantize: true, targets: 3 },
      oracle(),
    );
    expect(robust(ce)).toBeLessThanOrEqual(robust(p));
    expect(robust(t)).toBeLessThanOrEqual(robust(p));
    for (const r of [...ce.results, ...t.results]) expect(r.linf).toBeLessThanOrEqual(0.1 + 1e-6);
    expect(ce.gradientEvaluations).toBe(n * 101);
  }, 120_000);
});
