/**
 * FAB-T, the targeted Fast Adaptive Boundary attack at L∞: Croce & Hein, "Minimally distorted
 * adversarial examples with a fast adaptive boundary attack", ICML 2020, Algorithm 1; written
 * after the reference code fra31/auto-attack, autoattack/fab_base.py (attack_single_run with
 * is_targeted, perturb) and fab_projections.py (projection_linf), as AutoAttack's standard version
 * runs it: one restart without a random start, 100 iterations, the 9 next-most-likely classes in
 * turn, α_max 0.1, η 1.05, β 0.9.
 *
 * Each iteration linearises the boundary between the label y and the target t, the zero set of
 * z_t − z_y (one gradient evaluation), projects both the iterate and the clean image onto that
 * hyperplane inside [0, 1] with the least L∞ change, and moves to a convex combination of the two
 * projections (weight α ≤ α_max on the clean one's, overshooting by η). When the new iterate is
 * misclassified (one forward query) it is kept if it is the closest so far, and the iterate is
 * pulled back towards x by β. FAB minimises the distance: a point counts only if its L∞ distance is
 * at most ε.
 *
 * The reported image is rounded to the 8-bit grid inside the ε-ball and checked by one forward
 * query. FAB's points lie just past the boundary, where rounding can undo them; when it does, the
 * same direction stretched to the ball's surface (x + (adv − x)·ε/‖adv − x‖∞) is rounded and
 * checked as well (one more query). That only adds a candidate on FAB's own path.
 */
import { z } from 'zod';
import type { LossSpec } from '../gradients/losses';
import { projectToBall } from './ball';
import { EPS, type ParamSchema, POS_INT, resolveThreatModel } from './params';
import type { AttackOptions, AttackResult, TrajectoryPoint } from './types';
import { l2Distance, linfDistance } from './vec';
import { oneImageResult, type WhiteBoxOracle, type WhiteBoxResult } from './whitebox';

export const FAB_PARAMS = z.object({
  norm: z.literal('linf').describe('threat-model norm (FAB-T here is L∞ only)'),
  eps: EPS,
  nIter: POS_INT.max(10_000).optional().describe('iterations per target class (AutoAttack: 100)'),
  targets: POS_INT.max(9).optional().describe('next-most-likely classes attacked in turn (AutoAttack: 9)'),
  alphaMax: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe("largest weight of the clean image's projection in a step (0.1)"),
  eta: z.number().min(1).max(10).optional().describe('overshoot of each step past the boundary (1.05)'),
  beta: z.number().gt(0).lt(1).optional().describe('pull towards x after a misclassified iterate (0.9)'),
});
export type FabParams = z.infer<typeof FAB_PARAMS>;

export function resolveFabParams(o: Partial<FabParams>): Required<FabParams> {
  const { eps } = resolveThreatModel('FAB-T', FAB_PARAMS as unknown as ParamSchema, o);
  return {
    norm: 'linf',
    eps,
    nIter: o.nIter ?? 100,
    targets: o.targets ?? 9,
    alphaMax: o.alphaMax ?? 0.1,
    eta: o.eta ?? 1.05,
    beta: o.beta ?? 0.9,
  };
}

/**
 * The least-L∞ move d that puts t + d on the hyperplane w·z = b while keeping t + d in [0, 1]
 * (fab_projections.py, projection_linf, solved here by walking the sorted box limits instead of its
 * bisection). Each pixel moves by λ towards the side that changes w·z the right way, capped by the
 * box; the smallest λ that closes the gap is found on the piecewise-linear gain. When the box does
 * not allow reaching the plane, every pixel with w ≠ 0 moves to its box limit (as the reference).
 * @param t the point, n values in [0, 1]; @param w the normal, n values; @param b the offset
 * @returns d, n values (0 where w is 0)
 */
export function projectLinfHyperplane(t: ArrayLike<number>, w: ArrayLike<number>, b: number): Float64Array {
  const n = t.length;
  let wt = 0;
  for (let i = 0; i < n; i++) wt += w[i] * t[i];
  const gap = b - wt;
  const up = gap >= 0; // raise w·z (else lower it)
  const need = Math.abs(gap);
  const d = new Float64Array(n);
  const idx: number[] = [];
  const cap = new Float64Array(n);
  let full = 0;
  for (let i = 0; i < n; i++) {
    if (w[i] === 0) continue;
    // moving pixel i by +sign(w_i) raises w·z; its room in that direction is 1 − t_i, the other t_i
    const raise = w[i] > 0 === up;
    cap[i] = raise ? 1 - t[i] : t[i];
    full += Math.abs(w[i]) * cap[i];
    idx.push(i);
  }
  const dir = (i: number) => (w[i] > 0 === up ? 1 : -1);
  if (full <= need) {
    for (const i of idx) d[i] = dir(i) * cap[i];
    return d;
  }
  idx.sort((a, c) => cap[a] - cap[c]);
  let slope = 0;
  for (const i of idx) slope += Math.abs(w[i]);
  let fixed = 0;
  let lambda = 0;
  for (const i of idx) {
    if (fixed + slope * cap[i] >= need) {
      lambda = (need - fixed) / slope;
      break;
    }
    fixed += Math.abs(w[i]) * cap[i];
    slope -= Math.abs(w[i]);
  }
  for (const i of idx) d[i] = dir(i) * Math.min(lambda, cap[i]);
  return d;
}

const linf = (d: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < d.length; i++) m = Math.max(m, Math.abs(d[i]));
  return m;
};

export interface FabOptions {
  /** clean images, 784 values in [0, 1] each (on the 8-bit grid with `quantize`) */
  xs: Float32Array[];
  labels: number[];
  /** round the reported image to the 8-bit grid inside the ball */
  quantize?: boolean;
  onStep?: (p: { target: number; iteration: number; fooled: number; gradientEvaluations: number }) => void;
  signal?: AbortSignal;
}

export interface FabRun {
  results: WhiteBoxResult[];
  gradientEvaluations: number;
  forwardQueries: number;
  randomized: boolean;
  params: Record<string, unknown>;
}

/**
 * One FAB step in place (fab_base.py attack_single_run): linearise z_t − z_y at x1 (value `diff`,
 * gradient w), project x1 and the clean x0 onto that hyperplane in the box, and move to their mix
 * (weight α ≤ α_max on x0's projection), overshooting by η, clipped to [0, 1].
 */
function fabStep(
  x1: Float64Array,
  x0: Float32Array,
  w: Float32Array,
  diff: number,
  p: Required<FabParams>,
): void {
  // the boundary's linearisation at x1: w·z = w·x1 − (z_t − z_y)
  let b = -diff;
  for (let j = 0; j < w.length; j++) b += w[j] * x1[j];
  const d1 = projectLinfHyperplane(x1, w, b);
  const d2 = projectLinfHyperplane(x0, w, b);
  const a1 = Math.max(linf(d1), 1e-8);
  const a2 = Math.max(linf(d2), 1e-8);
  const alpha = Math.min(Math.max(a1 / (a1 + a2), 0), p.alphaMax);
  for (let j = 0; j < x0.length; j++) {
    const v = (x1[j] + p.eta * d1[j]) * (1 - alpha) + (x0[j] + p.eta * d2[j]) * alpha;
    x1[j] = Math.min(1, Math.max(0, v));
  }
}

/**
 * FAB-T on a batch: per target class (2nd, 3rd, … most likely at the clean image), `nIter`
 * iterations on the images not yet broken within ε. Deterministic (no random start).
 */
export async function fabTargeted(
  options: FabOptions & Partial<FabParams>,
  oracle: WhiteBoxOracle,
): Promise<FabRun> {
  const p = resolveFabParams(options);
  const { xs, labels } = options;
  const n = xs.length;
  if (labels.length !== n) throw new RangeError(`${n} images need ${n} labels, got ${labels.length}`);
  const grads = new Array<number>(n).fill(0);
  const forwards = new Array<number>(n).fill(0);
  let gradients = 0;
  let forward = 0;
  // the clean logits rank the targets (their sort order, as fab_base.py's output.sort)
  const clean = await oracle.gradient(
    xs,
    labels.map((label): LossSpec => ({ loss: 'ce', label })),
  );
  gradients += clean.evaluations;
  for (let i = 0; i < n; i++) grads[i] += clean.evaluations / n;
  const ranked = clean.items.map((g) =>
    [...g.logits.keys()].sort((a, b) => g.logits[b] - g.logits[a] || a - b),
  );
  /** the closest misclassified point within ε, per image */
  const found: (Float32Array | null)[] = new Array(n).fill(null);
  for (let t = 1; t <= p.targets; t++) {
    const active = [...Array(n).keys()].filter((i) => !found[i]);
    if (active.length === 0 || options.signal?.aborted) break;
    const specs = active.map((i): LossSpec => {
      const order = ranked[i].filter((c) => c !== labels[i]);
      return { loss: 'logit_diff', label: labels[i], target: order[t - 1] };
    });
    const x1 = active.map((i) => Float64Array.from(xs[i]));
    const best: (Float64Array | null)[] = active.map(() => null);
    const res = active.map(() => Number.POSITIVE_INFINITY);
    for (let it = 0; it < p.nIter; it++) {
      if (options.signal?.aborted) break;
      const out = await oracle.gradient(
        x1.map((v) => Float32Array.from(v)),
        specs,
      );
      gradients += out.evaluations;
      for (const i of active) grads[i] += out.evaluations / active.length;
      active.forEach((i, k) => {
        fabStep(x1[k], xs[i], out.items[k].gradient, out.items[k].loss, p);
      });
      const preds = await oracle.decide(x1.map((v) => Float32Array.from(v)));
      forward += active.length;
      active.forEach((i, k) => {
        forwards[i]++;
        if (preds[k] === labels[i]) return;
        const x0 = xs[i];
        let dist = 0;
        for (let j = 0; j < x0.length; j++) dist = Math.max(dist, Math.abs(x1[k][j] - x0[j]));
        if (dist < res[k]) {
          res[k] = dist;
          best[k] = Float64Array.from(x1[k]);
        }
        for (let j = 0; j < x0.length; j++) x1[k][j] = x0[j] + (x1[k][j] - x0[j]) * p.beta;
      });
      options.onStep?.({
        target: t,
        iteration: it,
        fooled: res.filter((r) => r <= p.eps).length,
        gradientEvaluations: gradients,
      });
    }
    active.forEach((i, k) => {
      if (best[k] && res[k] <= p.eps) found[i] = Float32Array.from(best[k]!);
    });
  }
  // report: on the grid inside the ball, checked; stretched to the surface when rounding undid it
  const report = (x: Float32Array, v: ArrayLike<number>, scale = 1) =>
    projectToBall(
      x,
      Float64Array.from(x, (a, j) => (v[j] - a) * scale),
      'linf',
      p.eps,
      options.quantize === true,
    );
  const final = xs.map((x, i) => report(x, found[i] ?? x));
  const preds = await oracle.decide(final);
  forward += n;
  for (let i = 0; i < n; i++) forwards[i]++;
  const retry = [...Array(n).keys()].filter((i) => found[i] && preds[i] === labels[i]);
  if (retry.length > 0) {
    const stretched = retry.map((i) =>
      report(xs[i], found[i]!, p.eps / Math.max(linfDistance(found[i]!, xs[i]), 1e-12)),
    );
    const again = await oracle.decide(stretched);
    forward += retry.length;
    retry.forEach((i, k) => {
      forwards[i]++;
      if (again[k] !== labels[i]) {
        final[i] = stretched[k];
        preds[i] = again[k];
      }
    });
  }
  const results = final.map((adv, i) => ({
    adversarial: adv,
    success: preds[i] !== labels[i],
    originalLabel: labels[i],
    adversarialLabel: preds[i],
    l2: l2Distance(adv, xs[i]),
    linf: linfDistance(adv, xs[i]),
    gradientEvaluations: grads[i],
    forwardQueries: forwards[i],
  }));
  return {
    results,
    gradientEvaluations: gradients,
    forwardQueries: forward,
    randomized: oracle.randomized,
    params: { attack: 'fab-t', ...p },
  };
}

/** One image through FAB-T, as the attack lab runs attacks (AttackOptions in, AttackResult out). */
export async function fabAttack(
  o: AttackOptions & Partial<FabParams>,
  oracle: WhiteBoxOracle,
): Promise<AttackResult> {
  const t0 = globalThis.performance?.now() ?? Date.now();
  const trajectory: TrajectoryPoint[] = [];
  const run = await fabTargeted(
    {
      ...o,
      xs: [o.x],
      labels: [o.label],
      onStep: (p) => {
        const point = { queries: p.gradientEvaluations };
        trajectory.push(point);
        o.onProgress?.(point);
      },
    },
    oracle,
  );
  return oneImageResult(run.results[0], trajectory, (globalThis.performance?.now() ?? Date.now()) - t0, {
    ...run.params,
    whiteBox: true,
    randomized: run.randomized,
  });
}
