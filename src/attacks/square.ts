/**
 * Square Attack (Andriushchenko, Croce, Flammarion & Hein, "Square Attack: a query-efficient
 * black-box adversarial attack via random search", ECCV 2020), score-based, L∞ and L2, after the
 * authors' attack.py (square_attack_linf / square_attack_l2).
 *
 * Random search inside the ε-ball: each iteration changes one random square window (side from the
 * p schedule) and keeps the change if the loss decreases. L∞ (Alg. 2): the window gets a single
 * ±ε value; start from vertical stripes of ±ε. L2 (Alg. 3): the window gets a ±"meta pseudo-
 * Gaussian" bump and a second window gives up its mass, keeping ‖δ‖₂ = ε; start from a grid of bumps.
 *
 * Deviation: window corners are drawn from 0..h−s inclusive; attack.py's randint(0, h−s) never
 * places a window on the last row or column, which on small images leaves pixels unreachable.
 *
 * Every candidate is projected into the ball (exactly, in float32) before it is queried, and the
 * returned image is checked again: the result is never outside the ε-ball, even when it fails.
 */

import { z } from 'zod';
import { argmax } from '../core/math';
import { linfPixel, projectToBall, withinBall } from './ball';
import type { ScoreOracle } from './oracle';
import { checkParams, EPS, epsProblem, NORM } from './params';
import { AttackRun, baseParams, untilStopped } from './run';
import type { AttackOptions, AttackResult, Norm } from './types';
import { resolveShape } from './vec';

export type SquareLoss = 'margin' | 'ce';

export interface SquareParams {
  norm: Norm;
  eps: number;
  /** Initial fraction of pixels changed per iteration (halved on the schedule of pSelection). */
  pInit: number;
  /** Untargeted default margin loss; targeted default cross-entropy (attack.py's main). */
  loss: SquareLoss;
  /** Margin on logits (log-probabilities: equal to the logit margin for softmax scores) or on probabilities. */
  marginOn: 'logit' | 'prob';
}

/**
 * pInit 0.8 for both norms: the paper's MNIST setting (§5, "p = 0.8 for MNIST") and ART's default
 * `p_init`. attack.py's 0.05 (L∞) and 0.1 (L2) are its ImageNet settings: on 28×28 images they start
 * with 6×6 windows where 25×25 ones flip more models within 1,000 queries (0_1 robust
 * accuracy 76 % with 0.05, 71 % with 0.8 on the defense-comparison images). eps: Fashion-MNIST
 * conventions, 0.1 for L∞ (SPEC §3; 25 gray levels on the 8-bit grid) and 1.5 for L2.
 */
export const SQUARE_DEFAULTS = {
  linf: { eps: 0.1, pInit: 0.8 },
  l2: { eps: 1.5, pInit: 0.8 },
};

/** Square's parameters (src/attacks/params.ts); an experiment must state norm and ε. */
export const SQUARE_PARAMS = z.object({
  norm: NORM,
  eps: EPS,
  pInit: z.number().gt(0).max(1).optional().describe('initial fraction of pixels changed per iteration'),
  loss: z
    .enum(['margin', 'ce'])
    .optional()
    .describe('margin (untargeted default) or cross-entropy (targeted default)'),
  marginOn: z.enum(['logit', 'prob']).optional().describe('margin on logits or on probabilities'),
});

export interface SquareOptions extends AttackOptions, Partial<Omit<SquareParams, 'norm' | 'eps'>> {}

export function resolveSquareParams(options: Partial<SquareParams>, targeted: boolean): SquareParams {
  checkParams('Square', SQUARE_PARAMS, options);
  const norm = options.norm ?? 'linf';
  const eps = options.eps ?? SQUARE_DEFAULTS[norm].eps;
  const epsWrong = epsProblem(eps, norm);
  if (epsWrong) throw new RangeError(`Square: ${epsWrong}, got ${eps}`);
  const pInit = options.pInit ?? SQUARE_DEFAULTS[norm].pInit;
  const loss = options.loss ?? (targeted ? 'ce' : 'margin');
  return { norm, eps, pInit, loss, marginOn: options.marginOn ?? 'logit' };
}

/**
 * attack.py's p_selection: piecewise-constant halving of p at iterations 10, 50, 200, 500, 1000,
 * 2000, 4000, 6000, 8000 of 10 000, rescaled to the run's number of iterations (the query budget).
 */
export function pSelection(pInit: number, it: number, nIters: number): number {
  const i = Math.floor((it / nIters) * 10000);
  if (i > 10 && i <= 50) return pInit / 2;
  if (i > 50 && i <= 200) return pInit / 4;
  if (i > 200 && i <= 500) return pInit / 8;
  if (i > 500 && i <= 1000) return pInit / 16;
  if (i > 1000 && i <= 2000) return pInit / 32;
  if (i > 2000 && i <= 4000) return pInit / 64;
  if (i > 4000 && i <= 6000) return pInit / 128;
  if (i > 6000 && i <= 8000) return pInit / 256;
  if (i > 8000 && i <= 10000) return pInit / 512;
  return pInit;
}

/** attack.py's pseudo_gaussian_pert_rectangles: nested rectangles weighted 1/(k+1)², unit L2. */
function pseudoGaussianRect(rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  const xc = Math.floor(rows / 2) + 1;
  const yc = Math.floor(cols / 2) + 1;
  let c0 = xc - 1;
  let c1 = yc - 1;
  for (let k = 0; k < Math.max(xc, yc); k++) {
    const r0 = Math.max(c0, 0);
    const r1 = Math.min(c0 + 2 * k + 1, rows);
    const q0 = Math.max(c1, 0);
    const q1 = Math.min(c1 + 2 * k + 1, cols);
    for (let r = r0; r < r1; r++) for (let c = q0; c < q1; c++) out[r * cols + c] += 1 / (k + 1) ** 2;
    c0--;
    c1--;
  }
  normalize(out);
  return out;
}

/** attack.py's meta_pseudo_gaussian_pert: +bump over −bump halves, unit L2, transposed half the time. */
function metaPseudoGaussian(s: number, rng: { uniform(): number }): Float64Array {
  const out = new Float64Array(s * s);
  const half = Math.floor(s / 2);
  const top = pseudoGaussianRect(half, s);
  const bottom = pseudoGaussianRect(s - half, s);
  out.set(top, 0);
  for (let i = 0; i < bottom.length; i++) out[half * s + i] = -bottom[i];
  normalize(out);
  if (rng.uniform() > 0.5) {
    const t = new Float64Array(s * s);
    for (let r = 0; r < s; r++) for (let c = 0; c < s; c++) t[c * s + r] = out[r * s + c];
    return t;
  }
  return out;
}

function normalize(v: Float64Array): void {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] /= n;
}

/** log p_k, resolved through the other classes' mass when p_k is close to 1 (float32 saturates there). */
function logProb(p: Float32Array, k: number): number {
  if (p[k] > 0.5) {
    let other = 0;
    for (let j = 0; j < p.length; j++) if (j !== k) other += p[j];
    return Math.log1p(-Math.min(other, 1 - 1e-12));
  }
  return Math.log(Math.max(p[k], 1e-45));
}

type Rand = { uniform(): number; int(n: number): number };

/** attack.py's initialisation: L∞ vertical stripes of ±ε; L2 a grid of ±bumps rescaled to ‖δ‖₂ = ε. */
function initialDelta(norm: Norm, h: number, w: number, eps: number, rng: Rand): Float64Array {
  const delta = new Float64Array(h * w);
  if (norm === 'linf') {
    // [c, 1, w] in attack.py: one sign per column
    for (let c = 0; c < w; c++) {
      const s = rng.uniform() < 0.5 ? -eps : eps;
      for (let r = 0; r < h; r++) delta[r * w + c] = s;
    }
    return delta;
  }
  // a grid of ±meta-pseudo-Gaussian bumps of side ⌊h/5⌋
  const s = Math.max(1, Math.floor(h / 5));
  const sp = Math.floor((h - s * 5) / 2);
  for (let bi = 0, ch = sp; bi < Math.floor(h / s); bi++, ch += s) {
    for (let bj = 0, cw = sp; bj < Math.floor(w / s); bj++, cw += s) {
      const bump = metaPseudoGaussian(s, rng);
      const sign = rng.uniform() < 0.5 ? -1 : 1;
      for (let r = 0; r < s; r++) {
        for (let c = 0; c < s; c++) {
          const rr = ch + r;
          const cc = cw + c;
          if (rr >= 0 && rr < h && cc >= 0 && cc < w) delta[rr * w + cc] += sign * bump[r * s + c];
        }
      }
    }
  }
  normalize(delta);
  for (let i = 0; i < delta.length; i++) delta[i] *= eps;
  return delta;
}

/** What one iteration's proposal needs: the image, the current best and the geometry. */
interface Proposal {
  x: Float32Array;
  best: Float32Array;
  h: number;
  w: number;
  eps: number;
  quantize: boolean;
  rng: Rand;
}

/**
 * L∞ step (Alg. 2): one window of side s = round(√(p·n_features)), 1 ≤ s ≤ h−1, set to a single ±ε,
 * the sign redrawn until it changes the image (attack.py's while loop). Writes into `deltas`.
 */
function linfProposal(deltas: Float64Array, pIt: number, q: Proposal): void {
  const { x, best, h, w, eps, rng } = q;
  const s = Math.min(Math.max(Math.round(Math.sqrt(pIt * h * w)), 1), Math.min(h, w) - 1);
  const ch = rng.int(h - s + 1);
  const cw = rng.int(w - s + 1);
  for (let guard = 0; guard < 100; guard++) {
    const sign = rng.uniform() < 0.5 ? -eps : eps;
    let changed = false;
    for (let r = ch; r < ch + s; r++) {
      for (let c = cw; c < cw + s; c++) {
        const i = r * w + c;
        deltas[i] = sign;
        if (Math.abs(linfPixel(x[i], sign, eps, q.quantize) - best[i]) >= 1e-7) changed = true;
      }
    }
    if (changed) break;
  }
}

/**
 * L2 step (Alg. 3): a ±bump in a first window of odd side s ≥ 3, a second window gives up its mass,
 * and the result is rescaled to ‖δ‖₂ = ε. Writes into `deltas`.
 */
function l2Proposal(deltas: Float64Array, pIt: number, q: Proposal): void {
  const { h, w, eps, rng } = q;
  const d = h * w;
  let s = Math.max(Math.round(Math.sqrt(pIt * d)), 3);
  if (s % 2 === 0) s += 1;
  s = Math.min(s, Math.min(h, w) - 1);
  const ch = rng.int(h - s + 1);
  const cw = rng.int(w - s + 1);
  const ch2 = rng.int(h - s + 1);
  const cw2 = rng.int(w - s + 1);
  const in1 = (r: number, c: number) => r >= ch && r < ch + s && c >= cw && c < cw + s;
  const in2 = (r: number, c: number) => r >= ch2 && r < ch2 + s && c >= cw2 && c < cw2 + s;
  let normWindow = 0;
  let normImage = 0;
  let normWindows = 0;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const v = deltas[r * w + c] ** 2;
      normImage += v;
      if (in1(r, c)) normWindow += v;
      if (in1(r, c) || in2(r, c)) normWindows += v;
    }
  }
  normWindow = Math.sqrt(normWindow);
  normImage = Math.sqrt(normImage);
  normWindows = Math.sqrt(normWindows);
  const bump = metaPseudoGaussian(s, rng);
  const sign = rng.uniform() < 0.5 ? -1 : 1;
  // new window = ±bump + old window direction, rescaled to the mass freed in both windows
  for (let r = 0; r < s; r++) {
    for (let c = 0; c < s; c++) {
      bump[r * s + c] = sign * bump[r * s + c] + deltas[(ch + r) * w + cw + c] / (1e-10 + normWindow);
    }
  }
  normalize(bump);
  const mass = Math.sqrt(Math.max(eps * eps - normImage * normImage, 0) + normWindows * normWindows);
  for (let r = ch2; r < ch2 + s; r++) for (let c = cw2; c < cw2 + s; c++) deltas[r * w + c] = 0;
  for (let r = 0; r < s; r++)
    for (let c = 0; c < s; c++) deltas[(ch + r) * w + cw + c] = bump[r * s + c] * mass;
  let n = 0;
  for (let i = 0; i < d; i++) n += deltas[i] * deltas[i];
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < d; i++) deltas[i] *= eps / n;
}

/**
 * attack.py's model.loss, minimised: margin = f_cls − max_{j≠cls} f_j (negated when targeted), or
 * CE = log p_y (untargeted) / −log p_t (targeted).
 */
function squareLoss(p: SquareParams, cls: number, targeted: boolean): (pr: Float32Array) => number {
  const score = (q: number, pr: Float32Array) => (p.marginOn === 'logit' ? logProb(pr, q) : pr[q]);
  return (pr) => {
    if (p.loss === 'ce') return targeted ? -logProb(pr, cls) : logProb(pr, cls);
    let other = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < pr.length; j++) if (j !== cls) other = Math.max(other, score(j, pr));
    const margin = score(cls, pr) - other;
    return targeted ? -margin : margin;
  };
}

export async function squareAttack(options: SquareOptions, oracle: ScoreOracle): Promise<AttackResult> {
  const run = new AttackRun(options, oracle);
  const p = resolveSquareParams(options, options.target !== undefined);
  const { x, d, rng } = run;
  const [h, w] = resolveShape(d, options.shape);
  if (h < 2 || w < 2) throw new RangeError('Square needs an image of at least 2×2 pixels');
  const { eps, norm } = p;
  const lossOf = squareLoss(p, run.targeted ? (run.target as number) : run.label, run.targeted);
  const project = (delta: Float64Array) => projectToBall(x, delta, norm, eps, run.quantize);

  let best: Float32Array = Float32Array.from(x);
  let bestLabel = run.label;
  let lossMin = Number.POSITIVE_INFINITY;
  let queried = false;

  const stop = await untilStopped(async () => {
    const nIters = run.affordable();
    const start = project(initialDelta(norm, h, w, eps, rng));
    const [probs0] = await run.score([start]);
    queried = true;
    best = start;
    bestLabel = argmax(probs0);
    lossMin = lossOf(probs0);
    run.record({ loss: lossMin }, true);

    const deltas = new Float64Array(d);
    const propose = norm === 'linf' ? linfProposal : l2Proposal;
    for (let it = 0; it < nIters - 1 && !run.isAdversarial(bestLabel); it++) {
      for (let i = 0; i < d; i++) deltas[i] = best[i] - x[i];
      propose(deltas, pSelection(p.pInit, it, nIters), { x, best, h, w, eps, quantize: run.quantize, rng });
      const candidate = project(deltas);
      const [probs] = await run.score([candidate]);
      const loss = lossOf(probs);
      if (loss < lossMin) {
        lossMin = loss;
        best = candidate;
        bestLabel = argmax(probs);
        run.record({ loss: lossMin });
      }
    }
  });

  if (!withinBall(best, x, norm, eps)) {
    throw new Error(`Square attack bug: result outside the ${norm} ball of radius ${eps}`);
  }
  if (queried) run.record({ loss: lossMin }, true);
  return run.result(best, bestLabel, {
    ...baseParams(run, options),
    attack: 'square',
    ...p,
    shape: [h, w],
    stoppedBy: stop,
  });
}
