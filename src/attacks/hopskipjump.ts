/**
 * HopSkipJumpAttack (Chen, Jordan & Wainwright, "HopSkipJumpAttack: A Query-Efficient
 * Decision-Based Attack", IEEE S&P 2020), L2 and L∞, following the authors' hsja.py and ART.
 *
 * Algorithm 1 of the paper: start from an adversarial point, then repeat
 *   1. binary search between x and the current point to the boundary (threshold θ),
 *   2. Monte-Carlo estimate of the boundary's normal from the signs of B probes at radius δ_t,
 *   3. geometric step-size search along the estimate (ξ_t = ‖x_t − x‖/√t, halved until adversarial).
 */
import { z } from 'zod';
import { GridPath, searchGridPath } from './gridpath';
import { findStartingPoint, type StartSource } from './init';
import type { DecisionOracle } from './oracle';
import { checkParams, NORM, POS_INT } from './params';
import { AttackRun, baseParams, StopAttack, untilStopped } from './run';
import type { AttackOptions, AttackResult, Norm } from './types';
import { l2Distance, linfDistance } from './vec';

export interface HsjaParams {
  norm: Norm;
  /** γ: sets the binary-search threshold θ = γ/d^{3/2} (L2) or γ/d² (L∞). */
  gamma: number;
  /** Cap on the gradient-estimation probes of one iteration (B_t = B_0·√t ≤ this). */
  maxNumEvals: number;
  /** B_0: probes at the first iteration. */
  initNumEvals: number;
  /** Iterations (ART's max_iter); the query budget usually ends the attack first. */
  maxIterations: number;
  /** Random-noise draws tried for an adversarial start (ART's init_size). */
  initTrials: number;
}

/** hsja.py / ART defaults (ART's max_iter 50; hsja.py's num_iterations is 40). */
export const HSJA_DEFAULTS: HsjaParams = {
  norm: 'l2',
  gamma: 1.0,
  maxNumEvals: 1e4,
  initNumEvals: 100,
  maxIterations: 50,
  initTrials: 100,
};

/** HopSkipJump's parameters (src/attacks/params.ts); an experiment must state the norm. */
export const HSJA_PARAMS = z.object({
  norm: NORM,
  gamma: z.number().gt(0).optional().describe('γ: binary-search threshold θ = γ/d^(3/2) (L2) or γ/d² (L∞)'),
  maxNumEvals: POS_INT.optional().describe('cap on the gradient-estimation probes of one iteration'),
  initNumEvals: POS_INT.optional().describe('gradient-estimation probes at the first iteration (B₀)'),
  maxIterations: POS_INT.optional().describe('iterations; the query budget usually ends the attack first'),
  initTrials: POS_INT.optional().describe('uniform-noise draws tried for an adversarial start'),
});

export interface HsjaOptions extends AttackOptions, Partial<Omit<HsjaParams, 'norm'>> {
  /** A starting image of the adversarial (for targeted attacks: the target) class. */
  init?: Float32Array;
  /**
   * Real images to start from when no uniform-noise draw is adversarial (e.g. test images of the
   * other classes, nearest first); each costs one query. See findStartingPoint.
   */
  initCandidates?: readonly ArrayLike<number>[];
}

export function resolveHsjaParams(options: Partial<HsjaParams>): HsjaParams {
  checkParams('HopSkipJump', HSJA_PARAMS, options);
  const p: HsjaParams = { ...HSJA_DEFAULTS };
  for (const k of Object.keys(HSJA_DEFAULTS) as (keyof HsjaParams)[]) {
    if (options[k] !== undefined) (p as unknown as Record<string, unknown>)[k] = options[k];
  }
  return p;
}

type Best = { image: Float32Array; label: number; dist: number };

/** One run's state shared by the three steps of Algorithm 1. */
interface Hsja {
  run: AttackRun;
  isL2: boolean;
  /** Binary-search threshold θ (hsja.py): γ/(d·√d) for L2, γ/d² for L∞. */
  theta: number;
  /** Distance from x in the attack's norm. */
  dist(a: ArrayLike<number>): number;
  /** Offers an adversarial image as the best so far. */
  consider(image: Float32Array, label: number): void;
}

/**
 * Step 1: binary search between x and `adv` (blend for L2, L∞-box radius for L∞) to the boundary.
 * Continuous inputs: to hsja.py's threshold θ. On the 8-bit grid: over the exact sequence of
 * distinct images the API can receive on that path (GridPath), until two neighbouring images
 * straddle the boundary, so the result is the adversarial image closest to the boundary that any
 * finer step could still send.
 */
async function binarySearch(h: Hsja, adv: Float32Array, advLabel: number) {
  const { run, isL2, theta } = h;
  const { x, d } = run;
  const distPostUpdate = h.dist(adv);
  let out = { image: adv, label: advLabel };
  if (run.quantize) {
    const path = new GridPath(x, adv, isL2 ? 'blend' : 'box');
    const found = await searchGridPath(
      path,
      async (image) => {
        const [label] = await run.decide([image]);
        return { adversarial: run.isAdversarial(label), label };
      },
      h.consider,
    );
    if (found.image && found.label !== null) out = { image: found.image, label: found.label };
    return { ...out, distPostUpdate };
  }
  let low = 0;
  let high = isL2 ? 1 : distPostUpdate;
  const threshold = isL2 ? theta : Math.min(distPostUpdate * theta, theta);
  const buf = new Float64Array(d);
  for (let guard = 0; guard < 200 && threshold > 0 && (high - low) / threshold > 1; guard++) {
    const mid = (high + low) / 2;
    if (isL2) {
      for (let i = 0; i < d; i++) buf[i] = (1 - mid) * x[i] + mid * adv[i];
    } else {
      for (let i = 0; i < d; i++) buf[i] = Math.min(Math.max(adv[i], x[i] - mid), x[i] + mid);
    }
    const candidate = run.prep(buf);
    const [label] = await run.decide([candidate]);
    if (run.isAdversarial(label)) {
      high = mid;
      out = { image: candidate, label };
      h.consider(candidate, label);
    } else {
      low = mid;
    }
  }
  return { ...out, distPostUpdate };
}

/**
 * Step 2 (paper eq. 9–10): probes u_b on the unit sphere (Gaussian for L2, uniform cube for L∞,
 * normalised), φ_b = ±1 from the decisions at x_t + δu_b, baseline-subtracted mean Σ(φ_b − φ̄)u_b.
 * Sent in batches; only running sums are kept, so 10⁴ probes need no 10⁴·d buffer.
 */
async function estimateGradient(h: Hsja, sample: Float32Array, numEvals: number, delta: number) {
  const { run, isL2 } = h;
  const { d, rng } = run;
  const sumAll = new Float64Array(d);
  const sumAdv = new Float64Array(d);
  let nAdv = 0;
  const rv = new Float64Array(d);
  const buf = new Float64Array(d);
  for (let done = 0; done < numEvals; ) {
    const m = Math.min(run.batchSize, numEvals - done);
    const probes: Float32Array[] = [];
    for (let b = 0; b < m; b++) {
      let norm = 0;
      for (let i = 0; i < d; i++) {
        rv[i] = isL2 ? rng.normal() : rng.uniformIn(-1, 1);
        norm += rv[i] * rv[i];
      }
      norm = Math.sqrt(norm) || 1;
      for (let i = 0; i < d; i++) buf[i] = sample[i] + (delta * rv[i]) / norm;
      probes.push(run.prep(buf));
    }
    const labels = await run.decide(probes);
    for (let b = 0; b < m; b++) {
      // the effective direction after clipping (and quantising): (probe − sample)/δ, as hsja.py
      const probe = probes[b];
      const adv = run.isAdversarial(labels[b]);
      if (adv) nAdv++;
      for (let i = 0; i < d; i++) {
        const u = (probe[i] - sample[i]) / delta;
        sumAll[i] += u;
        if (adv) sumAdv[i] += u;
      }
    }
    done += m;
  }
  const n = numEvals;
  const grad = new Float64Array(d);
  if (nAdv === n) {
    for (let i = 0; i < d; i++) grad[i] = sumAll[i] / n;
  } else if (nAdv === 0) {
    for (let i = 0; i < d; i++) grad[i] = -sumAll[i] / n;
  } else {
    const meanF = (2 * nAdv - n) / n;
    for (let i = 0; i < d; i++) grad[i] = (2 * sumAdv[i] - sumAll[i]) / n - (meanF * sumAll[i]) / n;
  }
  let norm = 0;
  for (let i = 0; i < d; i++) norm += grad[i] * grad[i];
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < d; i++) grad[i] /= norm;
  return grad;
}

/** Step 3, geometric progression: ξ = ‖x_t − x‖/√t, halved until x_t + ξ·v is adversarial (null: never). */
async function geometricStep(h: Hsja, current: Float32Array, update: Float64Array, t: number) {
  const { run } = h;
  const buf = new Float64Array(run.d);
  let xi = h.dist(current) / Math.sqrt(t);
  for (let halvings = 0; halvings < 30; halvings++) {
    for (let i = 0; i < run.d; i++) buf[i] = current[i] + xi * update[i];
    const candidate = run.prep(buf);
    const [label] = await run.decide([candidate]);
    if (run.isAdversarial(label)) return { image: candidate, label };
    xi /= 2;
  }
  return null;
}

export async function hopSkipJump(options: HsjaOptions, oracle: DecisionOracle): Promise<AttackResult> {
  const run = new AttackRun(options, oracle);
  const p = resolveHsjaParams(options);
  const { x, d } = run;
  const isL2 = p.norm === 'l2';
  const theta = isL2 ? p.gamma / (d * Math.sqrt(d)) : p.gamma / (d * d);
  // On an 8-bit API (quantize) nothing finer than one gray level reaches the model: probes of
  // radius δ spread over d pixels vanish below δ ≈ √d/255. hsja.py's δ assumes continuous inputs
  // (with it the attack froze at its first boundary point on the CNN), so δ is floored there; the
  // binary search instead walks the exact grid path (see binarySearch).
  const level = run.quantize ? 1 / 255 : 0;
  const minDelta = Math.sqrt(d) * level;

  let best: Best | null = null;
  const h: Hsja = {
    run,
    isL2,
    theta,
    dist: (a) => (isL2 ? l2Distance(a, x) : linfDistance(a, x)),
    consider: (image, label) => {
      const dd = h.dist(image);
      if (!best || dd < best.dist) best = { image, label, dist: dd };
    },
  };
  // Queries one binary search needs at most (used to keep budget for the step after a gradient):
  // log2 of the number of distinct images on a grid path (≤ d·255 for L2, ≤ 255 for L∞).
  const searchCost = run.quantize
    ? Math.ceil(Math.log2(isL2 ? d * 255 : 255)) + 1
    : Math.ceil(Math.log2(1 / theta)) + 1;

  let startSource: StartSource | 'none' = 'none';
  const stop = await untilStopped(async () => {
    const start = await findStartingPoint(run, options.init, p.initTrials, 0.001, options.initCandidates);
    startSource = start?.source ?? 'none';
    if (!start) return;
    h.consider(start.image, start.label);
    let current = await binarySearch(h, start.image, start.label);
    run.record({ distance: best!.dist }, true);

    const update = new Float64Array(d);
    for (let t = 1; t <= p.maxIterations; t++) {
      // δ_t (hsja.py select_delta): 0.1·range at t = 1, then √d·θ·d_{t−1} (L2) or d·θ·d_{t−1} (L∞).
      const delta = Math.max(
        minDelta,
        t === 1
          ? 0.1
          : isL2
            ? Math.sqrt(d) * theta * current.distPostUpdate
            : d * theta * current.distPostUpdate,
      );
      // B_t = B_0·√t probes, capped; and never so many that no budget is left to use the estimate.
      const wanted = Math.min(Math.floor(p.initNumEvals * Math.sqrt(t)), p.maxNumEvals);
      const numEvals = Math.min(wanted, run.affordable() - searchCost - 1);
      if (numEvals < 1) throw new StopAttack('budget');
      const grad = await estimateGradient(h, current.image, numEvals, delta);
      for (let i = 0; i < d; i++) update[i] = isL2 ? grad[i] : Math.sign(grad[i]);
      const stepped = await geometricStep(h, current.image, update, t);
      if (stepped) {
        h.consider(stepped.image, stepped.label);
        current = await binarySearch(h, stepped.image, stepped.label);
      }
      run.record({ distance: best!.dist }, true);
    }
  });

  const params = {
    attack: 'hopskipjump',
    ...p,
    theta,
    minDelta,
    binarySearch: run.quantize ? 'grid-path' : 'theta',
    stepsizeSearch: 'geometric',
    init: !!options.init,
    initCandidates: options.initCandidates?.length ?? 0,
    start: startSource,
  };
  const found = best as Best | null;
  if (found) run.record({ distance: found.dist }, true);
  const result = found
    ? run.result(found.image, found.label, { ...baseParams(run, options), ...params })
    : run.result(Float32Array.from(run.x), run.label, { ...baseParams(run, options), ...params });
  return { ...result, params: { ...result.params, stoppedBy: stop } };
}
