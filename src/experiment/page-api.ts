/**
 * `window.__playground.experiment`: what the experiment runner (`npm run experiment`, driving the
 * production build in headless Chromium) calls in the page. Everything goes through the same
 * engine (the worker pool, src/engine/pool.ts) the playground uses:
 * - `score`: `/score` requests through the API router (engine.handle), many images per worker
 *   round trip with the batch extension, each with its own `seed`;
 * - `attack`: engine.runAttack, the attack library in the inference worker.
 * Arguments and results are plain JSON (number arrays, not typed arrays) so they cross
 * Playwright's page.evaluate unchanged.
 */
import type { EnginePool } from '../engine/pool';
import type { BackendStatus } from '../engine/types';
import { type ScoreItem, scoreBody, scoreRoute } from './api';

export interface PageScoreAnswer {
  status: number;
  body: unknown;
  /** time of the engine.handle call in the page, ms */
  ms: number;
}

export interface PageAttackRequest {
  attack: 'hopskipjump' | 'boundary' | 'simba' | 'square' | 'noise';
  /** the attack library's options (camelCase), without x, label and seed */
  params: Record<string, unknown>;
  model: string;
  /** 784 pixel values in [0,1] */
  x: number[];
  label: number;
  seed: number;
  eot?: number;
}

export interface PageAttackResult {
  adversarial: number[];
  success: boolean;
  queries: number;
  l2: number;
  linf: number;
  trajectory: { queries: number; distance?: number; loss?: number }[];
  wallMs: number;
  originalLabel: number;
  adversarialLabel: number;
  params: Record<string, unknown>;
}

/** An attack that failed in the page: the error's kind (src/core/errors.ts) and message, rethrown in Node. */
export interface PageAttackFailure {
  failed: { name: string; message: string };
}

export interface PageInfo {
  backend: BackendStatus;
  userAgent: string;
  hardwareConcurrency: number;
  crossOriginIsolated: boolean;
  /** inference workers in the page's pool: attacks that run side by side at full speed */
  workers: number;
}

export interface ExperimentPageApi {
  version: 1;
  info(): Promise<PageInfo>;
  score(model: string, items: ScoreItem[], batch: boolean): Promise<PageScoreAnswer>;
  /** Resolves to the failure instead of rejecting, so the error's kind survives page.evaluate. */
  attack(req: PageAttackRequest): Promise<PageAttackResult | PageAttackFailure>;
  /** the last trajectory point of the attack in progress (null when none has been reported) */
  progress(): { queries: number; distance?: number } | null;
}

export function createExperimentApi(engine: EnginePool): ExperimentPageApi {
  let progress: { queries: number; distance?: number } | null = null;

  return {
    version: 1,
    async info() {
      const started = await engine.backendStatus(); // the pool has its workers
      return {
        // lastBackendStatus follows the worker's events (the backend is decided at the first model load)
        backend: engine.lastBackendStatus ?? started,
        userAgent: navigator.userAgent,
        hardwareConcurrency: navigator.hardwareConcurrency,
        crossOriginIsolated: Boolean(globalThis.crossOriginIsolated),
        workers: engine.workers,
      };
    },
    async score(model, items, batch) {
      const t0 = performance.now();
      const res = await engine.handle({
        method: 'POST',
        path: scoreRoute(model),
        body: scoreBody(items, batch),
      });
      return { status: res.status, body: res.body, ms: performance.now() - t0 };
    },
    async attack(req) {
      progress = null;
      let res: Awaited<ReturnType<EnginePool['runAttack']>>;
      try {
        // a randomized defense is measured by the runner with its own seeded draws
        res = await engine.runAttack({ ...req, x: Float32Array.from(req.x) }, (p) => {
          progress = { queries: p.queries, distance: p.distance };
        });
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        return { failed: { name: err.name, message: err.message } };
      }
      return {
        adversarial: Array.from(res.adversarial),
        success: res.success,
        queries: res.queries,
        l2: res.l2,
        linf: res.linf,
        trajectory: res.trajectory.map((p) => ({ queries: p.queries, distance: p.distance, loss: p.loss })),
        wallMs: res.wallMs,
        originalLabel: res.originalLabel,
        adversarialLabel: res.adversarialLabel,
        params: res.params,
      };
    },
    progress() {
      return progress;
    },
  };
}

/** Sets `window.__playground.experiment` (call after `window.__playground` exists). */
export function installExperimentApi(engine: EnginePool): ExperimentPageApi {
  const api = createExperimentApi(engine);
  window.__playground.experiment = api;
  return api;
}
