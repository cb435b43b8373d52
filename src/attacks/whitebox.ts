/**
 * White-box attacks: they read the gradient of a loss with respect to the input (the reverse pass
 * of src/gradients, through the defenses' adjoints and EOT for randomized models).
 *
 * - FGSM: Goodfellow, Shlens & Szegedy, "Explaining and harnessing adversarial examples", ICLR
 *   2015: one step of size ε along sign(∇) (L∞) or ∇/‖∇‖₂ (L2), no random start.
 * - PGD: Madry, Makelov, Schmidt, Tsipras & Vladu, "Towards deep learning models resistant to
 *   adversarial attacks", ICLR 2018: from a uniform random start in the ε-ball, `steps` steps of
 *   size `stepSize` along the normalised gradient, each projected onto the ball and [0, 1];
 *   `restarts` independent starts, keeping per image the first restart that succeeds.
 *
 * Batch-first: every step is one gradient call for all images of the restart. The 8-bit
 * rounding of the API is the identity in the backward pass (straight-through); iterates stay
 * continuous, and the final image is rounded to the 8-bit grid inside the ball (with `quantize`)
 * and checked by one forward query. Accounting keeps gradient evaluations (images × EOT draws)
 * apart from forward queries.
 */
import { z } from 'zod';
import { Rng } from '../core/prng';
import type { GradientBatch } from '../gradients/eot';
import type { LossSpec } from '../gradients/losses';
import { type ApgdTParams, apgd, apgdTargeted } from './apgd';
import { projectToBall } from './ball';
import { EPS, NORM, type ParamSchema, POS_INT, resolveThreatModel } from './params';
import type { AttackOptions, AttackResult, Norm, TrajectoryPoint } from './types';
import { l2Distance, linfDistance } from './vec';

/** What a white-box attack may ask: gradients of a loss, and classifications. */
export interface WhiteBoxOracle {
  /** Mean loss, logits and ∂loss/∂x per image (over the EOT draws of a randomized model). */
  gradient(xs: Float32Array[], specs: LossSpec[]): Promise<GradientBatch>;
  /** The predicted class of each image (one forward query each). */
  decide(xs: Float32Array[]): Promise<number[]>;
  /** A randomized defense: gradients are EOT estimates, and the final check is one random draw. */
  readonly randomized: boolean;
}

export const WHITEBOX_LOSSES = ['ce', 'margin', 'dlr'] as const;

export const PGD_PARAMS = z.object({
  norm: NORM,
  eps: EPS,
  steps: POS_INT.max(10_000).optional().describe('gradient steps per restart'),
  stepSize: z.number().gt(0).optional().describe('step length in the attack norm (default 2.5·ε/steps)'),
  restarts: POS_INT.max(100).optional().describe('independent random starts'),
  randomStart: z.boolean().optional().describe('start uniformly in the ε-ball (PGD) or at x (BIM)'),
  loss: z
    .enum(WHITEBOX_LOSSES)
    .optional()
    .describe('loss the steps ascend (targeted: dlr becomes targeted DLR)'),
});
export type PgdParams = z.infer<typeof PGD_PARAMS>;

export const FGSM_PARAMS = z.object({
  norm: NORM,
  eps: EPS,
  loss: z.enum(WHITEBOX_LOSSES).optional().describe('loss whose gradient sets the step'),
});

export interface WhiteBoxOptions extends Partial<PgdParams> {
  /** clean images, 784 values in [0, 1] each */
  xs: Float32Array[];
  labels: number[];
  /** per image a target class (targeted attack), or absent */
  targets?: (number | undefined)[];
  /** the random starts' seed: one for the batch, or one per image (then each image's result is its own, whatever batch it ran in) */
  seed: number | number[];
  /** round the final image to the 8-bit grid (what the API transmits) before the check */
  quantize?: boolean;
  /** called after each step with the mean loss and mean margin of the images still attacked */
  onStep?: (p: StepPoint) => void;
  signal?: AbortSignal;
}

export interface StepPoint {
  restart: number;
  step: number;
  /** mean loss over the images attacked in this step */
  loss: number;
  /** mean logit margin z_y − max_{j≠y} z_j (targeted: z_t − max_{j≠t} z_j negated) */
  margin: number;
  gradientEvaluations: number;
}

export interface WhiteBoxResult {
  adversarial: Float32Array;
  success: boolean;
  originalLabel: number;
  adversarialLabel: number;
  l2: number;
  linf: number;
  /** this image's gradient evaluations (steps × draws, over its restarts) */
  gradientEvaluations: number;
  /** this image's forward queries (one check per restart it took) */
  forwardQueries: number;
}

export interface WhiteBoxRun {
  results: WhiteBoxResult[];
  /** images × EOT draws, summed over steps */
  gradientEvaluations: number;
  /** forward queries: the final check of each image */
  forwardQueries: number;
  trajectory: StepPoint[];
  params: Record<string, unknown>;
  /** a randomized model: the check was one draw, so success is random */
  randomized: boolean;
  wallMs: number;
}

/** Resolved PGD parameters (FGSM is PGD with one step of size ε from x). */
export function resolvePgdParams(o: Partial<PgdParams>): Required<PgdParams> {
  const { norm, eps } = resolveThreatModel('PGD', PGD_PARAMS as unknown as ParamSchema, o);
  const steps = o.steps ?? 20;
  return {
    norm,
    eps,
    steps,
    stepSize: o.stepSize ?? (2.5 * eps) / steps,
    restarts: o.restarts ?? 1,
    randomStart: o.randomStart ?? true,
    loss: o.loss ?? 'ce',
  };
}

/** The loss spec of one image: targeted DLR for dlr with a target, else the loss on the label. */
function specFor(
  loss: (typeof WHITEBOX_LOSSES)[number],
  label: number,
  target: number | undefined,
): LossSpec {
  if (target === undefined) return { loss, label };
  if (loss === 'dlr') return { loss: 'dlr_targeted', label, target };
  // CE and margin on the target class: the steps descend them (ascentSign), moving towards it
  return { loss, label: target };
}

/**
 * +1 where the steps ascend the spec's loss, −1 where they descend it: a targeted attack with CE
 * or margin computes them on the target class (−CE(t) and z_t − max_{j≠t} z_j are what it ascends);
 * targeted DLR is already the loss to ascend.
 */
function ascentSign(loss: (typeof WHITEBOX_LOSSES)[number], target: number | undefined): number {
  return target !== undefined && loss !== 'dlr' ? -1 : 1;
}

/** Uniform in the L∞ ball, or uniform direction × radius ε·u^(1/d) in the L2 ball. */
function randomStart(x: Float32Array, norm: Norm, eps: number, rng: Rng): Float32Array {
  const d = x.length;
  const out = new Float32Array(d);
  if (norm === 'linf') {
    for (let i = 0; i < d; i++) out[i] = Math.min(1, Math.max(0, x[i] + (2 * rng.uniform() - 1) * eps));
    return out;
  }
  const dir = Float64Array.from({ length: d }, () => rng.normal());
  const len = Math.hypot(...dir) || 1;
  const r = eps * rng.uniform() ** (1 / d);
  for (let i = 0; i < d; i++) out[i] = Math.min(1, Math.max(0, x[i] + (r * dir[i]) / len));
  return out;
}

/** One ascent step along the normalised gradient, projected onto the ball around x and [0, 1]. */
function step(xa: Float32Array, g: Float32Array, x: Float32Array, p: Required<PgdParams>): Float32Array {
  const out = new Float32Array(xa.length);
  if (p.norm === 'linf') {
    for (let i = 0; i < xa.length; i++) out[i] = xa[i] + p.stepSize * Math.sign(g[i]);
  } else {
    let n2 = 0;
    for (let i = 0; i < g.length; i++) n2 += g[i] * g[i];
    const scale = p.stepSize / (Math.sqrt(n2) || 1);
    for (let i = 0; i < xa.length; i++) out[i] = xa[i] + scale * g[i];
  }
  return projectToBall(
    x,
    out.map((v, i) => v - x[i]),
    p.norm,
    p.eps,
  );
}

/** Margin of the logits: for the label (untargeted, > 0 = still correct) or the target. */
function marginOf(z: Float32Array, label: number, target: number | undefined): number {
  const cls = target ?? label;
  let best = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < z.length; j++) if (j !== cls && z[j] > best) best = z[j];
  return target === undefined ? z[cls] - best : best - z[cls];
}

const isSuccess = (pred: number, label: number, target: number | undefined) =>
  target === undefined ? pred !== label : pred === target;
const now = (): number => globalThis.performance?.now() ?? Date.now();

/**
 * PGD (and FGSM through `fgsm`) on a batch of images. Each restart runs all steps for the images
 * not yet fooled; its last iterate is projected (and rounded with `quantize`) and classified once.
 * An image stops at the first restart whose reported image fools the model.
 */
export async function pgd(options: WhiteBoxOptions, oracle: WhiteBoxOracle): Promise<WhiteBoxRun> {
  const t0 = now();
  const p = resolvePgdParams(options);
  const { xs, labels } = options;
  const n = xs.length;
  if (labels.length !== n) throw new RangeError(`${n} images need ${n} labels, got ${labels.length}`);
  const targets = options.targets ?? [];
  const seeds = options.seed;
  if (Array.isArray(seeds) && seeds.length !== n)
    throw new RangeError(`${n} images need ${n} seeds, got ${seeds.length}`);
  const batchRng = new Rng(Array.isArray(seeds) ? 0 : seeds);
  const rngs = xs.map((_, i) => (Array.isArray(seeds) ? new Rng(seeds[i]) : batchRng));
  const perImage = xs.map(() => ({ gradient: 0, forward: 0 }));
  const done = new Array<boolean>(n).fill(false);
  const trajectory: StepPoint[] = [];
  let evaluations = 0;
  let forward = 0;
  // the reported image: inside the ball exactly, and on the 8-bit grid with `quantize` (x must be on it)
  const report = (v: Float32Array, i: number) =>
    projectToBall(
      xs[i],
      v.map((a, k) => a - xs[i][k]),
      p.norm,
      p.eps,
      options.quantize === true,
    );
  const final: Float32Array[] = xs.map((x, i) => report(x, i));
  const preds = new Array<number>(n).fill(-1);
  for (let restart = 0; restart < p.restarts && done.includes(false); restart++) {
    const active = [...Array(n).keys()].filter((i) => !done[i]);
    let cur: Float32Array[] = active.map((i) =>
      p.randomStart ? randomStart(xs[i], p.norm, p.eps, rngs[i]) : Float32Array.from(xs[i]),
    );
    // every image takes all the steps (Madry et al.): stopping at the first success would leave
    // iterates on the boundary, where the final 8-bit rounding can undo them
    for (let s = 0; s < p.steps; s++) {
      if (options.signal?.aborted) break;
      const specs = active.map((i) => specFor(p.loss, labels[i], targets[i]));
      const out = await oracle.gradient(cur, specs);
      evaluations += out.evaluations;
      let loss = 0;
      let margin = 0;
      out.items.forEach((g, k) => {
        const i = active[k];
        perImage[i].gradient += out.evaluations / active.length;
        loss += g.loss / active.length;
        margin += marginOf(g.logits, labels[i], targets[i]) / active.length;
      });
      const point = { restart, step: s, loss, margin, gradientEvaluations: evaluations };
      trajectory.push(point);
      options.onStep?.(point);
      cur = cur.map((c, k) => {
        const sign = ascentSign(p.loss, targets[active[k]]);
        const g = sign === 1 ? out.items[k].gradient : out.items[k].gradient.map((v) => -v);
        return step(c, g, xs[active[k]], p);
      });
    }
    // the last iterates as they will be reported, one forward query each
    const candidates = cur.map((c, k) => report(c, active[k]));
    const labelsNow = await oracle.decide(candidates);
    forward += candidates.length;
    active.forEach((i, k) => {
      perImage[i].forward++;
      final[i] = candidates[k];
      preds[i] = labelsNow[k];
      if (isSuccess(labelsNow[k], labels[i], targets[i])) done[i] = true;
    });
  }
  const results = final.map((adv, i) => ({
    adversarial: adv,
    success: isSuccess(preds[i], labels[i], targets[i]),
    originalLabel: labels[i],
    adversarialLabel: preds[i],
    l2: l2Distance(adv, xs[i]),
    linf: linfDistance(adv, xs[i]),
    gradientEvaluations: perImage[i].gradient,
    forwardQueries: perImage[i].forward,
  }));
  return {
    results,
    gradientEvaluations: evaluations,
    forwardQueries: forward,
    trajectory,
    params: { ...p, seed: options.seed, quantize: options.quantize === true },
    randomized: oracle.randomized,
    wallMs: now() - t0,
  };
}

/** FGSM: one step of size ε from x along the gradient's sign (L∞) or direction (L2). */
export function fgsm(options: WhiteBoxOptions, oracle: WhiteBoxOracle): Promise<WhiteBoxRun> {
  const eps = options.eps ?? (options.norm === 'l2' ? 1.5 : 0.1);
  return pgd({ ...options, eps, steps: 1, stepSize: eps, restarts: 1, randomStart: false }, oracle);
}

/**
 * A batch attack's result for its one image as the attack lab reports attacks: `queries` counts
 * forward queries, `gradientEvaluations` the gradients.
 */
export function oneImageResult(
  r: WhiteBoxResult,
  trajectory: TrajectoryPoint[],
  wallMs: number,
  params: Record<string, unknown>,
): AttackResult {
  return {
    adversarial: r.adversarial,
    success: r.success,
    queries: r.forwardQueries,
    gradientEvaluations: r.gradientEvaluations,
    l2: r.l2,
    linf: r.linf,
    trajectory,
    wallMs,
    originalLabel: r.originalLabel,
    adversarialLabel: r.adversarialLabel,
    params,
  };
}

/**
 * One image through FGSM or PGD, as the attack lab and the registry run attacks (AttackOptions in,
 * AttackResult out): `queries` counts forward queries, `gradientEvaluations` the gradients, and
 * the trajectory has one point per step (queries = gradient evaluations so far, loss, margin).
 */
export async function whiteBoxAttack(
  kind: 'fgsm' | 'pgd',
  o: AttackOptions & Partial<PgdParams>,
  oracle: WhiteBoxOracle,
): Promise<AttackResult> {
  const trajectory: TrajectoryPoint[] = [];
  const run = await (kind === 'fgsm' ? fgsm : pgd)(
    {
      ...o,
      xs: [o.x],
      labels: [o.label],
      targets: [o.target],
      seed: o.seed,
      onStep: (p) => {
        const point = { queries: p.gradientEvaluations, loss: p.loss, margin: p.margin };
        trajectory.push(point);
        o.onProgress?.(point);
      },
    },
    oracle,
  );
  return oneImageResult(run.results[0], trajectory, run.wallMs, {
    ...run.params,
    whiteBox: true,
    randomized: run.randomized,
    target: o.target ?? null,
  });
}

/** Whether an oracle can answer gradients (the white-box attacks need one that does). */
export function isWhiteBoxOracle(o: unknown): o is WhiteBoxOracle {
  return typeof (o as Partial<WhiteBoxOracle>)?.gradient === 'function';
}

/** One image through APGD-CE or APGD-T, as the attack lab and the registry run attacks. */
export async function apgdAttack(
  kind: 'apgd-ce' | 'apgd-t',
  o: AttackOptions & Partial<ApgdTParams>,
  oracle: WhiteBoxOracle,
): Promise<AttackResult> {
  const t0 = globalThis.performance?.now() ?? Date.now();
  const trajectory: TrajectoryPoint[] = [];
  const options = {
    ...o,
    xs: [o.x],
    labels: [o.label],
    seeds: [o.seed],
    onStep: (p: { loss: number; gradientEvaluations: number }) => {
      const point = { queries: p.gradientEvaluations, loss: p.loss };
      trajectory.push(point);
      o.onProgress?.(point);
    },
  };
  const run =
    kind === 'apgd-ce' ? await apgd({ ...options, loss: 'ce' }, oracle) : await apgdTargeted(options, oracle);
  return oneImageResult(run.results[0], trajectory, (globalThis.performance?.now() ?? Date.now()) - t0, {
    ...run.params,
    whiteBox: true,
    randomized: run.randomized,
  });
}
