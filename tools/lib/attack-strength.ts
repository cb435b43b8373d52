/**
 * Attack strength on the real models through the native path: every attack and norm of the library
 * with its default parameters, run on fixed Fashion-MNIST test images against onnxruntime-node
 * through the API router (8-bit requests, exactly the contract), as `npm run bench:attacks` and the
 * strength guard test in `npm test` use it.
 *
 * Metrics per configuration: success rate over the correctly classified images, median L2 / L∞ of
 * the successful adversarial images (in [0, 1] pixel units) and median queries to success. For
 * minimum-distance attacks (HopSkipJump, Boundary, SimBA) the distance is what measures strength,
 * for fixed-ε attacks (Square, random noise) the success rate and the queries.
 */

import type { NodeEngine } from '../../server/node-engine';
import { type AttackName, createRouterOracle, runAttack } from '../../src/attacks/index';
import { createRouter } from '../../src/core/router';
import type { TestSet } from '../../src/data/idx';
import { startCandidates } from '../../src/data/start-candidates';
import { sampleIndices } from '../experiment/config';
import { median } from '../experiment/summary';

export interface StrengthConfig {
  /** stable name, e.g. `hopskipjump-l2` */
  name: string;
  attack: AttackName;
  /** the attack's options beyond its defaults: norm and budget only */
  options: { norm: 'l2' | 'linf'; maxQueries: number };
  /** which number measures strength: a distance (lower is stronger) or success (higher is stronger) */
  measure: 'l2' | 'linf' | 'success';
  /**
   * The model the guard test runs it on: `0_1` for Square, whose strength shows on a robust model
   * (on `0` its first query already succeeds), `0` for the rest.
   */
  guardModel: string;
  /** attack options beyond the defaults (the guard's own self-test uses this to weaken one) */
  extra?: Record<string, unknown>;
}

/** Every attack and norm the library offers, with its defaults (budgets as the committed experiments use). */
export const STRENGTH_CONFIGS: readonly StrengthConfig[] = (
  [
    // name, attack, norm, query budget, measure, guard model
    ['hopskipjump-l2', 'hopskipjump', 'l2', 2000, 'l2', '0'],
    ['hopskipjump-linf', 'hopskipjump', 'linf', 2000, 'linf', '0'],
    ['boundary-l2', 'boundary', 'l2', 2000, 'l2', '0'],
    ['simba-l2', 'simba', 'l2', 1000, 'l2', '0'],
    ['square-linf', 'square', 'linf', 1000, 'success', '0_1'],
    ['square-l2', 'square', 'l2', 1000, 'success', '0_1'],
    ['random-linf', 'random', 'linf', 1000, 'success', '0'],
    ['random-l2', 'random', 'l2', 1000, 'success', '0'],
  ] as const
).map(([name, attack, norm, maxQueries, measure, guardModel]) => ({
  name,
  attack,
  options: { norm, maxQueries },
  measure,
  guardModel,
}));

/** The first `n` of the defense-comparison sample (100 test images drawn with seed 1). */
export function strengthIndices(n = 20): number[] {
  return sampleIndices(100, 1).slice(0, n);
}

export interface ImageOutcome {
  index: number;
  label: number;
  /** the model classified the clean image correctly (only these are attacked) */
  correct: boolean;
  success: boolean;
  queries: number;
  l2: number;
  linf: number;
  /** the attack's final loss where it has one (Square: the margin of the true class; lower is stronger) */
  loss: number | null;
}

export interface StrengthSummary {
  attacked: number;
  successes: number;
  successRate: number;
  medianL2: number | null;
  medianLinf: number | null;
  medianQueries: number | null;
  /** mean final loss over the attacked images (attacks with a loss, e.g. Square's margin), else null */
  meanLoss: number | null;
}

const r4 = (v: number) => Math.round(v * 1e4) / 1e4;

export function summarizeOutcomes(outcomes: readonly ImageOutcome[]): StrengthSummary {
  const attacked = outcomes.filter((o) => o.correct);
  const ok = attacked.filter((o) => o.success);
  const m = (f: (o: ImageOutcome) => number) => {
    const v = median(ok.map(f));
    return v === null ? null : r4(v);
  };
  return {
    attacked: attacked.length,
    successes: ok.length,
    successRate: attacked.length ? r4(ok.length / attacked.length) : 0,
    medianL2: m((o) => o.l2),
    medianLinf: m((o) => o.linf),
    medianQueries: m((o) => o.queries),
    meanLoss: (() => {
      const v = attacked.map((o) => o.loss).filter((l): l is number => typeof l === 'number');
      return v.length ? r4(v.reduce((a, b) => a + b, 0) / v.length) : null;
    })(),
  };
}

/**
 * Runs one configuration on `indices` of the test set against `model` (a deterministic model ID:
 * the strength of an attack is measured without a randomized defense's noise).
 * @param seed the attack seed of the first image; image k uses seed + k
 */
export async function runStrength(
  engine: NodeEngine,
  testSet: TestSet,
  model: string,
  config: StrengthConfig,
  indices: readonly number[],
  seed: number,
): Promise<ImageOutcome[]> {
  const router = createRouter(engine);
  const oracle = createRouterOracle(
    async (req) => {
      const res = await router.handle(req);
      return { status: res.status, body: res.body };
    },
    { modelId: model, batch: true },
  );
  const out: ImageOutcome[] = [];
  for (const [k, index] of indices.entries()) {
    const x = Float32Array.from(testSet.images.subarray(index * 784, index * 784 + 784), (v) => v / 255);
    const label = testSet.labels[index];
    const [pred] = await oracle.decide([x]);
    if (pred !== label) {
      out.push({ index, label, correct: false, success: false, queries: 0, l2: 0, linf: 0, loss: null });
      continue;
    }
    const needsStart = config.attack === 'hopskipjump' || config.attack === 'boundary';
    const r = await runAttack(
      config.attack,
      {
        ...config.options,
        ...config.extra,
        x,
        label,
        seed: seed + k,
        quantize: true,
        ...(needsStart && { initCandidates: startCandidates(testSet, index) }),
      },
      oracle,
    );
    out.push({
      index,
      label,
      correct: true,
      success: r.success,
      queries: r.queries,
      l2: r4(r.l2),
      linf: r4(r.linf),
      loss: typeof r.trajectory.at(-1)?.loss === 'number' ? r4(r.trajectory.at(-1)!.loss!) : null,
    });
  }
  return out;
}

export interface StrengthNoise {
  /** relative tolerance on the median distance */
  relative: number;
  /** images the success count may lose */
  images: number;
  /** absolute tolerance on the mean final loss */
  loss: number;
}

/**
 * Whether `now` is weaker than `ref` by more than `noise` (the spread between attack seeds).
 * Returns the reason, or null when not weaker.
 */
export function weakerThan(
  config: StrengthConfig,
  now: StrengthSummary,
  ref: StrengthSummary,
  noise: StrengthNoise,
): string | null {
  if (now.successes < ref.successes - noise.images) {
    return `${now.successes} of ${now.attacked} images flipped, reference ${ref.successes} (noise ±${noise.images})`;
  }
  if (now.meanLoss !== null && ref.meanLoss !== null && now.meanLoss > ref.meanLoss + noise.loss) {
    return `mean final loss ${now.meanLoss} > reference ${ref.meanLoss} + ${noise.loss}`;
  }
  if (config.measure === 'l2' || config.measure === 'linf') {
    const key = config.measure === 'l2' ? 'medianL2' : 'medianLinf';
    const a = now[key];
    const b = ref[key];
    if (a !== null && b !== null && a > b * (1 + noise.relative)) {
      return `median ${config.measure} ${a} > reference ${b} × (1 + ${noise.relative})`;
    }
  }
  return null;
}

/**
 * The guard's reference for one configuration: the summary of the first `images` outcomes under
 * `guardSeed`, and as noise the spread of the same subset's numbers between the measured seeds
 * (at least 2 % relative on distances and 0.02 on the mean loss).
 */
export function guardEntry(
  config: StrengthConfig,
  seeds: readonly { seed: number; outcomes: readonly ImageOutcome[] }[],
  images: number,
  guardSeed: number,
): { model: string; summary: StrengthSummary; noise: StrengthNoise } {
  const subsets = seeds.map((s) => summarizeOutcomes(s.outcomes.slice(0, images)));
  const spread = (f: (s: StrengthSummary) => number | null) => {
    const v = subsets.map(f).filter((x): x is number => x !== null);
    return v.length > 1 ? Math.max(...v) - Math.min(...v) : 0;
  };
  const key = config.measure === 'l2' ? 'medianL2' : config.measure === 'linf' ? 'medianLinf' : null;
  const base = key ? subsets.map((s) => s[key]).filter((x): x is number => x !== null) : [];
  const relative = key && base.length > 1 ? spread((s) => s[key]) / Math.min(...base) : 0;
  const at = seeds.findIndex((s) => s.seed === guardSeed);
  if (at < 0) throw new RangeError(`seed ${guardSeed} was not measured`);
  return {
    model: config.guardModel,
    summary: subsets[at],
    noise: {
      relative: r4(Math.max(relative, 0.02)),
      images: spread((s) => s.successes),
      loss: r4(
        Math.max(
          spread((s) => s.meanLoss),
          0.02,
        ),
      ),
    },
  };
}
