/**
 * FAB-T, AutoAttack's checks and the composite, on real onnxruntime-node sessions through the
 * reverse pass.
 * - FAB's L∞ projection onto a hyperplane in the box is the least-L∞ move (against a bisection).
 * - Known answer: on a linear classifier FAB-T finds the minimal L∞ adversarial (it succeeds at
 *   1.02× the radius min_j m_j/‖w_y − w_j‖₁, never at 0.98×).
 * - Each check is raised by a model built to trigger it and not by the shipped `0`.
 * - The composite: stages run on the images still robust, every broken image is on the 8-bit grid
 *   inside the ball and misclassified by a plain forward query, and a randomized model gets `rand`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeEngine } from '../../../server/node-engine';
import { apgd, apgdTargeted } from '../../../src/attacks/apgd';
import { autoAttack } from '../../../src/attacks/autoattack';
import { preChecks, squareCheck } from '../../../src/attacks/autoattack-checks';
import { fabTargeted, projectLinfHyperplane } from '../../../src/attacks/fab';
import { createRouterOracle } from '../../../src/attacks/oracle';
import { MODELS } from '../../../src/core/models';
import { Rng } from '../../../src/core/prng';
import { createRouter } from '../../../src/core/router';
import { imageInput } from '../../../src/data/idx';
import { engineWhiteBoxOracle } from '../../../src/gradients/oracle';
import { loadTestSetNode } from '../../../tools/lib/test-set-node';
import { linearModel } from '../../helpers/onnx-models';

const engine = createNodeEngine({ threads: 2 });
afterAll(() => engine.release());
const model = (id: string) => MODELS.find((m) => m.id === id)!;

/** The move of each pixel at radius λ (towards raising w·z when `up`), capped by the box. */
function gainAt(t: number[], w: number[], lambda: number, up: boolean): number {
  let g = 0;
  for (let i = 0; i < t.length; i++) {
    if (w[i] === 0) continue;
    const room = w[i] > 0 === up ? 1 - t[i] : t[i];
    g += Math.abs(w[i]) * Math.min(lambda, room);
  }
  return g;
}

describe('FAB', () => {
  it('projects onto a hyperplane in the box with the least L∞ move', () => {
    const rng = new Rng(3);
    for (let c = 0; c < 200; c++) {
      const n = 1 + rng.int(40);
      const t = Array.from({ length: n }, () => (rng.uniform() < 0.2 ? rng.int(2) : rng.uniform()));
      const w = Array.from({ length: n }, () => (rng.uniform() < 0.1 ? 0 : rng.normal()));
      const wt = t.reduce((s, v, i) => s + v * w[i], 0);
      const b = wt + rng.normal() * rng.uniform() * 3;
      const d = projectLinfHyperplane(t, w, b);
      const up = b >= wt;
      const need = Math.abs(b - wt);
      const reachable = gainAt(t, w, 2, up) > need;
      for (let i = 0; i < n; i++) {
        expect(t[i] + d[i]).toBeGreaterThanOrEqual(-1e-12);
        expect(t[i] + d[i]).toBeLessThanOrEqual(1 + 1e-12);
        if (w[i] === 0) expect(d[i]).toBe(0);
      }
      if (!reachable) continue;
      const reached = t.reduce((s, v, i) => s + (v + d[i]) * w[i], 0);
      expect(reached).toBeCloseTo(b, 9);
      // the least radius: a bisection on the gain reaches the same λ
      let lo = 0;
      let hi = 1;
      for (let k = 0; k < 60; k++) {
        const mid = (lo + hi) / 2;
        if (gainAt(t, w, mid, up) >= need) hi = mid;
        else lo = mid;
      }
      const radius = Math.max(0, ...Array.from(d, Math.abs));
      expect(radius).toBeCloseTo(hi, 9);
    }
  });

  it('linear model: FAB-T finds the minimal L∞ adversarial (succeeds at 1.02×, never at 0.98×)', async () => {
    const rng = new Rng(11);
    const w = Array.from({ length: 7840 }, () => rng.normal() * 0.05);
    // two live classes: the target of FAB-T's first round is the other one, and the radius is known
    const b = Array.from({ length: 10 }, (_, c) => (c < 2 ? rng.normal() * 0.1 : -100));
    await engine.addCustom('fab-linear', 'fab-linear.onnx', linearModel(w, b));
    const oracle = engineWhiteBoxOracle(engine, { weights: 'custom/fab-linear', preprocessor: null }, 1, 0);
    for (let k = 0; k < 4; k++) {
      const x = Float32Array.from({ length: 784 }, () => 0.45 + 0.1 * rng.uniform());
      const z = [0, 1].map((c) => b[c] + x.reduce((s, v, i) => s + v * w[c * 784 + i], 0));
      const y = z[0] > z[1] ? 0 : 1;
      let l1 = 0;
      for (let i = 0; i < 784; i++) l1 += Math.abs(w[i] - w[784 + i]);
      const r = Math.abs(z[0] - z[1]) / l1;
      const base = { xs: [x], labels: [y], norm: 'linf' as const, targets: 1 };
      const above = await fabTargeted({ ...base, eps: 1.02 * r }, oracle);
      expect(above.results[0].success, `image ${k}`).toBe(true);
      expect(above.results[0].linf).toBeLessThanOrEqual(1.02 * r + 1e-6);
      expect(above.results[0].linf).toBeGreaterThanOrEqual(r * (1 - 1e-4));
      const below = await fabTargeted({ ...base, eps: 0.98 * r }, oracle);
      expect(below.results[0].success, `image ${k} below`).toBe(false);
    }
  });
});

describe("AutoAttack's checks", () => {
  const set = loadTestSetNode();
  const xs = Array.from({ length: 8 }, (_, i) => imageInput(set, i));
  const labels = Array.from({ length: 8 }, (_, i) => set.labels[i]);
  const use = { dlr: true, targets: 9 };
  const codes = async (weights: string, preprocessor = model('0').preprocessor) =>
    (
      await preChecks(engineWhiteBoxOracle(engine, { weights, preprocessor }, 1, 5), xs, labels, use)
    ).flags.map((f) => f.code);

  it('the shipped 0 raises none', async () => {
    expect(await codes('0')).toEqual([]);
  });

  it('a softmax output, a dead zone and a randomized defense each raise their flag', async () => {
    const rng = new Rng(2);
    const w = Array.from({ length: 7840 }, () => rng.normal() * 0.05);
    const b = Array.from({ length: 10 }, () => rng.normal() * 0.1);
    await engine.addCustom('aa-softmax', 'aa-softmax.onnx', linearModel(w, b, { softmax: true }));
    await engine.addCustom('aa-dead', 'aa-dead.onnx', linearModel(w, b, { deadZone: true }));
    expect(await codes('custom/aa-softmax')).toEqual(['softmax_output']);
    expect(await codes('custom/aa-dead')).toEqual(['zero_gradient']);
    const noise = model('0_4');
    expect(await codes(noise.weights, noise.preprocessor)).toEqual(['random_output']);
  });

  it("Square's flag: more than 0.2 % of the images broken by Square alone", () => {
    expect(squareCheck(50, 50, 100)).toBeNull();
    expect(squareCheck(500, 499, 1000)).toBeNull();
    expect(squareCheck(500, 497, 1000)?.code).toBe('square_beats_whitebox');
  });
});

describe('AutoAttack (composite)', () => {
  const set = loadTestSetNode();

  it('0_1, 10 images: each stage on the robust ones; broken images are on the grid, in the ball and misclassified', async () => {
    const n = 10;
    const xs = Array.from({ length: n }, (_, i) => imageInput(set, i));
    const labels = Array.from({ length: n }, (_, i) => set.labels[i]);
    const seeds = labels.map((_, i) => 100 + i);
    const m = model('0_1');
    const router = createRouter(engine, { models: () => MODELS });
    const handle = async (req: { method: string; path: string; body: string }) => router.handle(req);
    const started: string[] = [];
    const run = await autoAttack(
      {
        xs,
        labels,
        seeds,
        norm: 'linf',
        eps: 0.1,
        quantize: true,
        squareQueries: 300,
        onStage: (p) => {
          if (p.phase === 'start') started.push(`${p.stage}:${p.robust}`);
        },
      },
      {
        whiteBox: engineWhiteBoxOracle(engine, m, 1, 0),
        score: createRouterOracle(handle, { modelId: '0_1', batch: true, seed: 1 }),
      },
    );
    expect(run.version).toBe('standard');
    expect(run.versionReason).toBe('deterministic model');
    expect(run.stages.map((s) => s.stage)).toEqual(['apgd-ce', 'apgd-t', 'fab-t', 'square']);
    const counts = [run.clean, ...run.stages.map((s) => s.robust)];
    for (let k = 1; k < counts.length; k++) expect(counts[k]).toBeLessThanOrEqual(counts[k - 1]);
    // each stage started on exactly the images the previous one left
    expect(started.map((s) => Number(s.split(':')[1]))).toEqual(counts.slice(0, -1));
    const broken = run.results.filter((r) => r.success);
    expect(broken.length).toBe(run.clean - run.stages[run.stages.length - 1].robust);
    const preds = await engineWhiteBoxOracle(engine, m, 1, 0).decide(broken.map((r) => r.adversarial));
    broken.forEach((r, k) => {
      expect(r.linf).toBeLessThanOrEqual(0.1 + 1e-6);
      for (const v of r.adversarial) expect(Math.abs(v * 255 - Math.round(v * 255))).toBeLessThan(1e-3);
      expect(preds[k]).not.toBe(r.originalLabel);
      expect(r.brokenBy).not.toBeNull();
    });
    // no weaker than its first stage alone
    const ce = await apgd(
      { xs, labels, seeds, norm: 'linf', eps: 0.1, quantize: true },
      engineWhiteBoxOracle(engine, m, 1, 0),
    );
    const ceRobust = ce.results.filter((r, i) => !r.success && run.results[i].brokenBy !== 'clean').length;
    expect(run.stages[run.stages.length - 1].robust).toBeLessThanOrEqual(ceRobust);
  }, 300_000);

  it('a randomized model gets the rand version (APGD-CE, APGD-DLR), and says why', async () => {
    const xs = [imageInput(set, 0), imageInput(set, 1)];
    const labels = [set.labels[0], set.labels[1]];
    const m = model('0_4');
    const run = await autoAttack(
      { xs, labels, seeds: [1, 2], norm: 'linf', eps: 0.1, quantize: true, eot: 2 },
      {
        whiteBox: engineWhiteBoxOracle(engine, m, 2, 0),
        score: {
          score: () => {
            throw new Error('the rand version runs no Square');
          },
        },
      },
    );
    expect(run.version).toBe('rand');
    expect(run.versionReason).toBe('randomized model');
    expect(run.stages.map((s) => s.stage)).toEqual(['apgd-ce', 'apgd-dlr']);
    expect(run.flags.map((f) => f.code)).toContain('random_output');
    expect(run.params.eot).toBe(2);
  }, 300_000);
});

const REFERENCE = 'test/golden/autoattack-reference.json';

describe.skipIf(!existsSync(REFERENCE))('strength against the official AutoAttack (golden file)', () => {
  it('0_1, first 10 images: APGD-CE then APGD-T leave no more images robust than the reference did, within one image', async () => {
    const ref = JSON.parse(readFileSync(REFERENCE, 'utf8')) as {
      eps: number;
      by_model: Record<string, { robust: number[] }>;
    };
    const mask = ref.by_model['0_1']?.robust;
    expect(mask, 'the golden file holds 0_1').toBeDefined();
    const set = loadTestSetNode();
    const n = 10;
    const xs = Array.from({ length: n }, (_, i) => imageInput(set, i));
    const labels = Array.from({ length: n }, (_, i) => set.labels[i]);
    const seeds = labels.map((_, i) => 1000 + i);
    const oracle = engineWhiteBoxOracle(engine, model('0_1'), 1, 0);
    // the product's ε 0.1 on the 8-bit grid is the reference's 25/255
    const common = { xs, labels, seeds, norm: 'linf' as const, eps: 0.1, quantize: true };
    const ce = await apgd(common, oracle);
    const left = [...Array(n).keys()].filter((i) => !ce.results[i].success);
    const t = await apgdTargeted(
      {
        ...common,
        xs: left.map((i) => xs[i]),
        labels: left.map((i) => labels[i]),
        seeds: left.map((i) => seeds[i]),
      },
      oracle,
    );
    const clean = await oracle.decide(xs);
    const robust = left.filter((i, k) => !t.results[k].success && clean[i] === labels[i]).length;
    const reference = mask!.slice(0, n).reduce((a, b) => a + b, 0);
    expect(robust, `product ${robust}/10 robust, reference ${reference}/10`).toBeLessThanOrEqual(
      reference + 1,
    );
  }, 300_000);
});
