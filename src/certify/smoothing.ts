/**
 * Randomized smoothing: Cohen, Rosenfeld & Kolter, "Certified adversarial robustness via randomized
 * smoothing", ICML 2019, Algorithm 1 (CERTIFY) and Algorithm 2 (PREDICT); written after the
 * reference code locuslab/smoothing, code/core.py (Smooth.certify, Smooth.predict).
 *
 * The smoothed classifier g(x) = argmax_c P(f(x + ε) = c), ε ~ N(0, σ²I), is the majority vote of
 * the base classifier f over Gaussian draws. Here f is exactly what the product's noise route
 * (`/<arch>/4/…`, or an upload wrapped in noise) computes for one draw: x + N(0, σ²), clipped to
 * [0, 1], then the model. The certificate is for g, the vote, never for a single draw: with
 * probability at least 1 − α over the sampling, g's answer at x is the same for every x' with
 * ‖x' − x‖₂ < R = σ·Φ⁻¹(p_A), p_A the one-sided (1 − α) Clopper–Pearson lower bound of the top class's
 * probability. (Clipping is part of f, so the theorem holds for it as for any base classifier.)
 *
 * Pure and seeded: the draws come from a sampler (the engine or an API), asked for `count` draws
 * whose seeds derive from one seed, so a run replays bit for bit.
 */
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import { z } from 'zod';
import { clopperPearsonLower, standardNormalQuantile } from '../core/intervals';
import { deriveSeed } from '../core/prng';

export const CERTIFY_PARAMS = z.object({
  sigma: z
    .number()
    .gt(0)
    .max(1)
    .describe('σ of the Gaussian noise, in [0, 1] pixel units (the _4 defense: 0.1)'),
  n0: z.int().min(1).max(1_000_000).optional().describe('draws that select the top class (100)'),
  n: z.int().min(1).max(1_000_000).optional().describe('draws that estimate its probability (10,000)'),
  alpha: z.number().gt(0).lt(0.5).optional().describe('failure probability of the certificate (0.001)'),
});
export type CertifyParams = z.infer<typeof CERTIFY_PARAMS>;

export function resolveCertifyParams(o: Partial<CertifyParams>): Required<CertifyParams> {
  const r = CERTIFY_PARAMS.safeParse(o);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new RangeError(`certify ${issue.path.join('.')}: ${issue.message}`);
  }
  return { sigma: r.data.sigma, n0: r.data.n0 ?? 100, n: r.data.n ?? 10_000, alpha: r.data.alpha ?? 0.001 };
}

/**
 * The base classifier's classes for `count` draws, the i-th draw seeded with `seeds[i]`
 * (one noise draw each). Returns one class index per draw.
 */
export type BaseSampler = (seeds: number[]) => Promise<number[]>;

/** Class counts over `count` draws, in batches of `batch`, seeds deriveSeed(seed, i). */
export async function sampleCounts(
  sample: BaseSampler,
  count: number,
  seed: number,
  classes = 10,
  batch = 1000,
  signal?: AbortSignal,
): Promise<number[]> {
  const counts = new Array<number>(classes).fill(0);
  for (let done = 0; done < count; done += batch) {
    if (signal?.aborted) throw new Error('certification stopped');
    const k = Math.min(batch, count - done);
    const preds = await sample(Array.from({ length: k }, (_, i) => deriveSeed(seed, done + i)));
    for (const c of preds) {
      if (!Number.isInteger(c) || c < 0 || c >= classes)
        throw new RangeError(`the base classifier answered class ${c}`);
      counts[c]++;
    }
  }
  return counts;
}

const argmaxCount = (counts: number[]) => counts.reduce((b, v, i) => (v > counts[b] ? i : b), 0);

export interface Certificate {
  /** the smoothed classifier's class, or null when it abstains (p_A ≤ ½) */
  prediction: number | null;
  /** certified L2 radius in [0, 1] pixel units (0 when abstaining) */
  radius: number;
  /** the one-sided (1 − α) lower confidence bound of the top class's probability */
  pALower: number;
  /** the top class chosen on the n0 selection draws */
  selected: number;
  /** votes of the selected class among the n estimation draws */
  votes: number;
  /** base-classifier queries spent: n0 + n */
  queries: number;
}

/**
 * CERTIFY (Cohen et al., Algorithm 1): select the top class on n0 draws, estimate its probability on
 * n fresh draws, return it with radius σ·Φ⁻¹(p_A) when p_A > ½, else abstain.
 * @param seed selection draws use deriveSeed(seed, 0), estimation draws deriveSeed(seed, 1)
 */
export async function certify(
  sample: BaseSampler,
  params: Partial<CertifyParams> & { sigma: number },
  seed: number,
  opts: {
    classes?: number;
    batch?: number;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<Certificate> {
  const p = resolveCertifyParams(params);
  const total = p.n0 + p.n;
  let done = 0;
  const counted: BaseSampler = async (seeds) => {
    const out = await sample(seeds);
    done += seeds.length;
    opts.onProgress?.(done, total);
    return out;
  };
  const selection = await sampleCounts(
    counted,
    p.n0,
    deriveSeed(seed, 0),
    opts.classes,
    opts.batch,
    opts.signal,
  );
  const selected = argmaxCount(selection);
  const estimation = await sampleCounts(
    counted,
    p.n,
    deriveSeed(seed, 1),
    opts.classes,
    opts.batch,
    opts.signal,
  );
  const votes = estimation[selected];
  const pALower = clopperPearsonLower(votes, p.n, p.alpha);
  const certified = pALower > 0.5;
  return {
    prediction: certified ? selected : null,
    radius: certified ? p.sigma * standardNormalQuantile(pALower) : 0,
    pALower,
    selected,
    votes,
    queries: total,
  };
}

/**
 * The two-sided exact binomial test of k successes in N trials against p = ½ (as scipy's
 * binom_test, which core.py calls): 2·P(X ≥ max(k, N − k)), at most 1.
 */
export function binomialTestHalf(k: number, trials: number): number {
  if (trials === 0) return 1;
  const hi = Math.max(k, trials - k);
  // P(X ≥ hi) = P(X ≤ N − hi) by symmetry, which keeps the tail exact when it is tiny
  return Math.min(1, 2 * binomialCdf(trials - hi, trials, 0.5));
}

/**
 * PREDICT (Cohen et al., Algorithm 2): the top class over n draws when a binomial test says it beats
 * the runner-up at level α, else abstain (null). Its answer is wrong with probability at most α.
 */
export async function predictSmoothed(
  sample: BaseSampler,
  params: { n: number; alpha: number },
  seed: number,
  opts: { classes?: number; batch?: number } = {},
): Promise<{ prediction: number | null; counts: number[]; pValue: number }> {
  const counts = await sampleCounts(sample, params.n, seed, opts.classes, opts.batch);
  const order = counts.map((_, i) => i).sort((a, b) => counts[b] - counts[a] || a - b);
  const [a, b] = order;
  const pValue = binomialTestHalf(counts[a], counts[a] + counts[b]);
  return { prediction: pValue <= params.alpha ? a : null, counts, pValue };
}

/**
 * Certified accuracy at each radius (Cohen et al., §4): the share of images whose certified class
 * is the true one with a radius of at least r.
 */
export function certifiedAccuracy(
  results: readonly { label: number; prediction: number | null; radius: number }[],
  radii: readonly number[],
): number[] {
  const n = results.length;
  return radii.map((r) =>
    n === 0 ? 0 : results.filter((x) => x.prediction === x.label && x.radius >= r).length / n,
  );
}
