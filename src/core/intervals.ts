/**
 * Confidence bounds for a share k/n of Bernoulli trials (robust accuracy over test images,
 * votes of a smoothed classifier): Clopper & Pearson, "The use of confidence or fiducial limits
 * illustrated in the case of the binomial", Biometrika 26 (1934). The exact bounds are quantiles of
 * Beta distributions, taken from @stdlib (stats-base-dists-beta-quantile), as
 * statsmodels.stats.proportion.proportion_confint(method="beta") computes them.
 */
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';

function checkCounts(k: number, n: number, alpha: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (!Number.isInteger(k) || k < 0 || k > n)
    throw new RangeError(`k must be an integer in 0…${n}, got ${k}`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must lie in (0, 1), got ${alpha}`);
}

/**
 * The one-sided lower bound p with P(p_true ≥ p) ≥ 1 − α: Beta(α; k, n − k + 1), 0 for k = 0.
 * @param k successes, 0…n; @param n trials ≥ 1; @param alpha in (0, 1)
 */
export function clopperPearsonLower(k: number, n: number, alpha: number): number {
  checkCounts(k, n, alpha);
  return k === 0 ? 0 : betaQuantile(alpha, k, n - k + 1);
}

/**
 * The two-sided interval with coverage ≥ 1 − α (each tail α/2): [Beta(α/2; k, n − k + 1),
 * Beta(1 − α/2; k + 1, n − k)], with 0 and 1 at the ends.
 */
export function clopperPearson(k: number, n: number, alpha = 0.05): [number, number] {
  checkCounts(k, n, alpha);
  const lo = k === 0 ? 0 : betaQuantile(alpha / 2, k, n - k + 1);
  const hi = k === n ? 1 : betaQuantile(1 - alpha / 2, k + 1, n - k);
  return [lo, hi];
}

/** Φ⁻¹(p), the standard normal quantile, for p in (0, 1) (±Infinity at 0 and 1). */
export function standardNormalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p must lie in [0, 1], got ${p}`);
  return normalQuantile(p, 0, 1);
}
