/**
 * App-wide singletons outside React: the inference worker pool and the fetch shim, installed once
 * at start-up so that page code and Playwright scripts can `fetch('/0/decision', …)` immediately.
 */
import { EnginePool } from '../engine/pool';
import type { BackendChoice } from '../engine/types';
import { installExperimentApi } from '../experiment/page-api';
import { installFetchShim, type ShimLogEntry } from '../shim/fetch-shim';
import { createBenchApi } from './bench-api';
import { customModelsSettled } from './custom-model-gate';
import './playground-api';
import { intParam, warnParam } from './url-params';

function initialBackend(): BackendChoice {
  const q = new URLSearchParams(location.search).get('backend');
  if (q === 'webgpu' || q === 'wasm' || q === 'auto') return q;
  if (q !== null) warnParam('backend', q, 'one of wasm, webgpu, auto', 'the saved or automatic choice');
  const saved = localStorage.getItem('backend');
  return saved === 'webgpu' || saved === 'wasm' ? saved : 'auto';
}

/**
 * `?workers=N` sizes the WASM worker pool (default min(cores, 4); 1 is a single worker),
 * `?threads=N` its threads per worker (default cores ÷ workers; src/engine/pool.ts),
 * `?first-threads=N` those of the first worker (the one that answers an idle pool), and
 * `?heartbeat=MS` (tests) declares a worker dead after MS ms without an answer, idle or busy.
 */
const params = new URLSearchParams(location.search);
const heartbeat = intParam(params, 'heartbeat', 1000, Number.POSITIVE_INFINITY, 'the built-in timeouts');
export const engine = new EnginePool({
  backend: initialBackend(),
  threads: intParam(params, 'threads', 1, 64, 'cores ÷ workers'),
  workers: intParam(params, 'workers', 1, 16, 'min(cores, 4)'),
  firstThreads: intParam(params, 'first-threads', 1, 64, 'as the other workers'),
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
