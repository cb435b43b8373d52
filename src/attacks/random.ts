/**
 * Random-noise baseline: draw perturbations of size ε at random and report the first draw that is
 * adversarial. L∞: i.i.d. uniform noise in [−ε, ε] per pixel; L2: a Gaussian direction scaled to
 * ‖δ‖₂ = ε. Candidates are clipped to [0, 1] (which only shrinks them) and kept in the ball.
 * A robustness floor: any attack worth its queries should beat it.
 */
import { z } from 'zod';
import type { Rng } from '../core/prng';
import { projectToBall } from './ball';
import type { DecisionOracle } from './oracle';
import { checkParams, EPS, epsProblem, NORM, POS_INT } from './params';
import { AttackRun, baseParams, untilStopped } from './run';
import type { AttackOptions, AttackResult, Norm } from './types';
import { l2Distance, linfDistance } from './vec';

export interface RandomNoiseParams {
  norm: Norm;
  eps: number;
  /** Draws at most (default: as many as the budget allows). */
  draws: number;
  /** Draws per oracle call; the ones after the first hit in a call are still charged. */
  drawsPerCall: number;
}

export const RANDOM_NOISE_DEFAULTS = {
  linf: { eps: 0.1 },
  l2: { eps: 1.5 },
  drawsPerCall: 16,
};

/** The random-noise baseline's parameters (src/attacks/params.ts). */
export const RANDOM_NOISE_PARAMS = z.object({
  norm: NORM.optional(),
  eps: EPS.optional(),
  draws: POS_INT.optional().describe('draws at most (default: the query budget)'),
  drawsPerCall: POS_INT.optional().describe('draws per oracle call'),
});

export interface RandomNoiseOptions extends AttackOptions, Partial<Omit<RandomNoiseParams, 'norm' | 'eps'>> {}

export function resolveRandomNoiseParams(
  options: Partial<RandomNoiseParams> & { maxQueries: number },
): RandomNoiseParams {
  checkParams('random noise', RANDOM_NOISE_PARAMS, options);
  const norm = options.norm ?? 'linf';
  const eps = options.eps ?? RANDOM_NOISE_DEFAULTS[norm].eps;
  const epsWrong = epsProblem(eps, norm);
  if (epsWrong) throw new RangeError(`random noise: ${epsWrong}, got ${eps}`);
  const draws = Math.min(options.draws ?? options.maxQueries, options.maxQueries);
  const drawsPerCall = options.drawsPerCall ?? RANDOM_NOISE_DEFAULTS.drawsPerCall;
  return { norm, eps, draws, drawsPerCall };
}

/**
 * One random-noise candidate around x: δ i.i.d. uniform in [−ε, ε] (L∞) or a Gaussian direction
 * scaled to ‖δ‖₂ = ε (L2), projected into the ball and [0, 1] (projectToBall; with `quantize`, on
 * the 8-bit grid, x must then be on it). `delta` is scratch space of x's length.
 * @returns a new float32 image of x's length
 */
export function drawNoise(
  x: Float32Array,
  eps: number,
  norm: Norm,
  rng: Rng,
  quantize = false,
  delta = new Float64Array(x.length),
): Float32Array {
  const d = x.length;
  if (norm === 'linf') {
    for (let i = 0; i < d; i++) delta[i] = rng.uniformIn(-eps, eps);
  } else {
    let n = 0;
    for (let i = 0; i < d; i++) {
      delta[i] = rng.normal();
      n += delta[i] * delta[i];
    }
    n = Math.sqrt(n) || 1;
    for (let i = 0; i < d; i++) delta[i] *= eps / n;
  }
  return projectToBall(x, delta, norm, eps, quantize);
}

export async function randomNoise(
  options: RandomNoiseOptions,
  oracle: DecisionOracle,
): Promise<AttackResult> {
  const run = new AttackRun(options, oracle);
  const p = resolveRandomNoiseParams(options);
  const { x, d, rng } = run;
  const dist = (a: Float32Array) => (p.norm === 'l2' ? l2Distance(a, x) : linfDistance(a, x));
  let found: { image: Float32Array; label: number } | null = null;
  let drawn = 0;

  const stop = await untilStopped(async () => {
    const delta = new Float64Array(d);
    while (drawn < p.draws && !found) {
      const m = Math.min(p.drawsPerCall, p.draws - drawn, Math.max(1, run.affordable()));
      const batch: Float32Array[] = [];
      for (let b = 0; b < m; b++) batch.push(drawNoise(x, p.eps, p.norm, rng, run.quantize, delta));
      const labels = await run.decide(batch);
      drawn += m;
      for (let b = 0; b < m; b++) {
        if (run.isAdversarial(labels[b])) {
          found = { image: batch[b], label: labels[b] };
          break;
        }
      }
      if (found) run.record({ distance: dist((found as { image: Float32Array }).image) });
    }
  });

  const params = { ...baseParams(run, options), attack: 'random', ...p, drawn, stoppedBy: stop };
  const hit = found as { image: Float32Array; label: number } | null;
  if (hit) run.record({ distance: dist(hit.image) }, true);
  return hit ? run.result(hit.image, hit.label, params) : run.result(Float32Array.from(x), run.label, params);
}
