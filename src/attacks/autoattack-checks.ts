/**
 * AutoAttack's checks for an evaluation that may be unreliable, after fra31/auto-attack,
 * autoattack/checks.py and flags_doc.md (Croce & Hein, ICML 2020): each raises a flag that is
 * shown with the result, never an error.
 *
 * - `random_output`: the outputs for the same images differ between runs (checks.py,
 *   check_randomized: normalised logits further apart than 1e-4 in L2, or a different number
 *   correct, over 5 runs). The standard version then does not apply; `rand` (EOT) does.
 * - `softmax_output`: the outputs are a probability distribution (check_range_output: in
 *   [−1e-5, 1 + 1e-5], rows summing to 1 within 1e-5), so the losses see probabilities, not logits.
 * - `zero_gradient`: an image's loss gradient is exactly zero (check_zero_gradients), so gradient
 *   attacks cannot move from it (input quantisation, hard thresholds, saturated units).
 * - `too_few_classes`: the DLR loss needs 3 classes and its targeted form 4, and the targeted
 *   attacks need more classes than targets (check_n_classes).
 * - `square_beats_whitebox`: Square, the black-box stage, lowered the robust accuracy that the
 *   gradient stages left by more than 0.2 % of the images (check_square_sr): a sign of gradient
 *   masking, so the white-box figure overstates robustness.
 */
import type { LossSpec } from '../gradients/losses';
import type { WhiteBoxOracle } from './whitebox';

export const FLAG_CODES = [
  'random_output',
  'softmax_output',
  'zero_gradient',
  'too_few_classes',
  'square_beats_whitebox',
] as const;
export type FlagCode = (typeof FLAG_CODES)[number];

export interface Flag {
  code: FlagCode;
  /** what was seen, in a sentence with its numbers */
  message: string;
}

/** What each flag means for the result, for reports and the page (after flags_doc.md). */
export const FLAG_ADVICE: Record<FlagCode, string> = {
  random_output:
    'the model is randomized: single-draw gradients mislead attacks, so it is evaluated with the rand version (APGD with EOT over the defense draws)',
  softmax_output:
    'the model outputs probabilities, not logits: the losses saturate, gradients vanish numerically, and gradient attacks may understate their strength',
  zero_gradient:
    'gradient attacks cannot move from an image whose gradient is zero; the black-box stage (Square) or a BPDA-style adaptive attack is needed there',
  too_few_classes: 'the DLR losses and the targeted stages need more classes than the model has',
  square_beats_whitebox:
    'a black-box attack beat the gradient attacks: a sign of gradient masking, so even the final figure may overstate robustness; try more Square queries and restarts or an adaptive attack',
};

/** Runs of the randomness check (checks.py: n = 5) and the images it uses at most. */
const RANDOM_RUNS = 5;
const RANDOM_IMAGES = 16;

export interface PreCheckResult {
  flags: Flag[];
  /** the outputs differed between runs */
  randomOutput: boolean;
  /** classes the model outputs */
  classes: number;
  gradientEvaluations: number;
}

function l2Normalised(z: Float32Array): Float64Array {
  let n = 0;
  for (const v of z) n += v * v;
  const s = 1 / (Math.sqrt(n) + 1e-10);
  return Float64Array.from(z, (v) => v * s);
}

/**
 * The checks that run before scoring, on the clean images: one gradient call of the margin loss
 * on all of them (softmax output, zero gradients, classes), then `RANDOM_RUNS − 1` more on up to
 * 16 of them (randomness). Gradient evaluations are counted.
 * @param targets the most target classes a stage attacks (9 for APGD-T and FAB-T), 0 for none
 * @param dlr whether a stage uses a DLR loss
 */
export async function preChecks(
  oracle: WhiteBoxOracle,
  xs: Float32Array[],
  labels: number[],
  use: { dlr: boolean; targets: number },
): Promise<PreCheckResult> {
  const flags: Flag[] = [];
  const specs = labels.map((label): LossSpec => ({ loss: 'margin', label }));
  const first = await oracle.gradient(xs, specs);
  let evaluations = first.evaluations;
  const classes = first.items[0]?.logits.length ?? 0;

  const out = first.items.map((g) => g.logits);
  const probabilities =
    out.length > 0 &&
    out.every((z) => {
      let s = 0;
      for (const v of z) {
        if (!(v < 1 + 1e-5 && v > -1e-5)) return false;
        s += v;
      }
      return Math.abs(s - 1) < 1e-5;
    });
  if (probabilities)
    flags.push({
      code: 'softmax_output',
      message: `the outputs of all ${out.length} images lie in [0, 1] and sum to 1: they look like probabilities, not logits`,
    });

  const zero = first.items.filter((g) => g.gradient.every((v) => v === 0)).length;
  if (zero > 0)
    flags.push({
      code: 'zero_gradient',
      message: `${zero} of ${xs.length} images have a zero loss gradient at the clean image`,
    });

  const few =
    use.dlr && classes < 3
      ? `the DLR loss needs at least 3 classes; the model has ${classes}`
      : use.dlr && use.targets > 0 && classes < 4
        ? `the targeted DLR loss needs at least 4 classes; the model has ${classes}`
        : use.targets + 1 > classes
          ? `${use.targets} target classes need ${use.targets + 1} classes; the model has ${classes}`
          : null;
  if (few) flags.push({ code: 'too_few_classes', message: few });

  const m = Math.min(xs.length, RANDOM_IMAGES);
  const correct = (zs: Float32Array[]) => zs.filter((z, i) => z.indexOf(Math.max(...z)) === labels[i]).length;
  const runs: Float32Array[][] = [out.slice(0, m)];
  for (let r = 1; r < RANDOM_RUNS && m > 0; r++) {
    const again = await oracle.gradient(xs.slice(0, m), specs.slice(0, m));
    evaluations += again.evaluations;
    runs.push(again.items.map((g) => g.logits));
  }
  let maxDiff = 0;
  for (let a = 0; a < runs.length; a++)
    for (let b = a + 1; b < runs.length; b++)
      for (let i = 0; i < m; i++) {
        const u = l2Normalised(runs[a][i]);
        const v = l2Normalised(runs[b][i]);
        let d = 0;
        for (let j = 0; j < u.length; j++) d += (u[j] - v[j]) ** 2;
        maxDiff = Math.max(maxDiff, Math.sqrt(d));
      }
  const counts = runs.map(correct);
  const randomOutput = maxDiff > 1e-4 || counts.some((c) => c !== counts[0]);
  if (randomOutput)
    flags.push({
      code: 'random_output',
      message: `${RANDOM_RUNS} runs on the same ${m} images gave different outputs (largest distance of normalised outputs ${maxDiff.toPrecision(3)}; correct per run ${counts.join(', ')})`,
    });
  return { flags, randomOutput, classes, gradientEvaluations: evaluations };
}

/**
 * check_square_sr: the flag when Square, run after the gradient stages, lowered robust accuracy
 * by more than `alpha` (a share of the images).
 * @param robustBefore images robust after the last gradient stage; @param robustAfter after Square
 */
export function squareCheck(
  robustBefore: number,
  robustAfter: number,
  n: number,
  alpha = 0.002,
): Flag | null {
  if (n === 0 || (robustBefore - robustAfter) / n <= alpha) return null;
  return {
    code: 'square_beats_whitebox',
    message: `Square broke ${robustBefore - robustAfter} of the ${robustBefore} images the gradient attacks left robust (robust accuracy −${((100 * (robustBefore - robustAfter)) / n).toFixed(1)} points)`,
  };
}
