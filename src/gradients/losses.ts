/**
 * Attack losses on one image's logits, with their gradient with respect to the logits: the
 * cotangent that the gradient graph turns into ∂loss/∂x. Every loss is one an attack maximises.
 *
 * - `ce`: cross-entropy −log softmax(z)_y.
 * - `margin`: max_{j≠y} z_j − z_y (the Carlini–Wagner margin, Carlini & Wagner, S&P 2017), > 0
 *   exactly when the image is misclassified.
 * - `dlr`: −(z_y − max_{j≠y} z_j) / (z_π1 − z_π3), the Difference of Logits Ratio, and
 * - `dlr_targeted`: −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2), with π the logits sorted in
 *   decreasing order: Croce & Hein, "Reliable evaluation of adversarial robustness with an
 *   ensemble of diverse parameter-free attacks", ICML 2020, eq. (5) and §3.3; reference code
 *   fra31/auto-attack autoattack/autopgd_base.py (dlr_loss, dlr_loss_targeted), with its 1e-12. * - `logit_diff`: z_t − z_y, the difference of logits whose zero set is the decision boundary
 *   between the label and the target; FAB linearises it (Croce & Hein, "Minimally distorted
 *   adversarial examples with a fast adaptive boundary attack", ICML 2020; fab_pt.py,
 *   get_diff_logits_grads_batch_targeted).
 */

export const LOSSES = ['ce', 'margin', 'dlr', 'dlr_targeted', 'logit_diff'] as const;
export type LossName = (typeof LOSSES)[number];

export interface LossSpec {
  loss: LossName;
  /** the true class, 0 … classes−1 */
  label: number;
  /** the target class of `dlr_targeted` and `logit_diff` (≠ label) */
  target?: number;
}

export interface LossValue {
  loss: number;
  /** ∂loss/∂logits, one value per class */
  gradient: Float32Array;
}

/** Class indices sorted by decreasing logit (ties: lower index first). */
function ranked(z: ArrayLike<number>): number[] {
  return Array.from({ length: z.length }, (_, i) => i).sort((a, b) => z[b] - z[a] || a - b);
}

/** The largest logit other than the label's (lowest index on ties). */
export function bestOther(z: ArrayLike<number>, label: number): number {
  let best = -1;
  for (let j = 0; j < z.length; j++) if (j !== label && (best < 0 || z[j] > z[best])) best = j;
  return best;
}

function targetOf(spec: LossSpec, k: number): number {
  const t = spec.target;
  if (t === undefined || !Number.isInteger(t) || t < 0 || t >= k)
    throw new RangeError(`target must be an integer in 0…${k - 1}, got ${t}`);
  if (t === spec.label) throw new RangeError(`target must differ from the label (${spec.label})`);
  return t;
}

/**
 * The loss and its gradient for one image.
 * @param z the image's logits (at least 2 classes; 4 for dlr_targeted, 3 for dlr)
 * @throws RangeError for a label or target outside the classes, or a target equal to the label
 */
export function lossAndGradient(z: ArrayLike<number>, spec: LossSpec): LossValue {
  const k = z.length;
  const { loss, label } = spec;
  if (!Number.isInteger(label) || label < 0 || label >= k)
    throw new RangeError(`label must be an integer in 0…${k - 1}, got ${label}`);
  const g = new Float64Array(k);
  let value: number;
  switch (loss) {
    case 'ce': {
      let m = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < k; j++) m = Math.max(m, z[j]);
      let s = 0;
      for (let j = 0; j < k; j++) s += Math.exp(z[j] - m);
      const lse = m + Math.log(s);
      value = lse - z[label];
      for (let j = 0; j < k; j++) g[j] = Math.exp(z[j] - lse);
      g[label] -= 1;
      break;
    }
    case 'margin': {
      const o = bestOther(z, label);
      value = z[o] - z[label];
      g[o] = 1;
      g[label] = -1;
      break;
    }
    case 'dlr': {
      if (k < 3) throw new RangeError('the DLR loss needs at least 3 classes');
      const r = ranked(z);
      const o = r[0] === label ? r[1] : r[0];
      const a = z[label] - z[o];
      const d = z[r[0]] - z[r[2]] + 1e-12;
      value = -a / d;
      g[label] -= 1 / d;
      g[o] += 1 / d;
      g[r[0]] += a / (d * d);
      g[r[2]] -= a / (d * d);
      break;
    }
    case 'dlr_targeted': {
      if (k < 4) throw new RangeError('the targeted DLR loss needs at least 4 classes');
      const t = targetOf(spec, k);
      const r = ranked(z);
      const a = z[label] - z[t];
      const d = z[r[0]] - 0.5 * (z[r[2]] + z[r[3]]) + 1e-12;
      value = -a / d;
      g[label] -= 1 / d;
      g[t] += 1 / d;
      g[r[0]] += a / (d * d);
      g[r[2]] -= (0.5 * a) / (d * d);
      g[r[3]] -= (0.5 * a) / (d * d);
      break;
    }
    case 'logit_diff': {
      const t = targetOf(spec, k);
      value = z[t] - z[label];
      g[t] = 1;
      g[label] = -1;
      break;
    }
    default:
      throw new RangeError(`unknown loss "${loss}"; expected one of ${LOSSES.join(', ')}`);
  }
  return { loss: value, gradient: Float32Array.from(g) };
}

/**
 * Losses and cotangents for a batch: `logits` holds n×classes values row-major, `specs` one spec
 * per image. Returns the n losses and the n×classes cotangent.
 */
export function batchLoss(
  logits: Float32Array,
  classes: number,
  specs: readonly LossSpec[],
): { losses: Float64Array; cotangent: Float32Array } {
  const n = specs.length;
  if (logits.length !== n * classes)
    throw new RangeError(`expected ${n}×${classes} logits, got ${logits.length}`);
  const losses = new Float64Array(n);
  const cotangent = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) {
    const v = lossAndGradient(logits.subarray(i * classes, (i + 1) * classes), specs[i]);
    losses[i] = v.loss;
    cotangent.set(v.gradient, i * classes);
  }
  return { losses, cotangent };
}
