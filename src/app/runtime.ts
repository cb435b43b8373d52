/**
 * App-wide singletons outside React: the inference worker pool and the fetch shim, installed once
 * at start-up so that page code and Playwright scripts can `fetch('/0/decision', …)` immediately.
 */
import { EnginePool } from '../engine/pool';
import type { BackendChoice } from '../engine/types';
import { installExperimentApi } from '../experiment/page-api';
import { installFetchShim, type ShimLogEntry } from '../shim/fetch-shim';
import { type BenchPageApi, createBenchApi } from './bench-api';
import { customModelsSettled } from './custom-model-gate';

function initialBackend(): BackendChoice {
  const q = new URLSearchParams(location.search).get('backend');
  if (q === 'webgpu' || q === 'wasm' || q === 'auto') return q;
  const saved = localStorage.getItem('backend');
  return saved === 'webgpu' || saved === 'wasm' ? saved : 'auto';
}

/** `?threads=N` overrides the WASM threads per worker (default: cores ÷ workers; src/engine/pool.ts). */
function threadOverride(): number | undefined {
  const n = Number(new URLSearchParams(location.search).get('threads'));
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : undefined;
}

/** `?workers=N` overrides the size of the WASM worker pool (default min(cores, 4); 1 is a single worker). */
function workersOverride(): number | undefined {
  const n = Number(new URLSearchParams(location.search).get('workers'));
  return Number.isInteger(n) && n >= 1 && n <= 16 ? n : undefined;
}

/** `?first-threads=N`: threads of the pool's first worker (the one that answers an idle pool). */
function firstThreadsOverride(): number | undefined {
  const n = Number(new URLSearchParams(location.search).get('first-threads'));
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : undefined;
}

/** `?heartbeat=MS` (tests): declare the worker dead after MS ms without an answer, idle or busy. */
function heartbeatOverride(): number | undefined {
  const n = Number(new URLSearchParams(location.search).get('heartbeat'));
  return Number.isInteger(n) && n >= 1000 ? n : undefined;
}

const heartbeat = heartbeatOverride();
export const engine = new EnginePool({
  backend: initialBackend(),
  threads: threadOverride(),
  workers: workersOverride(),
  firstThreads: firstThreadsOverride(),
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
