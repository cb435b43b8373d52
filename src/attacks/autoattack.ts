/**
 * AutoAttack: Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
 * diverse parameter-free attacks", ICML 2020; the composition follows the reference code
 * fra31/auto-attack, autoattack/autoattack.py (run_standard_evaluation, set_version).
 *
 * - `standard`: APGD-CE (100 iterations, 1 restart), APGD-T (9 targets), FAB-T (9 targets; L∞
 *   only here, so an L2 run skips it) and Square (5,000 queries, p_init 0.8, margin loss), each on
 *   the images that are still robust.
 * - `rand`, for randomized models: APGD-CE and APGD-DLR, their gradients averaged over EOT draws
 *   of the defense (`eot`, default 20 as the reference; the oracle does the averaging).
 * Without a `version`, a randomized model (known from its defense, or whose outputs differ between
 * runs in the checks) gets `rand` and the others `standard`; the run says which and why.
 *
 * Before the stages, AutoAttack's checks (autoattack-checks.ts) raise flags; Square's success over
 * the gradient stages raises one after. An image counts as broken only when a stage's reported
 * image, rounded to the 8-bit grid inside the ball (with `quantize`), is misclassified by a plain
 * forward query; clean images the model already misclassifies are not robust and not attacked.
 */
import { z } from 'zod';
import { deriveSeed } from '../core/prng';
import { apgd, apgdTargeted } from './apgd';
import { type Flag, preChecks, squareCheck } from './autoattack-checks';
import { fabTargeted } from './fab';
import { coalescedScoreOracles, type ScoreOracle } from './oracle';
import { EPS, NORM, type ParamSchema, POS_INT, resolveThreatModel } from './params';
import { squareAttack } from './square';
import type { AttackOptions, AttackResult, Norm, TrajectoryPoint } from './types';
import { l2Distance, linfDistance } from './vec';
import { oneImageResult, type WhiteBoxOracle, type WhiteBoxResult } from './whitebox';

export const AUTOATTACK_VERSIONS = ['standard', 'rand'] as const;
export type AutoAttackVersion = (typeof AUTOATTACK_VERSIONS)[number];
export const AUTOATTACK_STAGES = ['apgd-ce', 'apgd-t', 'fab-t', 'square', 'apgd-dlr'] as const;
export type AutoAttackStage = (typeof AUTOATTACK_STAGES)[number];

export const AUTOATTACK_PARAMS = z.object({
  norm: NORM,
  eps: EPS,
  version: z
    .enum(AUTOATTACK_VERSIONS)
    .optional()
    .describe(
      'standard (APGD-CE, APGD-T, FAB-T, Square) or rand (APGD-CE, APGD-DLR with EOT); default: rand for a randomized model',
    ),
  squareQueries: POS_INT.max(100_000).optional().describe("Square's query budget per image (5,000)"),
  eot: POS_INT.max(1000)
    .optional()
    .describe('defense draws averaged per gradient on a randomized model (the rand version: 20)'),
});
export type AutoAttackParams = z.infer<typeof AUTOATTACK_PARAMS>;

/** The stages of a version at a norm (FAB-T is L∞ only here). */
export function autoAttackStages(version: AutoAttackVersion, norm: Norm): AutoAttackStage[] {
  if (version === 'rand') return ['apgd-ce', 'apgd-dlr'];
  return norm === 'linf' ? ['apgd-ce', 'apgd-t', 'fab-t', 'square'] : ['apgd-ce', 'apgd-t', 'square'];
}

export function resolveAutoAttackParams(o: Partial<AutoAttackParams>): Omit<
  Required<AutoAttackParams>,
  'version'
> & {
  version?: AutoAttackVersion;
} {
  const { norm, eps } = resolveThreatModel('AutoAttack', AUTOATTACK_PARAMS as unknown as ParamSchema, o);
  return {
    norm,
    eps,
    squareQueries: o.squareQueries ?? 5000,
    eot: o.eot ?? 20,
    ...(o.version ? { version: o.version } : {}),
  };
}

export interface AutoAttackOracles {
  /** gradients (with EOT for a randomized model) and classifications */
  whiteBox: WhiteBoxOracle;
  /**
   * Square's oracle (batch-capable): the Square attacks of all images still robust run side by
   * side, their queries coalesced into shared batches (coalescedScoreOracles)
   */
  score: ScoreOracle;
}

export interface AutoAttackOptions extends Partial<AutoAttackParams> {
  /** clean images, 784 values in [0, 1] each (on the 8-bit grid with `quantize`) */
  xs: Float32Array[];
  labels: number[];
  /** per image: the seed of its random starts and Square's draws (its result is its own) */
  seeds: number[];
  quantize?: boolean;
  /** when a stage starts and ends: images still robust */
  onStage?: (p: { stage: AutoAttackStage; phase: 'start' | 'end'; robust: number; n: number }) => void;
  signal?: AbortSignal;
}

export interface AutoAttackImage extends WhiteBoxResult {
  /** the stage whose image broke it; 'clean' when the clean image is already misclassified */
  brokenBy: AutoAttackStage | 'clean' | null;
}

export interface AutoAttackRun {
  results: AutoAttackImage[];
  version: AutoAttackVersion;
  /** why this version: asked for, the model is randomized, or its outputs were random */
  versionReason: 'given' | 'randomized model' | 'random output' | 'deterministic model';
  stages: { stage: AutoAttackStage; robust: number }[];
  /** correctly classified clean images */
  clean: number;
  flags: Flag[];
  gradientEvaluations: number;
  forwardQueries: number;
  randomized: boolean;
  params: Record<string, unknown>;
}

/** One stage on the images still robust (in the order given), each with its own seed. */
async function runStage(
  stage: AutoAttackStage,
  a: {
    xs: Float32Array[];
    labels: number[];
    seeds: number[];
    p: ReturnType<typeof resolveAutoAttackParams>;
    quantize: boolean;
    signal?: AbortSignal;
    oracles: AutoAttackOracles;
  },
): Promise<WhiteBoxResult[]> {
  const { xs, labels, seeds, p, quantize, signal } = a;
  const oracle = a.oracles.whiteBox;
  const sub = { xs, labels, norm: p.norm, eps: p.eps, quantize, signal };
  if (stage === 'apgd-ce' || stage === 'apgd-dlr')
    return (await apgd({ ...sub, seeds, loss: stage === 'apgd-ce' ? 'ce' : 'dlr' }, oracle)).results;
  if (stage === 'apgd-t') return (await apgdTargeted({ ...sub, seeds }, oracle)).results;
  if (stage === 'fab-t') return (await fabTargeted({ ...sub, norm: 'linf' }, oracle)).results;
  // Square: every image's attack side by side, their queries in shared batches
  const own = coalescedScoreOracles(a.oracles.score);
  return Promise.all(
    xs.map(async (x, k) => {
      const r = await squareAttack(
        {
          x,
          label: labels[k],
          seed: seeds[k],
          maxQueries: p.squareQueries,
          norm: p.norm,
          eps: p.eps,
          pInit: 0.8,
          loss: 'margin',
          quantize,
          signal,
        },
        own(),
      );
      return {
        adversarial: r.adversarial,
        success: r.success,
        originalLabel: labels[k],
        adversarialLabel: r.adversarialLabel,
        l2: r.l2,
        linf: r.linf,
        gradientEvaluations: 0,
        forwardQueries: r.queries,
      };
    }),
  );
}

/**
 * AutoAttack on a batch of images. Each stage runs only on the images still robust; per image the
 * result says whether and by which stage it was broken, with the stage's image and the queries and
 * gradient evaluations it took over all the stages it went through (the checks' are in the totals).
 */
export async function autoAttack(
  options: AutoAttackOptions,
  oracles: AutoAttackOracles,
): Promise<AutoAttackRun> {
  const p = resolveAutoAttackParams(options);
  const { xs, labels, seeds } = options;
  const n = xs.length;
  if (labels.length !== n || seeds.length !== n)
    throw new RangeError(
      `${n} images need as many labels and seeds, got ${labels.length} and ${seeds.length}`,
    );
  const oracle = oracles.whiteBox;
  const quantize = options.quantize === true;

  const provisional = p.version ?? (oracle.randomized ? 'rand' : 'standard');
  const checks = await preChecks(oracle, xs, labels, {
    dlr: true,
    targets: provisional === 'standard' ? 9 : 0,
  });
  let gradients = checks.gradientEvaluations;
  let forward = 0;
  const version: AutoAttackVersion =
    p.version ?? (oracle.randomized || checks.randomOutput ? 'rand' : 'standard');
  const versionReason: AutoAttackRun['versionReason'] = p.version
    ? 'given'
    : oracle.randomized
      ? 'randomized model'
      : checks.randomOutput
        ? 'random output'
        : 'deterministic model';
  const stages = autoAttackStages(version, p.norm);

  const results: AutoAttackImage[] = xs.map((x, i) => ({
    adversarial: x,
    success: false,
    originalLabel: labels[i],
    adversarialLabel: labels[i],
    l2: 0,
    linf: 0,
    gradientEvaluations: 0,
    forwardQueries: 0,
    brokenBy: null,
  }));
  const preds = await oracle.decide(xs);
  forward += n;
  preds.forEach((c, i) => {
    results[i].forwardQueries++;
    results[i].adversarialLabel = c;
    if (c !== labels[i]) results[i].brokenBy = 'clean';
  });
  const clean = results.filter((r) => r.brokenBy === null).length;
  const robustNow = () => results.filter((r) => r.brokenBy === null).length;
  const stageLog: AutoAttackRun['stages'] = [];

  for (const [s, stage] of stages.entries()) {
    const active = [...Array(n).keys()].filter((i) => results[i].brokenBy === null);
    if (options.signal?.aborted) break;
    options.onStage?.({ stage, phase: 'start', robust: active.length, n });
    const got =
      active.length > 0
        ? await runStage(stage, {
            xs: active.map((i) => xs[i]),
            labels: active.map((i) => labels[i]),
            seeds: active.map((i) => deriveSeed(seeds[i], s + 1)),
            p,
            quantize,
            signal: options.signal,
            oracles,
          })
        : [];
    active.forEach((i, k) => {
      const r = got[k];
      const own = results[i];
      own.gradientEvaluations += r.gradientEvaluations;
      own.forwardQueries += r.forwardQueries;
      gradients += r.gradientEvaluations;
      forward += r.forwardQueries;
      if (r.success) {
        own.brokenBy = stage;
        own.success = true;
        own.adversarial = r.adversarial;
        own.adversarialLabel = r.adversarialLabel;
      }
    });
    stageLog.push({ stage, robust: robustNow() });
    options.onStage?.({ stage, phase: 'end', robust: robustNow(), n });
  }

  for (const [i, r] of results.entries()) {
    r.l2 = l2Distance(r.adversarial, xs[i]);
    r.linf = linfDistance(r.adversarial, xs[i]);
  }
  const flags = [...checks.flags];
  const sq = stageLog.findIndex((s) => s.stage === 'square');
  if (sq > 0) {
    const f = squareCheck(stageLog[sq - 1].robust, stageLog[sq].robust, n);
    if (f) flags.push(f);
  }
  return {
    results,
    version,
    versionReason,
    stages: stageLog,
    clean,
    flags,
    gradientEvaluations: gradients,
    forwardQueries: forward,
    randomized: oracle.randomized,
    params: {
      attack: 'autoattack',
      version,
      norm: p.norm,
      eps: p.eps,
      squareQueries: p.squareQueries,
      // the oracle averages the draws; a deterministic model has one
      eot: oracle.randomized ? p.eot : 1,
      stages,
    },
  };
}

/** One stage's outcome for one image: it broke it, it ran and failed, or it did not run. */
export type StageVerdict = 'broken' | 'robust' | 'not run';

/**
 * One image through AutoAttack, as the attack lab runs attacks (AttackOptions in, AttackResult
 * out). `params` carries the version and why, each stage's verdict and the checks' flags;
 * `queries` counts forward queries (Square's included) and `gradientEvaluations` the gradients.
 * The oracle answers gradients (white-box) and scores (Square).
 */
export async function autoAttackOne(
  o: AttackOptions & Partial<AutoAttackParams>,
  oracle: WhiteBoxOracle & ScoreOracle,
): Promise<AttackResult> {
  const t0 = globalThis.performance?.now() ?? Date.now();
  const trajectory: TrajectoryPoint[] = [];
  let spent = 0;
  const run = await autoAttack(
    {
      ...o,
      xs: [o.x],
      labels: [o.label],
      seeds: [o.seed],
      onStage: (p) => {
        if (p.phase !== 'end') return;
        const point = { queries: ++spent };
        trajectory.push(point);
        o.onProgress?.(point);
      },
    },
    { whiteBox: oracle, score: oracle },
  );
  const r = run.results[0];
  const verdicts = run.stages.map((s, k) => ({
    stage: s.stage,
    verdict: (r.brokenBy === s.stage
      ? 'broken'
      : run.stages.slice(0, k).some((p) => p.stage === r.brokenBy) || r.brokenBy === 'clean'
        ? 'not run'
        : 'robust') as StageVerdict,
  }));
  return oneImageResult(r, trajectory, (globalThis.performance?.now() ?? Date.now()) - t0, {
    ...run.params,
    versionReason: run.versionReason,
    brokenBy: r.brokenBy,
    stageVerdicts: verdicts,
    flags: run.flags,
    whiteBox: true,
    randomized: run.randomized,
  });
}
