/**
 * SimBA (Guo, Gardner, You, Wilson & Weinberger, "Simple Black-box Adversarial Attacks", ICML 2019),
 * score-based, L2, pixel basis (SimBA) or low-frequency DCT basis (SimBA-DCT), after the authors'
 * simba.py / run_simba.py.
 *
 * Algorithm 1: go through orthonormal directions q in a fixed order; try x' − εq, and if that does
 * not lower the true-class probability (untargeted) or raise the target-class probability
 * (targeted), try x' + εq; keep whichever improves. Each direction is used at most once, so the
 * perturbation after T accepted steps has L2 norm ε√T (before clipping).
 */

import { z } from 'zod';
import { argmax } from '../core/math';
import { DctBasis } from './dct';
import type { ScoreOracle } from './oracle';
import { checkParams, POS_INT } from './params';
import { AttackRun, baseParams, untilStopped } from './run';
import type { AttackOptions, AttackResult } from './types';
import { l2Distance, resolveShape, shuffleInPlace } from './vec';

export type SimbaBasis = 'dct' | 'pixel';
export type SimbaOrder = 'strided' | 'rand';

export interface SimbaParams {
  basis: SimbaBasis;
  /** Step size ε (L2 length of each step). */
  epsilon: number;
  /**
   * 'strided' (run_simba.py's SimBA-DCT): the freqDims×freqDims lowest frequencies in random order,
   * then rings of width `stride` outwards, each ring shuffled. 'rand': a random permutation of the
   * freqDims×freqDims low-frequency block (DCT) or of all pixels (pixel basis, the paper's SimBA).
   */
  order: SimbaOrder;
  /** Side of the low-frequency block (paper: 28 of 224, i.e. 1/8 of the side). */
  freqDims: number;
  /** Ring width of the strided order (paper: 7 of 224, i.e. 1/32 of the side). */
  stride: number;
  /** Directions tried at most (default: all in the order). */
  maxIterations: number;
}

export const SIMBA_DEFAULTS = {
  basis: 'dct' as SimbaBasis,
  epsilon: 0.2,
  /** The paper's freq_dims 28 and stride 7 at 224×224, as fractions of the image side. */
  freqRatio: 1 / 8,
  strideRatio: 1 / 32,
};

/** SimBA's parameters (src/attacks/params.ts); an experiment must state the basis. */
export const SIMBA_PARAMS = z.object({
  basis: z.enum(['dct', 'pixel']).describe('DCT (SimBA-DCT) or pixel directions'),
  norm: z.literal('l2').optional().describe('L2 only'),
  epsilon: z.number().gt(0).optional().describe('step size ε: the L2 length of each step'),
  order: z.enum(['strided', 'rand']).optional().describe('low frequencies first in rings, or a random order'),
  freqDims: POS_INT.optional().describe('side of the low-frequency block'),
  stride: POS_INT.optional().describe('ring width of the strided order'),
  maxIterations: POS_INT.optional().describe('directions tried at most'),
});

export interface SimbaOptions extends AttackOptions, Partial<SimbaParams> {}

/** Resolves the defaults against the image size (paper ratios rescaled: 28×28 → freqDims 4, stride 1). */
export function resolveSimbaParams(
  options: Partial<SimbaParams> & { norm?: string },
  h: number,
  w: number,
): SimbaParams {
  if (options.norm !== undefined && options.norm !== 'l2') throw new RangeError('SimBA is an L2 attack');
  checkParams('SimBA', SIMBA_PARAMS, options);
  const basis = options.basis ?? SIMBA_DEFAULTS.basis;
  const side = Math.min(h, w);
  const order = options.order ?? (basis === 'dct' ? 'strided' : 'rand');
  const freqDims = Math.min(
    side,
    Math.max(1, options.freqDims ?? (basis === 'dct' ? Math.round(side * SIMBA_DEFAULTS.freqRatio) : side)),
  );
  const stride = Math.max(1, options.stride ?? Math.round(side * SIMBA_DEFAULTS.strideRatio));
  const epsilon = options.epsilon ?? SIMBA_DEFAULTS.epsilon;
  const total =
    basis === 'pixel' && order === 'rand' ? h * w : order === 'rand' ? freqDims * freqDims : h * w;
  const maxIterations = Math.min(total, options.maxIterations ?? total);
  return { basis, epsilon, order, freqDims, stride, maxIterations };
}

/**
 * Coordinate order on an [h, w] grid (flat index r·w + c). 'strided' follows utils.block_order:
 * the f×f top-left block shuffled, then for i = f, f+stride, …: the L-shaped ring
 * {r < i+stride, c < i+stride} minus {r < i, c < i}, shuffled (rings clipped to the grid).
 */
export function simbaOrder(
  h: number,
  w: number,
  order: SimbaOrder,
  freqDims: number,
  stride: number,
  rng: { int(n: number): number },
  allPixels = false,
): Int32Array {
  const out: number[] = [];
  if (order === 'rand') {
    const idx: number[] = [];
    if (allPixels) for (let k = 0; k < h * w; k++) idx.push(k);
    else
      for (let r = 0; r < Math.min(freqDims, h); r++)
        for (let c = 0; c < Math.min(freqDims, w); c++) idx.push(r * w + c);
    shuffleInPlace(idx, rng);
    return Int32Array.from(idx);
  }
  const block: number[] = [];
  for (let r = 0; r < Math.min(freqDims, h); r++)
    for (let c = 0; c < Math.min(freqDims, w); c++) block.push(r * w + c);
  shuffleInPlace(block, rng);
  out.push(...block);
  for (let i = freqDims; i < Math.max(h, w); i += stride) {
    const ring: number[] = [];
    const end = i + stride;
    for (let r = 0; r < Math.min(end, h); r++) {
      for (let c = 0; c < Math.min(end, w); c++) if (r >= i || c >= i) ring.push(r * w + c);
    }
    shuffleInPlace(ring, rng);
    out.push(...ring);
  }
  return Int32Array.from(out);
}

export async function simba(options: SimbaOptions, oracle: ScoreOracle): Promise<AttackResult> {
  const run = new AttackRun(options, oracle);
  const { x, d, rng } = run;
  const basisName = options.basis ?? SIMBA_DEFAULTS.basis;
  const [h, w] = basisName === 'dct' || options.shape ? resolveShape(d, options.shape) : [1, d];
  const p = resolveSimbaParams(options, h, w);
  const dct = p.basis === 'dct' ? new DctBasis(h, w) : null;
  const indices = simbaOrder(
    h,
    w,
    p.order,
    p.freqDims,
    p.stride,
    rng,
    p.basis === 'pixel' && p.order === 'rand',
  );
  // The class whose probability SimBA moves: down for the label, up for the target.
  const cls = run.targeted ? (run.target as number) : run.label;
  // Untargeted, "p_y decreases" is judged as "the mass of the other classes increases": the same
  // order, but float32 probabilities of a confident model saturate at p_y = 1 while the others
  // stay resolvable (1 − 1e-9 rounds to 1, 1e-9 does not).
  const objective = (probs: Float32Array) => {
    if (run.targeted) return probs[cls];
    let other = 0;
    for (let j = 0; j < probs.length; j++) if (j !== cls) other += probs[j];
    return other;
  };

  const delta = new Float64Array(d); // current perturbation Σ ±ε·q_k, unclipped (simba_batch keeps it so)
  const trial = new Float64Array(d);
  const img = new Float64Array(d);
  let current: Float32Array = Float32Array.from(x);
  let currentLabel = run.label;
  let queried = false;
  let prev = Number.NaN;
  let lossNow = Number.NaN; // the paper's loss: p(label) untargeted, p(target) targeted

  const tryStep = async (dim: number, sign: number) => {
    trial.set(delta);
    if (dct) dct.addBasis(trial, Math.floor(dim / w), dim % w, sign * p.epsilon);
    else trial[dim] += sign * p.epsilon;
    for (let i = 0; i < d; i++) img[i] = x[i] + trial[i];
    const candidate = run.prep(img);
    const [probs] = await run.score([candidate]);
    const q = objective(probs);
    if (!(q > prev)) return false;
    delta.set(trial);
    current = candidate;
    currentLabel = argmax(probs);
    prev = q;
    lossNow = probs[cls];
    run.record({ loss: lossNow, distance: l2Distance(candidate, x) });
    return true;
  };

  const stop = await untilStopped(async () => {
    // p = p_h(y | x): the first query, on x itself
    const [probs] = await run.score([current]);
    queried = true;
    prev = objective(probs);
    lossNow = probs[cls];
    currentLabel = argmax(probs);
    run.record({ loss: lossNow, distance: 0 }, true);
    for (let k = 0; k < p.maxIterations && !run.isAdversarial(currentLabel); k++) {
      const dim = indices[k];
      if (!(await tryStep(dim, -1))) await tryStep(dim, +1);
    }
  });

  if (queried) run.record({ loss: lossNow }, true);
  return run.result(current, currentLabel, {
    ...baseParams(run, options),
    attack: 'simba',
    norm: 'l2',
    ...p,
    shape: [h, w],
    stoppedBy: stop,
  });
}
