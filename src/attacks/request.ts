/**
 * One attack request as the attack lab and the experiment runner send it to the engine: the attack
 * run against a model behind the API contract (the page's own router, or an HTTP service with the
 * same contract), with EOT, a throttled progress stream and abort. A randomized defense's verdict
 * over fresh draws is its callers' (the attack lab's and the experiment runner's own seeded draws).
 * The worker only supplies the router; everything else is here, DOM-free.
 */
import type { ApiRequest, ApiResponse } from '../core/api';
import type { ModelInfo } from '../core/models';
import { apiWhiteBoxOracle } from '../gradients/oracle';
import { ATTACKS, type AttackName, isAttackName, runAttack } from './index';
import {
  createHttpOracle,
  createRouterOracle,
  type DecisionOracle,
  postApi,
  type ScoreOracle,
  withEOT,
} from './oracle';
import type { AttackResult, TrajectoryPoint } from './types';

export interface AttackRequest {
  /** 'noise' is accepted as an alias of the random-noise baseline 'random'. */
  attack: AttackName | 'noise';
  /** The attack's own parameters (norm, eps, maxQueries, target, …); see src/attacks. */
  params: Record<string, unknown>;
  /** A served model ID ("0", "2_3", "custom/<id>"). */
  model: string;
  /** The clean image: 784 values in [0, 1], row-major 28×28 (quantised to 8 bits before use). */
  x: Float32Array;
  /** The class the attack moves away from (untargeted) — the true or the predicted one. */
  label: number;
  /** Seeds the attack's own randomness and the defense's draws of its queries. */
  seed: number;
  /** Answer each query by k repeated queries (majority vote / mean scores); k queries are charged. */
  eot?: number;
  /**
   * Attack this HTTP service (same contract, CORS headers) instead of the engine's own models, e.g.
   * `npm run serve` or the thesis' Flask service: every query is a POST to it.
   */
  endpoint?: string;
}

/** What an attack request answers: the attack's result. */
export type AttackResponse = AttackResult;

/** What the engine lends an attack request. */
export interface AttackHost {
  /** The served model `id` names (one of the fifteen, an uploaded one or a defended variant). */
  findModel(id: string): ModelInfo | undefined;
  /** One API request through the engine's router. */
  handle(req: ApiRequest): Promise<ApiResponse>;
}

/** Progress usually crosses a thread boundary (worker → page): at most one point per PROGRESS_MS. */
const PROGRESS_MS = 50;

/**
 * The model and attack `req` names.
 * @throws Error for an unknown model or attack (before anything runs)
 */
export function checkAttackRequest(
  req: AttackRequest,
  host: AttackHost,
): { model: ModelInfo; name: AttackName } {
  const model = host.findModel(req.model);
  if (!model) throw new Error(`unknown model '${req.model}'`);
  const name = req.attack === 'noise' ? 'random' : req.attack;
  if (!isAttackName(name)) throw new Error(`unknown attack '${req.attack}'`);
  return { model, name };
}

/**
 * Runs `req` with 8-bit (quantised) queries, so it attacks exactly what `fetch('/<id>/…')` answers.
 * Aborting `signal` ends the attack with its best result so far (not an error); progress points
 * reach `onProgress` at most every PROGRESS_MS.
 * @throws Error for an unknown model or attack; an attack's own RangeError for bad parameters;
 *   an oracle's error when the model or endpoint fails to answer
 */
export async function runAttackRequest(
  req: AttackRequest,
  host: AttackHost,
  signal: AbortSignal,
  onProgress?: (p: TrajectoryPoint) => void,
): Promise<AttackResponse> {
  const { model, name } = checkAttackRequest(req, host);
  const white = ATTACKS[name].kind === 'gradient';
  // AutoAttack's rand version: its `eot`, else the lab's k when above 1, else the reference's 20
  const aaEot =
    name === 'autoattack' ? Number(req.params.eot ?? ((req.eot ?? 1) > 1 ? req.eot : 20)) : undefined;
  // Stop also aborts a query the endpoint is slow to answer
  const scores = () =>
    req.endpoint
      ? createHttpOracle({
          baseUrl: req.endpoint,
          modelId: model.id,
          canonicalRoute: true,
          batch: true,
          seed: req.seed,
          signal,
        })
      : createRouterOracle(host.handle, { modelId: model.id, batch: true, seed: req.seed });
  const gradients = () =>
    apiWhiteBoxOracle(
      req.endpoint
        ? (path, body) => postApi(`${req.endpoint!.replace(/\/+$/, '')}${path}`, body, { signal })
        : async (path, body) => {
            const res = await host.handle({ method: 'POST', path, body });
            return {
              status: res.status,
              json: typeof res.body === 'string' ? JSON.parse(res.body) : res.body,
            };
          },
      model.id,
      model.preprocessor !== null,
      aaEot ?? req.eot ?? 1,
      req.seed,
    );
  // AutoAttack's last stage (Square) is score-based: it gets both
  const base = white
    ? name === 'autoattack'
      ? { ...gradients(), score: scores().score }
      : gradients()
    : scores();
  // white-box: the EOT draws are taken per gradient by the route; black-box: k queries per image
  const oracle =
    !white && req.eot && req.eot > 1 ? withEOT(base as DecisionOracle & ScoreOracle, req.eot) : base;
  let lastSent = 0;
  return runAttack(
    name,
    {
      ...req.params,
      ...(aaEot !== undefined ? { eot: aaEot } : {}),
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
}
