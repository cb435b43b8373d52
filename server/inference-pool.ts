/**
 * The service's inference pool: onnxruntime-node runs in worker processes (tinypool, child_process
 * runtime), so that the main thread keeps doing HTTP, JSON and batching while models run, one slow
 * or crashing model cannot stall or kill the others, and the work spreads over the cores.
 *
 * Why processes and not worker threads: onnxruntime-node's `run` is synchronous native code on the
 * thread that calls it. A worker thread stuck in it cannot be stopped, and `Worker.terminate()`
 * during a run aborts the whole process ("terminate called after throwing an instance of
 * 'Napi::Error'", seen here with onnxruntime-node 1.30 on Node 20). A child process can be killed
 * mid-run, and its memory (onnxruntime's arena) goes with it.
 *
 * Guarantees:
 * - **Run time limit.** A run that takes longer than `runTimeoutMs` (counted from when a worker takes
 *   it) is abandoned: its worker is killed and replaced, and the call rejects with RunAbortedError
 *   naming the limit. The other workers keep answering meanwhile.
 * - **Crashes.** A run whose worker dies (a crash, the kernel's OOM killer, a memory recycle) is
 *   retried once on a fresh worker, then rejects with RunAbortedError.
 * - **Memory.** A watchdog reads each worker's resident memory every 100 ms (Linux /proc) and kills
 *   a worker over `memoryLimitBytes`, idle or running: a run that allocates past it rejects with
 *   RunAbortedError (not retried), and an idle worker holding a large arena (onnxruntime keeps its
 *   largest run's) is replaced. A run can overshoot by what it allocates in 100 ms.
 * - **No queue inside tinypool.** At most `workers` tasks are handed to tinypool at once, so the time
 *   limit measures a run, not a wait; the rest wait here in arrival order.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Tinypool from 'tinypool';
import type { CustomModelEntry, OutputKind } from '../src/core/custom-models';
import {
  type GradientEngine,
  type GradientResult,
  ModelUnavailableError,
  RunAbortedError,
  WhiteBoxUnavailableError,
} from '../src/core/engine';
import { ModelRefusedError } from '../src/core/errors';
import { GRADIENT_CHUNK } from '../src/gradients/evaluate';
import type { LossSpec } from '../src/gradients/losses';
import type { WeightState } from './node-engine';

/** What each worker process reads at start (setup.json in the folder PLAYGROUND_WORKER_SETUP names). */
export interface WorkerSetup {
  modelsDir: string;
  verify: boolean;
  threads: number;
  /** weight sets to start loading at once */
  preload: string[];
  /** accepted uploads: their entry and the file (in the same folder) holding their bytes */
  customs: { entry: CustomModelEntry; file: string }[];
}

export type WorkerTask =
  | { op: 'infer'; weights: string; inputs: Float32Array; n: number }
  | { op: 'gradient'; weights: string; inputs: Float32Array; n: number; specs: LossSpec[] }
  | { op: 'load'; weights: string }
  | { op: 'check'; id: string; fileName: string; bytes: Uint8Array; outputs: OutputKind };

export type WorkerResult =
  | {
      ok: true;
      rss: number;
      logits?: Float32Array;
      gradient?: GradientResult;
      state?: WeightState;
      entry?: CustomModelEntry;
    }
  | {
      ok: false;
      kind: 'refused' | 'unavailable' | 'whitebox' | 'failed';
      message: string;
      rss: number;
      /** for 'whitebox': the reverse pass's reason and the ops without a rule */
      reason?: string;
      ops?: string[];
    };

export interface PoolOptions {
  /** worker processes (≥ 1) */
  workers: number;
  /** onnxruntime intra-op threads per session in each worker */
  threads: number;
  modelsDir: string;
  verify: boolean;
  /** a run longer than this is abandoned and its worker replaced (ms) */
  runTimeoutMs: number;
  /** a worker whose resident memory goes over this is killed and replaced (bytes) */
  memoryLimitBytes: number;
  preload?: string[];
  customs?: { entry: CustomModelEntry; bytes: Uint8Array }[];
}

export interface PoolStats {
  workers: number;
  /** workers that died or were replaced (time limit, crash, memory) */
  restarts: number;
  /** runs stopped at the time limit */
  timeouts: number;
  /** workers killed over the memory limit */
  memoryKills: number;
  /** tasks running in a worker now */
  running: number;
  /** tasks waiting for a worker */
  queued: number;
}

export interface InferencePool extends GradientEngine {
  /** Loads a weight set in a worker and reports its state (every worker loads all at start). */
  load(weights: string): Promise<WeightState>;
  /** Runs one task in a worker (with the time limit; `timeoutMs` overrides it). */
  task(task: WorkerTask, timeoutMs?: number): Promise<WorkerResult & { ok: true }>;
  stats(): PoolStats;
  /** Sets the memory limit of every worker from now on (bytes). */
  setMemoryLimit(bytes: number): void;
  /** Stops the workers once the tasks in flight are done; later calls reject. */
  close(): Promise<void>;
}

const WORKER_FILE = fileURLToPath(new URL('./inference-worker.ts', import.meta.url));
/** tsx's loader, resolved from here, so that a worker started from any folder can load TypeScript. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

interface Job {
  task: WorkerTask;
  timeoutMs: number;
  retried: boolean;
  resolve: (r: WorkerResult & { ok: true }) => void;
  reject: (e: unknown) => void;
}

/** Resident memory of a process (Linux /proc; 0 where it cannot be read, which disables the watchdog). */
function residentBytes(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
  } catch {
    return 0;
  }
}

function weightsOf(task: WorkerTask): string {
  return 'weights' in task ? task.weights : `custom/${task.id}`;
}

/** The error a worker's refusal stands for, as the in-process engine would have thrown it. */
function failure(task: WorkerTask, r: WorkerResult & { ok: false }): Error {
  if (r.kind === 'refused') return new ModelRefusedError(r.message);
  // the worker's ModelUnavailableError message already names the weight set
  if (r.kind === 'unavailable') {
    const e = new ModelUnavailableError(weightsOf(task), '');
    e.message = r.message;
    return e;
  }
  if (r.kind === 'whitebox')
    return new WhiteBoxUnavailableError(weightsOf(task), r.reason ?? r.message, r.ops ?? []);
  return new Error(r.message);
}

/** One GradientResult from the results of consecutive chunks. */
function concatGradients(done: GradientResult[]): GradientResult {
  if (done.length === 1) return done[0];
  const cat = <T extends Float32Array | Float64Array>(
    make: (k: number) => T,
    pick: (r: GradientResult) => T,
  ) => {
    const out = make(done.reduce((k, r) => k + pick(r).length, 0));
    let o = 0;
    for (const r of done) {
      out.set(pick(r), o);
      o += pick(r).length;
    }
    return out;
  };
  return {
    logits: cat(
      (k) => new Float32Array(k),
      (r) => r.logits,
    ),
    losses: cat(
      (k) => new Float64Array(k),
      (r) => r.losses,
    ),
    gradient: cat(
      (k) => new Float32Array(k),
      (r) => r.gradient,
    ),
  };
}

/**
 * Writes the workers' set-up to a private folder (0700) of its own and returns the folder: the
 * uploads' bytes are too large for the environment, and tinypool hands child processes no workerData.
 */
function writeWorkerSetup(opts: PoolOptions): string {
  const dir = mkdtempSync(join(tmpdir(), 'playground-workers-'));
  const customs = (opts.customs ?? []).map((c, i) => {
    const file = `custom-${i}.onnx`;
    writeFileSync(join(dir, file), c.bytes, { mode: 0o600 });
    return { entry: c.entry, file };
  });
  const setup: WorkerSetup = {
    modelsDir: opts.modelsDir,
    verify: opts.verify,
    threads: opts.threads,
    preload: opts.preload ?? [],
    customs,
  };
  writeFileSync(join(dir, 'setup.json'), JSON.stringify(setup), { mode: 0o600 });
  return dir;
}

/** `workers` child processes running inference-worker.ts with the set-up in `dir`. */
function startWorkers(workers: number, dir: string): Tinypool {
  return new Tinypool({
    filename: WORKER_FILE,
    runtime: 'child_process',
    minThreads: workers,
    maxThreads: workers,
    concurrentTasksPerWorker: 1,
    // typed arrays cross the process boundary as themselves (JSON would make them objects)
    serialization: 'advanced',
    execArgv: ['--import', TSX],
    env: { ...process.env, PLAYGROUND_WORKER_SETUP: dir } as Record<string, string>,
  });
}

/** Why a task that threw did not finish: the time limit, the memory limit, or a worker that died. */
function abortCause(e: unknown, memoryKilledDuringRun: boolean): RunAbortedError['cause'] {
  if (e instanceof Error && e.name === 'AbortError') return 'time';
  return memoryKilledDuringRun ? 'memory' : 'crash';
}

/** The words of a RunAbortedError's answer. */
function abortMessage(
  cause: RunAbortedError['cause'],
  timeoutMs: number,
  memoryLimit: number,
  e: unknown,
): string {
  if (cause === 'time')
    return `the run took longer than the limit of ${timeoutMs / 1000} s (--run-timeout) and was stopped; its worker was replaced`;
  if (cause === 'memory')
    return `the run took more than ${(memoryLimit / 2 ** 20).toFixed(0)} MiB of memory (--worker-memory) and was stopped; its worker was replaced`;
  return `the inference worker died while running it (${e instanceof Error ? e.message : String(e)}); it was replaced`;
}

/**
 * Starts `workers` worker processes (they start loading at once) and returns the pool.
 * @throws Error when the set-up folder cannot be written
 */
export function createInferencePool(opts: PoolOptions): InferencePool {
  const dir = writeWorkerSetup(opts);
  const pool = startWorkers(opts.workers, dir);
  let restarts = 0;
  let timeouts = 0;
  let memoryKills = 0;
  let lastMemoryKill = Number.NEGATIVE_INFINITY;
  let memoryLimit = opts.memoryLimitBytes;
  // a worker that dies between tasks (killed over the memory limit) is an 'error' with no task to fail
  pool.on('error', () => {
    restarts++;
  });
  // pids already killed: a dying worker stays in pool.threads until its exit is seen
  const killed = new Set<number>();
  const watchdog = setInterval(() => {
    for (const w of pool.threads) {
      if (killed.has(w.threadId) || residentBytes(w.threadId) <= memoryLimit) continue;
      try {
        process.kill(w.threadId, 'SIGKILL');
        killed.add(w.threadId);
        memoryKills++;
        lastMemoryKill = performance.now();
      } catch {
        // already gone
      }
    }
    const alive = new Set(pool.threads.map((w) => w.threadId));
    for (const pid of killed) if (!alive.has(pid)) killed.delete(pid);
  }, 100);
  watchdog.unref();

  const queue: Job[] = [];
  let running = 0;
  let closed = false;

  const pump = () => {
    while (running < opts.workers && queue.length) void start(queue.shift()!);
  };

  async function start(job: Job): Promise<void> {
    running++;
    const t0 = performance.now();
    const weights = weightsOf(job.task);
    try {
      const r = (await pool.run(job.task, { signal: AbortSignal.timeout(job.timeoutMs) })) as WorkerResult;
      if (r.ok) job.resolve(r);
      else job.reject(failure(job.task, r));
    } catch (e) {
      const cause = abortCause(e, lastMemoryKill >= t0);
      if (cause === 'crash' && !closed && !job.retried) {
        // the worker died under this task: once more on a fresh one
        restarts++;
        queue.unshift({ ...job, retried: true });
      } else {
        restarts++;
        if (cause === 'time') timeouts++;
        job.reject(new RunAbortedError(weights, cause, abortMessage(cause, job.timeoutMs, memoryLimit, e)));
      }
    } finally {
      running--;
      pump();
    }
  }

  const task = (t: WorkerTask, timeoutMs = opts.runTimeoutMs) =>
    new Promise<WorkerResult & { ok: true }>((resolve, reject) => {
      if (closed) return reject(new Error('the inference pool is closed'));
      queue.push({ task: t, timeoutMs, retried: false, resolve, reject });
      pump();
    });

  return {
    task,
    async infer(weights, inputs, n) {
      const r = await task({ op: 'infer', weights, inputs, n });
      return r.logits!;
    },
    async gradient(weights, inputs, n, specs) {
      // chunks of GRADIENT_CHUNK images, each a task with its own time limit, spread over the workers
      const parts: Promise<GradientResult>[] = [];
      for (let i = 0; i < n; i += GRADIENT_CHUNK) {
        const m = Math.min(GRADIENT_CHUNK, n - i);
        const t: WorkerTask = {
          op: 'gradient',
          weights,
          inputs: inputs.slice(i * 784, (i + m) * 784),
          n: m,
          specs: specs.slice(i, i + m),
        };
        parts.push(task(t).then((r) => r.gradient!));
      }
      return concatGradients(await Promise.all(parts));
    },
    async load(weights) {
      try {
        // the first load of a worker also starts onnxruntime: allow it more than one run's time
        return (await task({ op: 'load', weights }, Math.max(opts.runTimeoutMs, 60_000))).state!;
      } catch (e) {
        return { state: 'failed', error: e instanceof Error ? e.message : String(e) };
      }
    },
    stats: () => ({ workers: opts.workers, restarts, timeouts, memoryKills, running, queued: queue.length }),
    setMemoryLimit(bytes) {
      memoryLimit = bytes;
    },
    async close() {
      closed = true;
      clearInterval(watchdog);
      for (const job of queue.splice(0)) job.reject(new Error('the inference pool is closing'));
      // tasks in flight finish first (the service drains before closing the pool)
      await pool.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
