/**
 * The gradient of a served model, defenses included: x → preprocessor draw → network → loss.
 * Against a randomized defense the gradient is the Expectation over Transformation estimate
 * (Athalye, Carlini & Wagner, "Obfuscated gradients give a false sense of security", ICML 2018,
 * §4.1; Athalye et al., "Synthesizing robust adversarial examples", ICML 2018): the mean over `eot`
 * draws of Tᵀ∇(loss ∘ network)(T x), each draw T with its own seed, through the defenses' adjoints
 * (src/core/defenses.ts). A deterministic model needs one evaluation whatever `eot` says.
 */

import { applyPreprocessor, type PreprocessDraw, preprocessAdjoint } from '../core/defenses';
import type { GradientEngine } from '../core/engine';
import type { PreprocessorSpec } from '../core/models';
import { deriveSeed, Rng } from '../core/prng';
import type { LossSpec } from './losses';

const PIXELS = 784;
const CLASSES = 10;

/** Most draws per image and step. */
export const MAX_EOT = 1000;

export interface GradientTarget {
  weights: string;
  preprocessor: PreprocessorSpec | null;
}

export interface ImageGradient {
  /** mean loss over the draws */
  loss: number;
  /** mean logits over the draws (10 values) */
  logits: Float32Array;
  /** mean ∂loss/∂x over the draws (784 values, on the 28×28 input in [0,1]) */
  gradient: Float32Array;
}

export interface GradientBatch {
  items: ImageGradient[];
  /** gradient evaluations spent: images × draws (images for a deterministic model) */
  evaluations: number;
}

/**
 * Gradients of n images, each with its loss spec.
 * @param seeds per image, the seed of its first draw; draw k uses deriveSeed(seed, k) (ignored for
 *   a deterministic model), so draw 0 is the one /score makes with that seed
 * @param eot draws per image for a randomized model (1 … MAX_EOT)
 * @throws RangeError for mismatched lengths or an eot outside 1 … MAX_EOT
 */
export async function modelGradient(
  engine: GradientEngine,
  target: GradientTarget,
  inputs: readonly Float32Array[],
  specs: readonly LossSpec[],
  seeds: readonly number[],
  eot = 1,
): Promise<GradientBatch> {
  const n = inputs.length;
  if (specs.length !== n || seeds.length !== n)
    throw new RangeError(
      `${n} images need ${n} loss specs and seeds; got ${specs.length} and ${seeds.length}`,
    );
  if (!Number.isInteger(eot) || eot < 1 || eot > MAX_EOT)
    throw new RangeError(`eot must be an integer from 1 to ${MAX_EOT}, got ${eot}`);
  const spec = target.preprocessor;
  const draws = spec ? eot : 1;
  const stacked = new Float32Array(n * draws * PIXELS);
  const drawn: (PreprocessDraw | null)[] = [];
  const stackedSpecs: LossSpec[] = [];
  for (let i = 0; i < n; i++) {
    if (inputs[i].length !== PIXELS)
      throw new RangeError(`image ${i} has ${inputs[i].length} values, expected ${PIXELS}`);
    for (let k = 0; k < draws; k++) {
      const slot = i * draws + k;
      if (spec) {
        const r = applyPreprocessor(spec, inputs[i], new Rng(deriveSeed(seeds[i], k)));
        stacked.set(r.output, slot * PIXELS);
        drawn.push(r.draw);
      } else {
        stacked.set(inputs[i], slot * PIXELS);
        drawn.push(null);
      }
      stackedSpecs.push(specs[i]);
    }
  }
  const result = await engine.gradient(target.weights, stacked, n * draws, stackedSpecs);
  const items: ImageGradient[] = [];
  for (let i = 0; i < n; i++) {
    const gradient = new Float64Array(PIXELS);
    const logits = new Float64Array(CLASSES);
    let loss = 0;
    for (let k = 0; k < draws; k++) {
      const slot = i * draws + k;
      const g = result.gradient.subarray(slot * PIXELS, (slot + 1) * PIXELS);
      const draw = drawn[slot];
      const back = draw ? preprocessAdjoint(draw, g) : g;
      for (let p = 0; p < PIXELS; p++) gradient[p] += back[p] / draws;
      for (let c = 0; c < CLASSES; c++) logits[c] += result.logits[slot * CLASSES + c] / draws;
      loss += result.losses[slot] / draws;
    }
    items.push({ loss, logits: Float32Array.from(logits), gradient: Float32Array.from(gradient) });
  }
  return { items, evaluations: n * draws };
}
