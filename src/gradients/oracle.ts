/**
 * The white-box oracle of an in-process engine (the runner, tools, tests, the page's worker): the
 * gradient through the model's defense with EOT, and classifications as /decision makes them.
 * Every call draws its seeds from one stream, so a run replays from its seed.
 */

import type { WhiteBoxOracle } from '../attacks/whitebox';
import type { GradientEngine } from '../core/engine';
import { Rng } from '../core/prng';
import { classifyInputs } from '../core/router';
import { type GradientTarget, modelGradient } from './eot';

/**
 * @param eot draws per image and step against a randomized defense (ignored otherwise)
 * @param seed the stream the draws' seeds come from
 */
export function engineWhiteBoxOracle(
  engine: GradientEngine,
  target: GradientTarget,
  eot: number,
  seed: number,
): WhiteBoxOracle {
  const rng = new Rng(seed);
  const seeds = (n: number) => Array.from({ length: n }, () => rng.nextUint32() >>> 1);
  return {
    randomized: target.preprocessor !== null,
    gradient: (xs, specs) => modelGradient(engine, target, xs, specs, seeds(xs.length), eot),
    async decide(xs) {
      const r = await classifyInputs(engine, target, xs, seeds(1)[0]);
      return r.preds;
    },
  };
}
