/**
 * Dynamic batching for the HTTP service: concurrent `infer` calls for the same weight set are
 * coalesced into one onnxruntime run, as inference servers do (Triton's dynamic batcher, TorchServe's
 * batch_size/max_batch_delay).
 *
 * Policy: a weight set with fewer than `maxInFlight` runs in progress starts one on the next
 * event-loop turn with whatever has arrived by then; while its runs are in progress, arriving calls
 * wait and then go together (up to `maxBatch` images a run, the rest in the following runs, in
 * arrival order). Nothing waits on a timer. `maxInFlight` is the pool's worker count: one run per
 * worker at a time.
 *
 * Isolation: when a coalesced run of several calls fails, each call is run again alone before
 * anyone gets an error, so a client only ever sees the failure of its own input (one image that
 * makes the model fail, or run past the time limit, no longer fails the others in its run).
 * A call of more than `maxBatch` images is split into runs of `maxBatch`, one after another: one
 * 4096-image run made onnxruntime keep gigabytes of arena memory for good (docs/serve.md), while
 * 64-image runs keep the same throughput.
 *
 * Coalescing happens after the router has applied each request's preprocessor with that request's
 * own seed, so a randomized defense draws per request exactly as unbatched, and a seeded request
 * replays bit for bit batched or not (the network is deterministic per image).
 */
import type { InferenceEngine } from '../src/core/engine';

const PIXELS = 784;
const CLASSES = 10;

interface Pending {
  inputs: Float32Array;
  n: number;
  /** a later part of a split call: not counted again in `calls` */
  part: boolean;
  resolve: (logits: Float32Array) => void;
  reject: (e: unknown) => void;
}

interface Lane {
  queue: Pending[];
  /** runs in progress */
  running: number;
  scheduled: boolean;
}

export interface BatchStats {
  /** onnxruntime runs made */
  runs: number;
  /** images classified */
  images: number;
  /** calls answered */
  calls: number;
  /** largest run, in images */
  maxRun: number;
  /** coalesced runs that failed and were run again call by call */
  isolated: number;
}

export interface BatchingEngine extends InferenceEngine {
  stats(): BatchStats;
}

/**
 * @param inner the engine that runs one batch (onnxruntime-node; it serialises runs per session)
 * @param maxBatch most images in one coalesced run (default 64)
 * @param maxInFlight most runs of one weight set in progress at once (default 1)
 * @param onRun called with the size of each run as it starts (the service's batch-size histogram)
 */
export function createBatchingEngine(
  inner: InferenceEngine,
  maxBatch = 64,
  maxInFlight = 1,
  onRun?: (images: number) => void,
): BatchingEngine {
  if (!Number.isInteger(maxBatch) || maxBatch < 1)
    throw new RangeError(`maxBatch must be ≥ 1, got ${maxBatch}`);
  const lanes = new Map<string, Lane>();
  const stats: BatchStats = { runs: 0, images: 0, calls: 0, maxRun: 0, isolated: 0 };

  const lane = (weights: string): Lane => {
    let l = lanes.get(weights);
    if (!l) {
      l = { queue: [], running: 0, scheduled: false };
      lanes.set(weights, l);
    }
    return l;
  };

  const schedule = (weights: string, l: Lane) => {
    if (l.running >= maxInFlight || l.scheduled || l.queue.length === 0) return;
    l.scheduled = true;
    setImmediate(() => {
      l.scheduled = false;
      void flush(weights, l);
    });
  };

  async function flush(weights: string, l: Lane): Promise<void> {
    if (l.running >= maxInFlight || l.queue.length === 0) return;
    const take: Pending[] = [];
    let n = 0;
    while (l.queue.length && (take.length === 0 || n + l.queue[0].n <= maxBatch)) {
      const p = l.queue.shift()!;
      take.push(p);
      n += p.n;
    }
    l.running++;
    // more calls may be waiting and another run may start beside this one
    schedule(weights, l);
    try {
      let inputs: Float32Array;
      if (take.length === 1) inputs = take[0].inputs;
      else {
        inputs = new Float32Array(n * PIXELS);
        let o = 0;
        for (const p of take) {
          inputs.set(p.inputs, o * PIXELS);
          o += p.n;
        }
      }
      stats.runs++;
      stats.images += n;
      stats.calls += take.filter((p) => !p.part).length;
      stats.maxRun = Math.max(stats.maxRun, n);
      onRun?.(n);
      const logits = await inner.infer(weights, inputs, n);
      let o = 0;
      for (const p of take) {
        p.resolve(logits.slice(o * CLASSES, (o + p.n) * CLASSES));
        o += p.n;
      }
    } catch (e) {
      if (take.length === 1) take[0].reject(e);
      else {
        stats.isolated++;
        await Promise.all(take.map((p) => inner.infer(weights, p.inputs, p.n).then(p.resolve, p.reject)));
      }
    } finally {
      l.running--;
      schedule(weights, l);
    }
  }

  const enqueue = (weights: string, inputs: Float32Array, n: number, part = false) =>
    new Promise<Float32Array>((resolve, reject) => {
      const l = lane(weights);
      l.queue.push({ inputs, n, part, resolve, reject });
      schedule(weights, l);
    });

  return {
    infer(weights: string, inputs: Float32Array, n: number): Promise<Float32Array> {
      if (!Number.isInteger(n) || n < 1 || inputs.length !== n * PIXELS) {
        return Promise.reject(
          new RangeError(
            `infer needs n ≥ 1 images of ${PIXELS} floats; got n=${n} and ${inputs.length} floats`,
          ),
        );
      }
      if (n <= maxBatch) return enqueue(weights, inputs, n);
      const parts: Promise<Float32Array>[] = [];
      for (let i = 0; i < n; i += maxBatch) {
        const k = Math.min(maxBatch, n - i);
        parts.push(enqueue(weights, inputs.subarray(i * PIXELS, (i + k) * PIXELS), k, i > 0));
      }
      return Promise.all(parts).then((chunks) => {
        const out = new Float32Array(n * CLASSES);
        let o = 0;
        for (const c of chunks) {
          out.set(c, o);
          o += c.length;
        }
        return out;
      });
    },
    stats: () => ({ ...stats }),
  };
}
