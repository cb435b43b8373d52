/**
 * `window.__playground`: the page's scripting API, for Playwright scripts, the experiment runner
 * (`tools/experiment/backends.ts`), the benchmarks (`tools/bench-shim.ts`), the e2e specs and the
 * browser console. One type, PlaygroundApi, which all of them import instead of retyping it.
 */
import type { EnginePool } from '../engine/pool';
import type { ExperimentPageApi } from '../experiment/page-api';
import type { ShimLogEntry } from '../shim/fetch-shim';
import type { BenchPageApi } from './bench-api';

export interface PlaygroundApi {
  /** the worker pool behind the fetch shim (load, infer, status, test hooks) */
  engine: EnginePool;
  /** the fetch shim's recent exchanges */
  shimLog: ShimLogEntry[];
  /** the current worker's initialisation (after a restart, the new worker's) */
  readonly ready: Promise<unknown>;
  /** what `npm run bench:shim` drives */
  bench: BenchPageApi;
  /** what `npm run experiment` drives (installed right after the rest, at start-up) */
  experiment?: ExperimentPageApi;
}

/** A window as scripts see it before the app has started: `__playground` may not exist yet. */
export type PlaygroundWindow = { __playground?: PlaygroundApi };

declare global {
  interface Window {
    __playground: PlaygroundApi;
  }
}
