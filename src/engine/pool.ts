/**
 * The page's engine: a pool of inference workers (EngineClient each) behind the one EngineApi.
 *
 * On WASM, W workers of 1 ORT thread each (W = min(cores, 4) by default) beat one worker of W
 * threads: ORT-web parallelises a run over threads poorly (ResNet18's batch-64 run gains 1.7–1.9×
 * from a second worker, nothing from a second thread; docs/profile-ort-web.md), and independent
 * requests (the five-model comparison, several in flight) run side by side. WebGPU keeps one worker:
 * one device queue.
 *
 * - A batch request of at least 2·MIN_PART images is split across the workers, each item sent with
 *   the seed the router would have derived for it (src/core/batch-split.ts): the answer is the
 *   unsplit one whatever worker answers each part. Anything else goes to the least busy worker.
 * - A weight file is downloaded once: the first worker fetches and verifies it and leaves it in
 *   Cache Storage, where the others (and a restarted worker) find it; each still checks its sha256.
 * - Each worker keeps its own liveness, restart and retry (EngineClient); events of the first
 *   worker describe the pool, errors and restarts of any worker are passed on.
 * - Memory: every worker holds its own session of each loaded model (W × the weights in WASM
 *   memory; docs/benchmarks.md has the measured heap sizes).
 */
import type { TrajectoryPoint } from '../attacks/types';
import {
  itemSeedsOf,
  mergeBatchAnswers,
  mergeClassifyResults,
  partition,
  splitBatchBody,
} from '../core/batch-split';
import type { CustomModelEntry } from '../core/custom-models';
import { freshSeed } from '../core/prng';
import { EngineClient, type EngineClientOptions } from './client';
import type {
  AddCustomRequest,
  ApiRequest,
  ApiResponse,
  AttackRequest,
  AttackResponse,
  ClassifyRequest,
  ClassifyResult,
  EngineApi,
  EngineState,
} from './messages';
import type { BackendChoice, BackendStatus, EngineEvent, WeightStatus } from './types';

/** Smallest part of a split batch (images): below it the extra message costs more than it saves. */
export const MIN_PART = 8;
/** Most workers by default (more cost memory for little: the machine's memory bandwidth is shared). */
const MAX_DEFAULT_WORKERS = 4;

export interface EnginePoolOptions extends EngineClientOptions {
  /** Workers on WASM (default min(cores, 4)); `threads` is then per worker (default cores ÷ workers). */
  workers?: number;
}

export type PoolEvent = EngineEvent | { type: 'restart'; generation: number };
type Listener = (e: PoolEvent) => void;

export class EnginePool implements EngineApi {
  private clients: EngineClient[] = [];
  /** Outstanding work per worker (request body characters or images): requests go to the least. */
  private work: number[] = [];
  private attacks: number[] = [];
  private listeners = new Set<Listener>();
  private wanted = new Set<string>();
  private customs = new Map<string, AddCustomRequest>();
  /** Resolves once the backend is decided and the pool has its workers. */
  private sized: Promise<void> = Promise.resolve();
  private readonly wasmWorkers: number;
  private readonly threads: number;
  backendChoice: BackendChoice;

  constructor(private readonly opts: EnginePoolOptions = {}) {
    const cores = Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1);
    this.wasmWorkers = Math.max(1, Math.floor(opts.workers ?? Math.min(cores, MAX_DEFAULT_WORKERS)));
    this.threads = opts.threads ?? Math.max(1, Math.floor(cores / this.wasmWorkers));
    this.backendChoice = opts.backend ?? 'auto';
    this.spawn();
    this.size();
  }

  /** Workers now (1 on WebGPU, until the backend is decided, or with `workers: 1`). */
  get workers(): number {
    return this.clients.length;
  }

  /** Worker restarts so far, all workers together (grows by one per restart). */
  get generation(): number {
    return this.clients.reduce((sum, c) => sum + c.generation, 0);
  }

  get lastBackendStatus(): BackendStatus | null {
    const s = this.clients[0].lastBackendStatus;
    return s && { ...s, workers: this.clients.length };
  }

  private spawn(): EngineClient {
    const c = new EngineClient({ ...this.opts, backend: this.backendChoice, threads: this.threads });
    const first = this.clients.length === 0;
    c.subscribe((e) => {
      // the first worker's events describe the pool; of the others only what went wrong
      if (first && e.type === 'backend')
        this.emit({ ...e, status: { ...e.status, workers: this.clients.length } });
      else if (
        first ||
        e.type === 'error' ||
        e.type === 'restart' ||
        (e.type === 'weights' && e.status.state === 'error')
      )
        this.emit(e.type === 'restart' ? { type: 'restart', generation: this.generation } : e);
    });
    this.clients.push(c);
    this.work.push(0);
    this.attacks.push(0);
    return c;
  }

  /** Decides the backend on the first worker; on WASM, starts the others and gives them what is loaded. */
  private size(): void {
    this.sized = this.clients[0]
      .decideBackend()
      .then(async (status) => {
        if (status.active !== 'wasm') return;
        const added: EngineClient[] = [];
        while (this.clients.length < this.wasmWorkers) added.push(this.spawn());
        if (added.length) this.emit({ type: 'backend', status: { ...status, workers: this.clients.length } });
        for (const c of added) {
          for (const req of this.customs.values()) await c.addCustomModel(req);
          for (const w of this.wanted) await c.load(w);
        }
      })
      .catch((e: unknown) => {
        this.emit({ type: 'error', message: `the worker pool could not start: ${String(e)}` });
      });
  }

  private emit(e: PoolEvent): void {
    for (const l of this.listeners) l(e);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Worker indices, least busy first. */
  private byLoad(): number[] {
    return this.work
      .map((w, i) => [w, i])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .map(([, i]) => i);
  }

  /** Runs fn on worker i, counting `amount` of outstanding work against it meanwhile. */
  private async on<T>(i: number, amount: number, fn: (c: EngineClient) => Promise<T>): Promise<T> {
    this.work[i] += amount;
    try {
      return await fn(this.clients[i]);
    } finally {
      this.work[i] -= amount;
    }
  }

  /** One API request; a large batch is split across the workers. Always answers (see EngineClient.handle). */
  async handle(req: ApiRequest): Promise<ApiResponse> {
    await this.sized;
    const n = this.clients.length;
    if (n > 1 && String(req.method).toUpperCase() === 'POST') {
      const parts = splitBatchBody(req.body, n, MIN_PART);
      if (parts) {
        const order = this.byLoad();
        const answers = await Promise.all(
          parts.map((body, i) => this.on(order[i], body.length, (c) => c.handle({ ...req, body }))),
        );
        const merged = mergeBatchAnswers(answers);
        if (merged) return merged;
        // a part failed: one worker answers the whole batch, so that an error names the right item
      }
    }
    return this.on(this.byLoad()[0], req.body?.length ?? 1, (c) => c.handle(req));
  }

  /** Typed classification; a large one is split across the workers with the seeds of the whole. */
  async classify(req: ClassifyRequest): Promise<ClassifyResult> {
    await this.sized;
    const ranges = partition(req.inputs.length, this.clients.length, MIN_PART);
    if (ranges.length < 2) return this.on(this.byLoad()[0], req.inputs.length, (c) => c.classify(req));
    const base = req.seed ?? freshSeed();
    const seeds = itemSeedsOf(base, req.inputs.length, req.itemSeeds);
    const order = this.byLoad();
    const parts = await Promise.all(
      ranges.map(([a, b], i) =>
        this.on(order[i], b - a, (c) =>
          c.classify({ ...req, inputs: req.inputs.slice(a, b), seed: base, itemSeeds: seeds.slice(a, b) }),
        ),
      ),
    );
    return mergeClassifyResults(parts);
  }

  /** Raw logits, N×10; a large batch is split across the workers. */
  async infer(weights: string, inputs: Float32Array, n: number): Promise<Float32Array> {
    await this.sized;
    const ranges = partition(n, this.clients.length, MIN_PART);
    const order = this.byLoad();
    const parts = await Promise.all(
      ranges.map(([a, b], i) =>
        this.on(order[i], b - a, (c) => c.infer(weights, inputs.slice(a * 784, b * 784), b - a)),
      ),
    );
    if (parts.length === 1) return parts[0];
    const out = new Float32Array(n * 10);
    for (let i = 0; i < parts.length; i++) out.set(parts[i], ranges[i][0] * 10);
    return out;
  }

  /**
   * Runs an attack on the worker with the fewest attacks; with several workers its queries go
   * through this pool (split batches), so one attack uses every worker.
   */
  async runAttack(req: AttackRequest, onProgress?: (p: TrajectoryPoint) => void): Promise<AttackResponse> {
    await this.sized;
    const i = this.attacks.indexOf(Math.min(...this.attacks));
    this.attacks[i]++;
    try {
      const route = this.clients.length > 1 ? (q: ApiRequest) => this.handle(q) : undefined;
      return await this.clients[i].runAttack(req, onProgress, route);
    } finally {
      this.attacks[i]--;
    }
  }

  async abortAttack(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.abortAttack()));
  }

  /** Checks an uploaded model on the first worker (its refusal is the answer), then serves it on all. */
  async addCustomModel(req: AddCustomRequest): Promise<CustomModelEntry> {
    await this.sized;
    const [first, ...rest] = this.clients;
    const entry = await first.addCustomModel(req);
    for (const c of rest) await c.addCustomModel(req);
    this.customs.set(req.id, req);
    return entry;
  }

  async removeCustomModel(id: string): Promise<void> {
    await this.sized;
    this.customs.delete(id);
    this.wanted.delete(`custom/${id}`);
    await Promise.all(this.clients.map((c) => c.removeCustomModel(id)));
  }

  /** Loads on the first worker (the one download), then on the others from Cache Storage. */
  async load(weights: string): Promise<WeightStatus> {
    await this.sized;
    this.wanted.add(weights);
    const [first, ...rest] = this.clients;
    const status = await first.load(weights);
    await Promise.all(rest.map((c) => c.load(weights)));
    return status;
  }

  async release(weights: string): Promise<void> {
    await this.sized;
    this.wanted.delete(weights);
    await Promise.all(this.clients.map((c) => c.release(weights)));
  }

  status(): Promise<EngineState> {
    return this.clients[0].status();
  }

  /** WASM heap bytes of all workers together. */
  async memory(): Promise<{ wasmHeapBytes: number }> {
    await this.sized;
    const all = await Promise.all(this.clients.map((c) => c.memory()));
    return { wasmHeapBytes: all.reduce((s, m) => s + m.wasmHeapBytes, 0) };
  }

  ping(): Promise<number> {
    return this.clients[0].ping();
  }

  /** The first worker's backend once the pool has its workers (what `window.__playground.ready` waits for). */
  async backendStatus(): Promise<BackendStatus> {
    await this.sized;
    // the decision (made while sizing) is in the first worker's last backend event
    const first = this.clients[0];
    return { ...(first.lastBackendStatus ?? (await first.backendStatus())), workers: this.clients.length };
  }

  /** A new backend: the first worker restarts on it, and the pool is sized again. */
  setBackend(choice: BackendChoice): void {
    this.backendChoice = choice;
    for (const c of this.clients.splice(1)) c.dispose();
    this.work.splice(1);
    this.attacks.splice(1);
    this.clients[0].setBackend(choice);
    this.size();
  }

  dispose(): void {
    for (const c of this.clients) c.dispose();
  }

  /** Test hook: every worker dies as in a crash. */
  async crashForTest(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.crashForTest()));
  }

  /** Test hook: every worker hangs. */
  hangForTest(): void {
    for (const c of this.clients) c.hangForTest();
  }
}
