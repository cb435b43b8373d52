/**
 * Base classifiers for randomized smoothing (smoothing.ts): one noise draw per seed, computed the
 * way the product's noise route computes one answer.
 */

import type { InferenceEngine } from '../core/engine';
import { argmax } from '../core/math';
import { type ClassifyModel, classifyInputs } from '../core/router';
import type { BaseSampler } from './smoothing';

/**
 * In process: the model's own preprocessor (x + N(0, σ²), clipped) and weights through an engine,
 * the draw of item i seeded by seeds[i] (classifyInputs' itemSeeds), as `/score` with that seed.
 * @throws RangeError when the model has no noise preprocessor (smoothing needs Gaussian draws)
 */
export function engineSampler(engine: InferenceEngine, model: ClassifyModel, x: Float32Array): BaseSampler {
  if (model.preprocessor?.kind !== 'noise')
    throw new RangeError(
      'randomized smoothing needs a model behind the Gaussian-noise defense (_4, or an upload wrapped in noise)',
    );
  return async (seeds) => {
    const r = await classifyInputs(
      engine,
      model,
      seeds.map(() => x),
      seeds[0],
      { itemSeeds: seeds },
    );
    return r.preds;
  };
}

/**
 * Over the API contract: `/score` of the noise route with one seeded item per draw (the batch
 * extension), the class being the argmax of each answer.
 * @param score the probability vectors of items {image, seed}, in order
 */
export function scoreSampler(
  score: (items: { image: string; seed: number }[]) => Promise<number[][]>,
  image: string,
): BaseSampler {
  return async (seeds) => (await score(seeds.map((seed) => ({ image, seed })))).map((p) => argmax(p));
}
