/**
 * One gradient evaluation on any onnxruntime: a forward run for the logits, the losses and their
 * cotangent in TypeScript, and a run of the gradient graph with that cotangent. Engines (node,
 * web worker) supply the two runs; this module owns the order, the batching and the conversion
 * for models that output probabilities.
 */

import type { GradientResult } from '../core/engine';
import { batchLoss, type LossSpec } from './losses';

export const PIXELS = 784;
export const CLASSES = 10;
/** Most images per gradient run: the backward graph keeps every activation of the batch alive. */
export const GRADIENT_CHUNK = 64;

export interface GradientRuns {
  /** the model's raw outputs (logits or probabilities) for m images */
  forward(x: Float32Array, m: number): Promise<Float32Array>;
  /** ∂⟨cotangent, output⟩/∂x for m images: m×784 values */
  backward(x: Float32Array, m: number, cotangent: Float32Array): Promise<Float32Array>;
}

export interface GradientModelInfo {
  /** the model outputs probabilities; the losses then see log-probabilities (as /score does) */
  probabilities: boolean;
  /** most images per run (1 for a file that fixes its batch size) */
  maxBatch: number;
}

/** Floor of probabilities before the log, as probabilitiesToLogits does. */
const PROB_FLOOR = 1e-30;

/**
 * Losses, logits and input gradients of n images.
 * @throws RangeError when inputs or specs do not match n
 */
export async function evaluateGradient(
  runs: GradientRuns,
  info: GradientModelInfo,
  inputs: Float32Array,
  n: number,
  specs: readonly LossSpec[],
): Promise<GradientResult> {
  if (!Number.isInteger(n) || n < 1 || inputs.length !== n * PIXELS || specs.length !== n) {
    throw new RangeError(
      `gradient needs n ≥ 1 images of ${PIXELS} floats and n loss specs; got n=${n}, ${inputs.length} floats, ${specs.length} specs`,
    );
  }
  const logits = new Float32Array(n * CLASSES);
  const losses = new Float64Array(n);
  const gradient = new Float32Array(n * PIXELS);
  const chunk = Math.max(1, Math.min(info.maxBatch, GRADIENT_CHUNK));
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const x = inputs.subarray(start * PIXELS, (start + m) * PIXELS);
    const raw = await runs.forward(x, m);
    if (raw.length !== m * CLASSES)
      throw new Error(`the model returned ${raw.length} values for ${m} images, expected ${m * CLASSES}`);
    const z = info.probabilities ? raw.map((p) => Math.log(Math.max(p, PROB_FLOOR))) : raw;
    const part = batchLoss(z, CLASSES, specs.slice(start, start + m));
    const cot = part.cotangent;
    if (info.probabilities) {
      // d log p / dp = 1/p (0 where the floor cut it off)
      for (let i = 0; i < cot.length; i++) cot[i] = raw[i] > PROB_FLOOR ? cot[i] / raw[i] : 0;
    }
    const g = await runs.backward(x, m, cot);
    if (g.length !== m * PIXELS)
      throw new Error(`the gradient graph returned ${g.length} values for ${m} images`);
    logits.set(z, start * CLASSES);
    losses.set(part.losses, start);
    gradient.set(g, start * PIXELS);
  }
  return { logits, losses, gradient };
}
