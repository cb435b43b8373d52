/**
 * App-wide singletons outside React: the inference worker pool and the fetch shim, installed once
 * at start-up so that page code and Playwright scripts can `fetch('/0/decision', …)` immediately.
 */
import { EnginePool } from '../engine/pool';
import type { BackendChoice } from '../engine/types';
import { installExperimentApi } from '../experiment/page-api';
import { installFetchShim, type ShimLogEntry } from '../shim/fetch-shim';
import { reportError } from '../stores/errorStore';
import { type BenchPageApi, createBenchApi } from './bench-api';
import { customModelsSettled } from './custom-model-gate';

function initialBackend(): BackendChoice {
  const q = new URLSearchParams(location.search).get('backend');
  if (q === 'webgpu' || q === 'wasm' || q === 'auto') return q;
  if (q !== null)
    reportError(
      'URL parameter ignored',
      `?backend=${q} is not one of wasm, webgpu, auto: the saved or automatic choice is used.`,
      'url-param:backend',
      'warning',
    );
  const saved = localStorage.getItem('backend');
  return saved === 'webgpu' || saved === 'wasm' ? saved : 'auto';
}

/**
 * The integer URL parameter `name` when it lies in [min, max]; undefined when absent. A value
 * outside the range, or not a whole number, is ignored with a warning banner naming the range, so
 * that `?workers=0` does not silently measure the default.
 */
function intParam(name: string, min: number, max = Number.POSITIVE_INFINITY): number | undefined {
  const raw = new URLSearchParams(location.search).get(name);
  if (raw === null) return undefined;
  const n = Number(raw);
  if (raw.trim() !== '' && Number.isInteger(n) && n >= min && n <= max) return n;
  const range = max === Number.POSITIVE_INFINITY ? `≥ ${min}` : `from ${min} to ${max}`;
  reportError(
    'URL parameter ignored',
    `?${name}=${raw} is not a whole number ${range}: the default is used.`,
    `url-param:${name}`,
    'warning',
  );
  return undefined;
}

/**
 * `?workers=N` sizes the WASM worker pool (default min(cores, 4); 1 is a single worker),
 * `?threads=N` its threads per worker (default cores ÷ workers; src/engine/pool.ts),
 * `?first-threads=N` those of the first worker (the one that answers an idle pool), and
 * `?heartbeat=MS` (tests) declares a worker dead after MS ms without an answer, idle or busy.
 */
const heartbeat = intParam('heartbeat', 1000);
export const engine = new EnginePool({
  backend: initialBackend(),
  threads: intParam('threads', 1, 64),
  workers: intParam('workers', 1, 16),
  firstThreads: intParam('first-threads', 1, 64),
  ...(heartbeat && { heartbeatMs: heartbeat, busyHeartbeatMs: heartbeat }),
});

type ExchangeListener = (e: ShimLogEntry) => void;
const exchangeListeners = new Set<ExchangeListener>();
export const shimLog: ShimLogEntry[] = [];

export function onApiExchange(l: ExchangeListener): () => void {
  exchangeListeners.add(l);
  return () => exchangeListeners.delete(l);
}

installFetchShim(
  async (req) => {
    // uploaded models are restored from IndexedDB at start-up: their routes wait for that
    if (req.path === '/' || req.path.startsWith('/custom/')) await customModelsSettled();
    return engine.handle(req);
  },
  (e) => {
    shimLog.push(e);
    if (shimLog.length > 50) shimLog.shift();
    for (const l of exchangeListeners) l(e);
  },
);

export function setBackend(choice: BackendChoice): void {
  localStorage.setItem('backend', choice);
  engine.setBackend(choice);
}

declare global {
  interface Window {
    __playground: {
      engine: EnginePool;
      shimLog: ShimLogEntry[];
      ready: Promise<unknown>;
      /** what `npm run bench:shim` drives */
      bench: BenchPageApi;
    };
  }
}

// for Playwright scripts and the browser console
// `ready` follows the current worker: after a restart it is the new worker's initialisation
window.__playground = {
  engine,
  shimLog,
  get ready() {
    return engine.backendStatus();
  },
  bench: createBenchApi(engine),
};

// what `npm run experiment` drives through Playwright
installExperimentApi(engine);
