/** Softmax and argmax over N×C logits (row-major), as the API's /score and /decision need them. */

import { NUM_CLASSES } from './labels';

/**
 * Softmax of one row, numerically stable (the row maximum is subtracted before exp, and the sum is
 * taken in float64). +Infinity entries share all the mass; NaN anywhere gives a NaN row, which the
 * caller can reject instead of reporting made-up probabilities.
 */
export function softmaxRow(row: ArrayLike<number>): Float32Array {
  const n = row.length;
  const out = new Float32Array(n);
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = row[i];
    if (Number.isNaN(v)) return out.fill(Number.NaN);
    if (v > max) max = v;
  }
  if (max === Number.POSITIVE_INFINITY || max === Number.NEGATIVE_INFINITY) {
    // all -Infinity: uniform; some +Infinity: uniform over those
    let count = 0;
    for (let i = 0; i < n; i++) if (row[i] === max) count++;
    for (let i = 0; i < n; i++) out[i] = row[i] === max ? 1 / count : 0;
    return out;
  }
  const e = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    e[i] = Math.exp(row[i] - max);
    sum += e[i];
  }
  for (let i = 0; i < n; i++) out[i] = e[i] / sum;
  return out;
}

/** Softmax of each row of an N×C matrix; returns one Float32Array per row. */
export function softmaxRows(logits: ArrayLike<number>, n: number, classes = NUM_CLASSES): Float32Array[] {
  assertShape(logits, n, classes);
  const rows: Float32Array[] = [];
  for (let r = 0; r < n; r++) rows.push(softmaxRow(sliceRow(logits, r, classes)));
  return rows;
}

/** Index of the largest value; the first one on ties (as torch.max). NaN is never chosen; -1 if empty. */
export function argmax(values: ArrayLike<number>): number {
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (best < 0 ? !Number.isNaN(v) : v > bestValue) {
      best = i;
      bestValue = v;
    }
  }
  return best;
}

/** argmax of each row of an N×C matrix. */
export function argmaxRows(logits: ArrayLike<number>, n: number, classes = NUM_CLASSES): number[] {
  assertShape(logits, n, classes);
  const preds: number[] = [];
  for (let r = 0; r < n; r++) preds.push(argmax(sliceRow(logits, r, classes)));
  return preds;
}

/** Splits an N×C matrix into N rows (copies, so callers may keep them). */
export function splitRows(values: ArrayLike<number>, n: number, classes = NUM_CLASSES): Float32Array[] {
  assertShape(values, n, classes);
  const rows: Float32Array[] = [];
  for (let r = 0; r < n; r++) rows.push(Float32Array.from(sliceRow(values, r, classes)));
  return rows;
}

function sliceRow(values: ArrayLike<number>, r: number, classes: number): ArrayLike<number> {
  if (values instanceof Float32Array || values instanceof Float64Array) {
    return values.subarray(r * classes, (r + 1) * classes);
  }
  return Array.prototype.slice.call(values, r * classes, (r + 1) * classes) as number[];
}

function assertShape(values: ArrayLike<number>, n: number, classes: number): void {
  if (values.length !== n * classes) {
    throw new RangeError(`expected ${n}×${classes} = ${n * classes} values, got ${values.length}`);
  }
}

/**
 * The Wilson score interval of a binomial proportion: `successes` of `n` trials, at z = 1.96 (95 %).
 * Returns [low, high] in [0, 1]; [0, 1] for n = 0. Used for success rates over a randomized
 * defense's fresh draws (E. B. Wilson, JASA 1927; statsmodels' proportion_confint(method="wilson")).
 */
export function wilsonInterval(successes: number, n: number, z = 1.96): [number, number] {
  if (n <= 0) return [0, 1];
  const p = successes / n;
  const z2 = z * z;
  const center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return [Math.max(0, center - half), Math.min(1, center + half)];
}
