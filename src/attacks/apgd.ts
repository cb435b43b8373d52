/**
 * APGD, Auto-PGD: Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
 * diverse parameter-free attacks", ICML 2020, Algorithm 1; written after the reference code
 * fra31/auto-attack, autoattack/autopgd_base.py (APGDAttack, APGDAttack_targeted).
 *
 * A budget of `nIter` gradient steps with no step size to tune: the step starts at 2ε and is halved
 * at checkpoints (after 22 % of the budget, then at intervals shrinking by 3 % of it down to 6 %)
 * when the loss rose in fewer than ρ = 75 % of the steps since the last checkpoint, or when the
 * step was not halved last time and the best loss has not improved since; after a halving the
 * iterate restarts from the best point. Steps carry momentum 0.75 (none on the first).
 *
 * - APGD-CE: the cross-entropy loss; APGD-DLR: the DLR loss (both untargeted).
 * - APGD-T: targeted DLR towards each of the `targets` next-most-likely classes in turn (the
 *   reference's 9), each run on the images not yet broken.
 *
 * Batch-first over a WhiteBoxOracle (gradients through the defense with EOT). L∞ and L2. The
 * reported image is the last iterate that fooled the model, projected (and rounded with `quantize`)
 * and checked by one forward query.
 */
import { z } from 'zod';
import { deriveSeed, Rng } from '../core/prng';
import type { LossSpec } from '../gradients/losses';
import { projectToBall } from './ball';
import { EPS, NORM, type ParamSchema, POS_INT, resolveThreatModel } from './params';
import type { Norm } from './types';
import { l2Distance, linfDistance } from './vec';
import type { WhiteBoxOracle, WhiteBoxResult } from './whitebox';

export const APGD_PARAMS = z.object({
  norm: NORM,
  eps: EPS,
  nIter: POS_INT.max(10_000).optional().describe('gradient steps per restart (AutoAttack: 100)'),
  restarts: POS_INT.max(100).optional().describe('random restarts (AutoAttack standard: 1)'),
  loss: z.enum(['ce', 'dlr']).optional().describe('untargeted loss: ce (APGD-CE) or dlr (APGD-DLR)'),
  rho: z
    .number()
    .gt(0)
    .lt(1)
    .optional()
    .describe('share of loss increases below which the step is halved (0.75)'),
  momentum: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('weight of the new step against the previous one (0.75)'),
});
export type ApgdParams = z.infer<typeof APGD_PARAMS>;

export const APGD_T_PARAMS = APGD_PARAMS.omit({ loss: true }).extend({
  targets: POS_INT.max(9).optional().describe('next-most-likely classes attacked in turn (AutoAttack: 9)'),
});
export type ApgdTParams = z.infer<typeof APGD_T_PARAMS>;

export function resolveApgdParams(
  o: Partial<ApgdParams & ApgdTParams>,
): Required<ApgdParams> & { targets: number } {
  const schema = APGD_T_PARAMS.extend({ loss: APGD_PARAMS.shape.loss }) as unknown as ParamSchema;
  const { norm, eps } = resolveThreatModel('APGD', schema, o);
  return {
    norm,
    eps,
    nIter: o.nIter ?? 100,
    restarts: o.restarts ?? 1,
    loss: o.loss ?? 'ce',
    rho: o.rho ?? 0.75,
    momentum: o.momentum ?? 0.75,
    targets: o.targets ?? 9,
  };
}

/** The iterations after which APGD checks its step size (autopgd_base.py: n_iter_2, size_decr, n_iter_min). */
export function apgdCheckpoints(nIter: number): number[] {
  let k = Math.max(Math.floor(0.22 * nIter), 1);
  const kMin = Math.max(Math.floor(0.06 * nIter), 1);
  const decr = Math.max(Math.floor(0.03 * nIter), 1);
  const out: number[] = [];
  let at = 0;
  for (;;) {
    at += k;
    if (at > nIter) return out;
    out.push(at);
    k = Math.max(k - decr, kMin);
  }
}

export interface ApgdOptions {
  xs: Float32Array[];
  labels: number[];
  /** per image: the seed of its random starts (its result is its own, whatever the batch) */
  seeds: number[];
  /** round the final image to the 8-bit grid inside the ball (x must be on the grid) */
  quantize?: boolean;
  /** after each iteration: the mean loss, and how many images an iterate has fooled so far */
  onStep?: (p: { iteration: number; loss: number; fooled: number; gradientEvaluations: number }) => void;
  signal?: AbortSignal;
}

export interface ApgdRun {
  results: WhiteBoxResult[];
  gradientEvaluations: number;
  forwardQueries: number;
  randomized: boolean;
  params: Record<string, unknown>;
}

/** Uniform direction scaled to the ball's surface (L∞: t/‖t‖∞·ε, as autopgd_base.py starts). */
function start(x: Float32Array, norm: Norm, eps: number, rng: Rng): Float32Array {
  const t = Float64Array.from({ length: x.length }, () =>
    norm === 'linf' ? 2 * rng.uniform() - 1 : rng.normal(),
  );
  let n = 0;
  for (const v of t) n = norm === 'linf' ? Math.max(n, Math.abs(v)) : n + v * v;
  if (norm === 'l2') n = Math.sqrt(n);
  return Float32Array.from(x, (v, i) => Math.min(1, Math.max(0, v + (eps * t[i]) / (n || 1))));
}

function normalised(g: Float32Array, norm: Norm): Float32Array {
  if (norm === 'linf') return g.map(Math.sign);
  let n = 0;
  for (const v of g) n += v * v;
  const s = 1 / (Math.sqrt(n) + 1e-12);
  return g.map((v) => v * s);
}

const project = (x: Float32Array, v: Float32Array, norm: Norm, eps: number) =>
  projectToBall(
    x,
    v.map((a, i) => a - x[i]),
    norm,
    eps,
  );

interface Track {
  i: number;
  cur: Float32Array;
  prev: Float32Array;
  grad: Float32Array;
  best: Float32Array;
  gradBest: Float32Array;
  lossBest: number;
  step: number;
  /** loss after each iteration (for the oscillation check) */
  losses: number[];
  lossBestLastCheck: number;
  reducedLastCheck: boolean;
  /** an iterate that fooled the model (on its logits), the reference's x_best_adv */
  adversarial: Float32Array | null;
}

const argmax = (z: Float32Array) => z.reduce((b, v, i) => (v > z[b] ? i : b), 0);

/**
 * One APGD run (one restart, one loss per image) on the images `active`; returns, per image, the
 * first iterate found adversarial (on its logits), or null.
 */
async function apgdOnce(
  o: ApgdOptions,
  p: Required<ApgdParams>,
  active: number[],
  specs: LossSpec[],
  rngs: Rng[],
  oracle: WhiteBoxOracle,
  /** gradient evaluations so far: in all, and per image (index into options.xs) */
  count: { gradients: number; perImage: number[] },
): Promise<(Float32Array | null)[]> {
  const { xs } = o;
  // success is misclassification, for APGD-T too (autopgd_base.py's acc)
  const isFooled = (k: number, z: Float32Array) => argmax(z) !== specs[k].label;
  const initial = active.map((i, k) => start(xs[i], p.norm, p.eps, rngs[k]));
  const first = await oracle.gradient(initial, specs);
  count.gradients += first.evaluations;
  for (const i of active) count.perImage[i] += first.evaluations / active.length;
  const tracks: Track[] = active.map((i, k) => ({
    i,
    cur: initial[k],
    prev: initial[k],
    grad: first.items[k].gradient,
    best: initial[k],
    gradBest: first.items[k].gradient,
    lossBest: first.items[k].loss,
    step: 2 * p.eps,
    losses: [],
    lossBestLastCheck: first.items[k].loss,
    reducedLastCheck: true,
    adversarial: isFooled(k, first.items[k].logits) ? initial[k] : null,
  }));
  let sinceCheck = 0;
  let window = Math.max(Math.floor(0.22 * p.nIter), 1);
  const decr = Math.max(Math.floor(0.03 * p.nIter), 1);
  const kMin = Math.max(Math.floor(0.06 * p.nIter), 1);
  for (let it = 0; it < p.nIter; it++) {
    if (o.signal?.aborted) break;
    const a = it > 0 ? p.momentum : 1;
    for (const t of tracks) {
      const x = xs[t.i];
      const dir = normalised(t.grad, p.norm);
      const z1 = project(
        x,
        t.cur.map((v, j) => v + t.step * dir[j]),
        p.norm,
        p.eps,
      );
      const mixed = z1.map((v, j) => t.cur[j] + (v - t.cur[j]) * a + (t.cur[j] - t.prev[j]) * (1 - a));
      t.prev = t.cur;
      t.cur = project(x, mixed, p.norm, p.eps);
    }
    const out = await oracle.gradient(
      tracks.map((t) => t.cur),
      specs,
    );
    count.gradients += out.evaluations;
    for (const t of tracks) count.perImage[t.i] += out.evaluations / tracks.length;
    let mean = 0;
    tracks.forEach((t, k) => {
      const g = out.items[k];
      t.grad = g.gradient;
      t.losses.push(g.loss);
      mean += g.loss / tracks.length;
      // the last iterate that fools the model (the reference's x_best_adv), deeper than the first
      if (isFooled(k, g.logits)) t.adversarial = t.cur;
      if (g.loss > t.lossBest) {
        t.best = t.cur;
        t.gradBest = g.gradient;
        t.lossBest = g.loss;
      }
    });
    const fooled = tracks.filter((t) => t.adversarial).length;
    o.onStep?.({ iteration: it, loss: mean, fooled, gradientEvaluations: count.gradients });
    sinceCheck++;
    if (sinceCheck === window) {
      for (const t of tracks) {
        // the reference's check_oscillation: increases among the last `window` steps (the step
        // before the first is the zero-initialised last row, as its negative index reads it)
        let ups = 0;
        for (let c = 0; c < window; c++) {
          const j = it - c;
          const before = j - 1 >= 0 ? t.losses[j - 1] : (t.losses[p.nIter - 1] ?? 0);
          if (t.losses[j] > before) ups++;
        }
        const oscillating = ups <= window * p.rho;
        const stalled = !t.reducedLastCheck && t.lossBestLastCheck >= t.lossBest;
        const halve = oscillating || stalled;
        t.reducedLastCheck = halve;
        t.lossBestLastCheck = t.lossBest;
        if (halve) {
          t.step /= 2;
          t.cur = t.best;
          t.grad = t.gradBest;
        }
      }
      window = Math.max(window - decr, kMin);
      sinceCheck = 0;
    }
  }
  return tracks.map((t) => t.adversarial);
}

/** The reported image: inside the ball exactly, on the 8-bit grid with `quantize`. */
const report = (x: Float32Array, v: Float32Array, p: Required<ApgdParams>, quantize: boolean) =>
  projectToBall(
    x,
    v.map((a, i) => a - x[i]),
    p.norm,
    p.eps,
    quantize,
  );

async function finish(
  o: ApgdOptions,
  p: Required<ApgdParams>,
  found: (Float32Array | null)[],
  oracle: WhiteBoxOracle,
  gradients: number,
  perImage: number[],
  params: Record<string, unknown>,
): Promise<ApgdRun> {
  const n = o.xs.length;
  const final = o.xs.map((x, i) => report(x, found[i] ?? x, p, o.quantize === true));
  const preds = await oracle.decide(final);
  const results = final.map((adv, i) => ({
    adversarial: adv,
    success: preds[i] !== o.labels[i],
    originalLabel: o.labels[i],
    adversarialLabel: preds[i],
    l2: l2Distance(adv, o.xs[i]),
    linf: linfDistance(adv, o.xs[i]),
    gradientEvaluations: perImage[i],
    forwardQueries: 1,
  }));
  return {
    results,
    gradientEvaluations: gradients,
    forwardQueries: n,
    randomized: oracle.randomized,
    params,
  };
}

function seedsOf(o: ApgdOptions): void {
  if (o.seeds.length !== o.xs.length || o.labels.length !== o.xs.length)
    throw new RangeError(
      `${o.xs.length} images need as many labels and seeds, got ${o.labels.length} and ${o.seeds.length}`,
    );
}

/** APGD-CE or APGD-DLR (untargeted): `restarts` runs, each on the images not yet broken. */
export async function apgd(
  options: ApgdOptions & Partial<ApgdParams>,
  oracle: WhiteBoxOracle,
): Promise<ApgdRun> {
  seedsOf(options);
  const p = resolveApgdParams(options);
  const n = options.xs.length;
  const found: (Float32Array | null)[] = new Array(n).fill(null);
  const count = { gradients: 0, perImage: new Array<number>(n).fill(0) };
  for (let r = 0; r < p.restarts; r++) {
    const active = [...Array(n).keys()].filter((i) => !found[i]);
    if (active.length === 0 || options.signal?.aborted) break;
    const specs = active.map((i): LossSpec => ({ loss: p.loss, label: options.labels[i] }));
    const rngs = active.map((i) => new Rng(deriveSeed(options.seeds[i], r)));
    const got = await apgdOnce(options, p, active, specs, rngs, oracle, count);
    active.forEach((i, k) => {
      found[i] = got[k];
    });
  }
  const { targets: _t, ...own } = p;
  return finish(options, p, found, oracle, count.gradients, count.perImage, {
    attack: `apgd-${p.loss}`,
    ...own,
  });
}

/**
 * APGD-T: targeted DLR towards the 2nd, 3rd, … most likely class of the clean image (`targets`
 * of them, as autopgd_base.py's APGDAttack_targeted), each on the images not yet broken.
 */
export async function apgdTargeted(
  options: ApgdOptions & Partial<ApgdTParams>,
  oracle: WhiteBoxOracle,
): Promise<ApgdRun> {
  seedsOf(options);
  const p = resolveApgdParams({ ...options, loss: 'dlr' });
  const n = options.xs.length;
  const found: (Float32Array | null)[] = new Array(n).fill(null);
  const count = { gradients: 0, perImage: new Array<number>(n).fill(0) };
  // the clean logits rank the targets
  const clean = await oracle.gradient(
    options.xs,
    options.labels.map((label) => ({ loss: 'ce', label })),
  );
  count.gradients += clean.evaluations;
  for (let i = 0; i < n; i++) count.perImage[i] += clean.evaluations / n;
  const ranked = clean.items.map((g) =>
    [...g.logits.keys()].sort((a, b) => g.logits[b] - g.logits[a] || a - b),
  );
  for (let t = 1; t <= p.targets; t++) {
    for (let r = 0; r < p.restarts; r++) {
      const active = [...Array(n).keys()].filter((i) => !found[i]);
      if (active.length === 0 || options.signal?.aborted) break;
      const specs = active.map((i): LossSpec => {
        const order = ranked[i].filter((c) => c !== options.labels[i]);
        return { loss: 'dlr_targeted', label: options.labels[i], target: order[t - 1] };
      });
      const rngs = active.map((i) => new Rng(deriveSeed(options.seeds[i], t * 1000 + r)));
      const got = await apgdOnce(options, p, active, specs, rngs, oracle, count);
      active.forEach((i, k) => {
        found[i] = got[k];
      });
    }
  }
  const { loss: _l, ...own } = p;
  return finish(options, p, found, oracle, count.gradients, count.perImage, { attack: 'apgd-t', ...own });
}
