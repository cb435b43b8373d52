/**
 * One attack request as the attack lab and the experiment runner send it to the engine: the attack
 * run against a model behind the API contract (the page's own router, or an HTTP service with the
 * same contract), with EOT, a throttled progress stream, abort, and the fresh-draw verdict on a
 * randomized defense. The worker only supplies the router and the classifier; everything else is
 * here, DOM-free.
 */
import type { ApiRequest, ApiResponse } from '../core/api';
import type { ModelInfo } from '../core/models';
import { type AttackName, isAttackName, runAttack } from './index';
import { createHttpOracle, createRouterOracle, withEOT } from './oracle';
import type { AttackResult, TrajectoryPoint } from './types';

export interface AttackRequest {
  /** 'noise' is accepted as an alias of the random-noise baseline 'random'. */
  attack: AttackName | 'noise';
  /** The attack's own parameters (norm, eps, maxQueries, target, …); see src/attacks. */
  params: Record<string, unknown>;
  model: string;
  x: Float32Array;
  label: number;
  seed: number;
  /** Answer each query by k repeated queries (majority vote / mean scores); k queries are charged. */
  eot?: number;
  /** Fresh draws used to report a randomized defense's success rate on the final image (default 100). */
  eotDraws?: number;
  /**
   * Attack this HTTP service (same contract, CORS headers) instead of the page's own models, e.g.
   * `npm run serve` or the thesis' Flask service: every query is a POST from this worker.
   */
  endpoint?: string;
}

export interface AttackResponse extends AttackResult {
  /** For randomized defenses: share of `eotDraws` fresh draws that misclassify the adversarial image. */
  eotSuccessRate?: number;
  eotDraws?: number;
}

/** What the engine lends an attack request. */
export interface AttackHost {
  /** The served model `id` names (one of the fifteen, an uploaded one or a defended variant). */
  findModel(id: string): ModelInfo | undefined;
  /** One API request through the engine's router. */
  handle(req: ApiRequest): Promise<ApiResponse>;
  /** Decisions of `model` on `inputs` with the defense's draws seeded by `seed`. */
  classify(model: ModelInfo, inputs: Float32Array[], seed: number): Promise<number[]>;
}

/** Progress crosses a thread boundary: at most one point per PROGRESS_MS. */
const PROGRESS_MS = 50;

/**
 * Runs `req` with 8-bit (quantised) queries, so it attacks exactly what `fetch('/<id>/…')` answers.
 * @throws Error for an unknown model or attack; an attack's own RangeError for bad parameters
 */
export async function runAttackRequest(
  req: AttackRequest,
  host: AttackHost,
  signal: AbortSignal,
  onProgress?: (p: TrajectoryPoint) => void,
): Promise<AttackResponse> {
  const model = host.findModel(req.model);
  if (!model) throw new Error(`unknown model '${req.model}'`);
  const name = req.attack === 'noise' ? 'random' : req.attack;
  if (!isAttackName(name)) throw new Error(`unknown attack '${req.attack}'`);
  // Stop also aborts a request the endpoint is slow to answer
  const remote = (seed: number) =>
    createHttpOracle({
      baseUrl: req.endpoint as string,
      modelId: model.id,
      canonicalRoute: true,
      batch: true,
      seed,
      signal,
    });
  const base = req.endpoint
    ? remote(req.seed)
    : createRouterOracle(host.handle, { modelId: model.id, batch: true, seed: req.seed });
  const oracle = req.eot && req.eot > 1 ? withEOT(base, req.eot) : base;
  let lastSent = 0;
  const result = await runAttack(
    name,
    {
      ...req.params,
      x: req.x,
      label: req.label,
      seed: req.seed,
      quantize: true,
      maxQueries: Number(req.params.maxQueries ?? req.params.max_queries ?? 1000),
      signal,
      onProgress: (p: TrajectoryPoint) => {
        const now = Date.now();
        if (onProgress && now - lastSent > PROGRESS_MS) {
          lastSent = now;
          onProgress(p);
        }
      },
    },
    oracle,
  );
  const out: AttackResponse = { ...result };
  if (model.preprocessor) {
    // judge a randomized defense over fresh draws, not over the one lucky draw the attack saw
    const draws = req.eotDraws ?? 100;
    const copies = Array.from({ length: draws }, () => result.adversarial);
    const drawSeed = (req.seed ^ 0x5bd1e995) >>> 1;
    const preds = req.endpoint
      ? await remote(drawSeed).decide(copies)
      : await host.classify(model, copies, drawSeed);
    const target = req.params.target as number | undefined;
    const fooled = preds.filter((p) => (target === undefined ? p !== req.label : p === target)).length;
    out.eotSuccessRate = fooled / draws;
    out.eotDraws = draws;
  }
  return out;
}
