/**
 * What `npm run bench:shim` drives through Playwright (`window.__playground.bench`): typed page
 * functions instead of code sent as strings. Times are performance.now() in the page (ms).
 */
import { modelRoute } from '../core/api';
import type { EnginePool } from '../engine/pool';

export interface LatencyResult {
  /** the first 100 requests after the model loaded (V8 still tiering up ORT's WASM) */
  cold: number[];
  /** `n` fetches after a ≥ 3 s warm-up */
  single: number[];
  /** the same request handed to the worker without fetch */
  handle: number[];
  /** a typed engine.infer round trip (no JSON/base64) */
  infer: number[];
  /** a no-op worker round trip */
  ping: number[];
  /** onnxruntime-web's session.run inside the worker (X-Inference-Ms) */
  workerInference: number[];
}

export interface ThroughputResult {
  /** wall time of all requests, ms */
  ms: number;
  imagesPerSecond: number;
}

export interface BenchPageApi {
  latency(a: { id: string; body: string; n: number }): Promise<LatencyResult>;
  /** `requests` batch requests of `batchSize` images through the page's fetch, `inFlight` at a time. */
  throughput(a: {
    id: string;
    batchBody: string;
    batchSize: number;
    requests: number;
    inFlight: number;
  }): Promise<ThroughputResult>;
  /** Workers in the page's engine pool, WASM threads per worker, and their WASM heaps together (bytes). */
  design(): Promise<{ workers: number; threads: number; wasmHeapBytes: number }>;
}

async function post(id: string, body: string, inferenceMs?: number[]): Promise<void> {
  const r = await fetch(modelRoute(id, 'decision'), { method: 'POST', body });
  await r.json();
  if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
  inferenceMs?.push(Number(r.headers.get('X-Inference-Ms')));
}

async function timed(into: number[], f: () => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  await f();
  into.push(performance.now() - t0);
}

/** `inFlight` workers of a queue of `requests` calls. */
async function pump(requests: number, inFlight: number, call: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, inFlight) }, async () => {
      while (next < requests) await call(next++);
    }),
  );
}

export function createBenchApi(engine: EnginePool): BenchPageApi {
  return {
    async latency({ id, body, n }) {
      const workerInference: number[] = [];
      const cold: number[] = [];
      for (let i = 0; i < 100; i++) await timed(cold, () => post(id, body));
      const tw = performance.now();
      for (let i = 0; i < 300 || performance.now() - tw < 3000; i++) await post(id, body);
      const x = new Float32Array(784).fill(0.5);
      const r: LatencyResult = { cold, single: [], handle: [], infer: [], ping: [], workerInference };
      // round-robin, so each path sees the same machine state
      for (let i = 0; i < n; i++) {
        await timed(r.single, () => post(id, body, workerInference));
        await timed(r.handle, () =>
          engine.handle({ method: 'POST', path: modelRoute(id, 'decision'), body }),
        );
        await timed(r.infer, () => engine.infer(id, x, 1));
        await timed(r.ping, () => engine.ping());
      }
      return r;
    },

    async throughput({ id, batchBody, batchSize, requests, inFlight }) {
      // a fresh worker runs ORT's WASM in V8's baseline tier first: warm up for at least 3 s
      const tw = performance.now();
      while (performance.now() - tw < 3000) await Promise.all([post(id, batchBody), post(id, batchBody)]);
      const t0 = performance.now();
      await pump(requests, inFlight, () => post(id, batchBody));
      const ms = performance.now() - t0;
      return { ms, imagesPerSecond: (requests * batchSize * 1000) / ms };
    },

    async design() {
      const status = await engine.backendStatus();
      const { wasmHeapBytes } = await engine.memory();
      return { workers: engine.workers, threads: status.threads, wasmHeapBytes };
    },
  };
}
