/**
 * The page's engine: a pool of inference workers (EngineClient each) behind the one EngineApi.
 *
 * On WASM, W workers of cores ÷ W ORT threads (W = min(cores, 4); 2 × 1 on 2 cores) replace one
 * worker of every thread: onnxruntime-web spreads one run over threads poorly, and independent
 * requests (the five-model comparison, several batches in flight, the runner's attacks) run side by
 * side. Measured on 2 cores (docs/benchmarks.md): batch-64 images/s +5–33 %, the comparison faster;
 * a lone small request slower (CNN 1.35 against 0.91 ms: its run gets one thread instead of two;
 * `?workers=1` restores that). WebGPU keeps one worker: one device queue.
 *
 * - A batch of at least 2·MIN_PART images is split across the idle workers, each item sent with
 *   the seed the router would have derived for it (src/core/batch-split.ts): the answer is the
 *   unsplit one, bit for bit, whatever worker answers each part. Anything else goes to the least
 *   busy worker.
 * - A weight file is downloaded once: the first worker fetches and verifies it under a Web Lock and
 *   leaves it in Cache Storage, where the others (and a restarted worker) find it; each still
 *   checks its sha256.
 * - Each worker keeps its own liveness, restart and retry (EngineClient); events of the first
 *   worker describe the pool, errors and restarts of any worker are passed on.
 * - Memory: every worker holds its own session of each loaded model (measured WASM heap with the
 *   models 0, 2 and 5: 140 MiB for 2 workers, 70 MiB for one).
 */
import type { TrajectoryPoint } from '../attacks/types';
import {
  imagesIn,
  itemSeedsOf,
  MIN_PART,
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

/** Most workers by default (more cost memory for little: the machine's memory bandwidth is shared). */
const MAX_DEFAULT_WORKERS = 4;

export interface EnginePoolOptions extends EngineClientOptions {
  /** Workers on WASM (default min(cores, 4)); `threads` is then per worker (default cores ÷ workers). */
  workers?: number;
  /** Threads of the first worker (default: `threads`). */
  firstThreads?: number;
}

export type PoolEvent = EngineEvent | { type: 'restart'; generation: number };
type Listener = (e: PoolEvent) => void;

/** A worker of the pool and what it has in hand. */
interface Member {
  client: EngineClient;
  /** images queued on it (API requests count their images, estimated from the body) */
  work: number;
  /** attacks running on it: a worker runs one at a time (a second would abort the first) */
  attacks: number;
}

export class EnginePool implements EngineApi {
  private members: Member[] = [];
  private listeners = new Set<Listener>();
  private wanted = new Set<string>();
  private customs = new Map<string, AddCustomRequest>();
  /** Attacks waiting for a worker without one. */
  private attackQueue: (() => void)[] = [];
  /** Resolves once the backend is decided and the pool has its workers. */
  private sized: Promise<void> = Promise.resolve();
  private restarts = 0;
  private readonly wasmWorkers: number;
  private readonly threads: number;
  /** Threads of the first worker: it answers the requests that arrive while the pool is idle. */
  private readonly firstThreads: number;
  backendChoice: BackendChoice;

  constructor(private readonly opts: EnginePoolOptions = {}) {
    const cores = Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1);
    this.wasmWorkers = Math.max(1, Math.floor(opts.workers ?? Math.min(cores, MAX_DEFAULT_WORKERS)));
    this.threads = opts.threads ?? Math.max(1, Math.floor(cores / this.wasmWorkers));
    this.firstThreads = opts.firstThreads ?? opts.threads ?? this.threads;
    this.backendChoice = opts.backend ?? 'auto';
    this.spawn(this.backendChoice);
    this.size();
  }

  private get clients(): EngineClient[] {
    return this.members.map((m) => m.client);
  }

  /** Workers now (1 on WebGPU, until the backend is decided, or with `workers: 1`). */
  get workers(): number {
    return this.members.length;
  }

  /** Worker restarts so far, any worker (grows by one per restart; tests poll it). */
  get generation(): number {
    return this.restarts;
  }

  get lastBackendStatus(): BackendStatus | null {
    const s = this.members[0].client.lastBackendStatus;
    return s && { ...s, workers: this.members.length };
  }

  private spawn(backend: BackendChoice): Member {
    const first = this.members.length === 0;
    const client = new EngineClient({
      ...this.opts,
      backend,
      threads: first ? this.firstThreads : this.threads,
    });
    client.subscribe((e) => {
      if (e.type === 'restart') {
        this.restarts++;
        this.emit({ type: 'restart', generation: this.restarts });
      } else if (first && e.type === 'backend') {
        this.emit({ ...e, status: { ...e.status, workers: this.members.length } });
      } else if (first || e.type === 'error') {
        // the first worker's events describe the pool; of the others only their errors
        this.emit(e);
      }
    });
    const m: Member = { client, work: 0, attacks: 0 };
    this.members.push(m);
    return m;
  }

  /**
   * Decides the backend on the first worker; on WASM, starts the others (on WASM too, so that every
   * part of a split batch runs on the same kernels) and gives them what is loaded and uploaded.
   */
  private size(): void {
    this.sized = this.members[0].client
      .decideBackend()
      .then(async (status) => {
        if (status.active !== 'wasm') return;
        const added: Member[] = [];
        while (this.members.length < this.wasmWorkers) added.push(this.spawn('wasm'));
        if (added.length) this.emit({ type: 'backend', status: { ...status, workers: this.members.length } });
        for (const { client } of added) {
          for (const req of this.customs.values()) await client.addCustomModel(req);
          for (const w of this.wanted) await client.load(w);
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

  /** Workers, least busy first. */
  private byLoad(): Member[] {
    return [...this.members].sort((a, b) => a.work - b.work);
  }

  /** Runs fn on a worker, counting `amount` of outstanding work against it meanwhile. */
  private async on<T>(m: Member, amount: number, fn: (c: EngineClient) => Promise<T>): Promise<T> {
    m.work += amount;
    try {
      return await fn(m.client);
    } finally {
      m.work -= amount;
    }
  }

  /**
   * One API request; always answers (see EngineClient.handle). A large batch is split across the
   * workers that are idle (with several requests in flight, whole requests on different workers
   * keep every core busy at less cost); anything else goes to the least busy worker.
   */
  async handle(req: ApiRequest): Promise<ApiResponse> {
    await this.sized;
    const idle = this.members.filter((m) => m.work === 0);
    if (idle.length > 1 && String(req.method).toUpperCase() === 'POST') {
      const parts = splitBatchBody(req.body, idle.length, MIN_PART);
      if (parts) {
        const answers = await Promise.all(
          parts.map((body, i) => this.on(idle[i], imagesIn(body), (c) => c.handle({ ...req, body }))),
        );
        const merged = mergeBatchAnswers(answers);
        if (merged) return merged;
        // a part failed: one worker answers the whole batch, so that an error names the right item
      }
    }
    return this.on(this.byLoad()[0], imagesIn(req.body), (c) => c.handle(req));
  }

  /** Typed classification; a large one is split across the workers with the seeds of the whole. */
  async classify(req: ClassifyRequest): Promise<ClassifyResult> {
    await this.sized;
    const ranges = partition(req.inputs.length, this.members.length, MIN_PART);
    const order = this.byLoad();
    if (ranges.length < 2) return this.on(order[0], req.inputs.length, (c) => c.classify(req));
    const base = req.seed ?? freshSeed();
    const seeds = itemSeedsOf(base, req.inputs.length, req.itemSeeds);
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
    const ranges = partition(n, this.members.length, MIN_PART);
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

  /** Takes a worker without an attack, waiting for one to finish when every worker has one. */
  private async attackSlot(): Promise<Member> {
    for (;;) {
      await this.sized;
      const free = this.members.find((m) => m.attacks === 0);
      if (free) {
        free.attacks++; // taken now: two attacks waking together must not pick the same worker
        return free;
      }
      await new Promise<void>((resolve) => this.attackQueue.push(resolve));
    }
  }

  /**
   * Runs an attack on a worker without one (more attacks than workers wait their turn); with
   * several workers its queries go through this pool, so its batches are split across them.
   */
  async runAttack(req: AttackRequest, onProgress?: (p: TrajectoryPoint) => void): Promise<AttackResponse> {
    const m = await this.attackSlot();
    try {
      const route = this.members.length > 1 ? (q: ApiRequest) => this.handle(q) : undefined;
      return await m.client.runAttack(req, onProgress, route);
    } finally {
      m.attacks--;
      this.attackQueue.shift()?.();
    }
  }

  /** Stops every running attack (each returns its best result so far). */
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
    return this.members[0].client.status();
  }

  /** WASM heap bytes of all workers together. */
  async memory(): Promise<{ wasmHeapBytes: number }> {
    await this.sized;
    const all = await Promise.all(this.clients.map((c) => c.memory()));
    return { wasmHeapBytes: all.reduce((s, m) => s + m.wasmHeapBytes, 0) };
  }

  ping(): Promise<number> {
    return this.members[0].client.ping();
  }

  /**
   * The first worker's backend once the pool has its workers and that worker has started (what
   * `window.__playground.ready` waits for, also after a restart).
   */
  async backendStatus(): Promise<BackendStatus> {
    await this.sized;
    const first = this.members[0].client;
    const started = await first.backendStatus();
    // the decision (made while sizing, or at a restarted worker's first load) comes as an event
    return { ...(first.lastBackendStatus ?? started), workers: this.members.length };
  }

  /** A new backend: the first worker restarts on it, and the pool is sized again. */
  setBackend(choice: BackendChoice): void {
    this.backendChoice = choice;
    for (const m of this.members.splice(1)) m.client.dispose();
    this.members[0].client.setBackend(choice);
    this.size();
    // attacks waiting for a removed worker look again
    for (const wake of this.attackQueue.splice(0)) wake();
  }

  dispose(): void {
    for (const c of this.clients) c.dispose();
  }

  /** Test hook: a crash of the first worker, or of every worker (`'all'`). */
  async crashForTest(which: 'first' | 'all' = 'first'): Promise<void> {
    const targets = which === 'all' ? this.clients : this.clients.slice(0, 1);
    await Promise.all(targets.map((c) => c.crashForTest()));
  }

  /** Test hook: every worker hangs. */
  hangForTest(): void {
    for (const c of this.clients) c.hangForTest();
  }
}
