/**
 * Starting points for the decision-based attacks (HopSkipJump, Boundary): they walk along the
 * decision boundary and so need an adversarial image to begin with.
 */
import { type AttackRun, StopAttack } from './run';

export interface StartingPoint {
  image: Float32Array;
  label: number;
  /** where it came from: the caller's `init`, a uniform-noise draw, or one of the data candidates */
  source: StartSource;
}

export type StartSource = 'given' | 'noise' | 'data';

/**
 * A verified adversarial starting point.
 * - `init` given (needed for targeted attacks on real models: an image of the target class): it is
 *   checked with one query and used as it is (HSJA's `target_image`).
 * - otherwise: uniform noise images are tried one at a time, up to `trials` (ART's `init_size`,
 *   HSJA's random-noise initialisation), and the first adversarial one is blended towards x with a
 *   binary search on the blend factor to tolerance `tolerance` (0.001 as in HSJA and ART).
 * - when every noise draw fails, the `candidates` (real images of other classes, nearest first) are
 *   tried the same way. Uniform noise is not "any other class": every model here calls it a Bag, so
 *   on Bags the noise search always fails and the attack would report a robustness it never tested.
 *   Noise comes first so that runs where it works are unchanged (ART's behaviour).
 * Returns null when no adversarial start was found. Queries one image per call on purpose: the
 * search stops at the first hit, so batching would waste queries.
 */
export async function findStartingPoint(
  run: AttackRun,
  init: Float32Array | undefined,
  trials: number,
  tolerance = 0.001,
  candidates: readonly ArrayLike<number>[] = [],
): Promise<StartingPoint | null> {
  const { d, rng } = run;
  if (init) {
    if (init.length !== d) throw new RangeError(`init has ${init.length} pixels, x has ${d}`);
    const image = run.prep(init);
    const [label] = await run.decide([image]);
    return run.isAdversarial(label) ? { image, label, source: 'given' } : null;
  }
  for (const [k, c] of candidates.entries()) {
    if (c.length !== d) throw new RangeError(`init candidate ${k} has ${c.length} pixels, x has ${d}`);
  }
  for (let t = 0; t < trials; t++) {
    const noise = new Float32Array(d);
    for (let i = 0; i < d; i++) noise[i] = rng.uniform();
    const image = run.prep(noise);
    const [label] = await run.decide([image]);
    if (run.isAdversarial(label)) return blendTowardsX(run, { image, label, source: 'noise' }, tolerance);
  }
  for (const c of candidates) {
    const image = run.prep(Float32Array.from(c));
    const [label] = await run.decide([image]);
    if (run.isAdversarial(label)) return blendTowardsX(run, { image, label, source: 'data' }, tolerance);
  }
  return null;
}

/** Binary search on the blend factor between x and an adversarial image, to `tolerance`. */
async function blendTowardsX(
  run: AttackRun,
  start: StartingPoint,
  tolerance: number,
): Promise<StartingPoint> {
  const { x, d } = run;
  const image = start.image;
  let best: StartingPoint = start;
  let low = 0;
  let high = 1;
  const blend = new Float64Array(d);
  while (high - low > tolerance) {
    const mid = (low + high) / 2;
    for (let i = 0; i < d; i++) blend[i] = (1 - mid) * x[i] + mid * image[i];
    const candidate = run.prep(blend);
    let l: number;
    try {
      [l] = await run.decide([candidate]);
    } catch (e) {
      // out of budget (or aborted) mid-search: the start found so far is still adversarial
      if (e instanceof StopAttack) return best;
      throw e;
    }
    if (run.isAdversarial(l)) {
      high = mid;
      best = { image: candidate, label: l, source: start.source };
    } else {
      low = mid;
    }
  }
  return best;
}
