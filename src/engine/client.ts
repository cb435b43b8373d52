/**
 * Page-side handle on the inference worker (the web-llm pattern): the worker's EngineApi
 * (src/engine/messages.ts), plus
 * load-progress events and recovery — if the worker dies, a new one starts and reloads what was loaded.
 */
import * as Comlink from 'comlink';
import type { TrajectoryPoint } from '../attacks/types';
import { errorBody } from '../core/api';
import type { CustomModelEntry } from '../core/custom-models';
import { ownErrorKind, WorkerDiedError } from '../core/errors';
import type {
  AddCustomRequest,
  ApiRequest,
  ApiResponse,
  AttackRequest,
  AttackResponse,
  ClassifyRequest,
  EngineApi,
  WorkerApi,
} from './messages';
import type { BackendChoice, BackendStatus, EngineEvent, WeightStatus } from './types';

export interface EngineClientOptions {
  modelsUrl?: string;
  backend?: BackendChoice;
  threads?: number;
  /** A worker that has not answered a ping for this long is considered dead (idle; default 10 s). */
  heartbeatMs?: number;
  /** The same while calls are in flight (default 60 s: a model load or a first WebGPU run blocks). */
  busyHeartbeatMs?: number;
}

type Listener = (e: EngineEvent | { type: 'restart'; generation: number }) => void;

/** Initialising a worker (the WASM module, the backend choice) takes seconds; a minute means it is stuck. */
const INIT_DEADLINE_MS = 60_000;

export class EngineClient implements EngineApi {
  private worker!: Worker;
  private remote!: Comlink.Remote<WorkerApi>;
  private ready!: Promise<BackendStatus>;
  private listeners = new Set<Listener>();
  private wanted = new Set<string>();
  /** Uploaded models the worker serves: registered again on a restarted worker before any call. */
  private customs = new Map<string, AddCustomRequest>();
  private inFlight = new Set<(err: Error) => void>();
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private lastPong = Date.now();
  private pingOutstanding = false;
  /** Tail of the retries after a worker restart (they run one at a time). */
  private retryTail: Promise<unknown> = Promise.resolve();
  /** Resolves when the current worker is replaced (then a new one is made). */
  private restarted!: Promise<void>;
  private signalRestart: () => void = () => {};
  generation = 0;
  private disposed = false;
  backendChoice: BackendChoice;
  lastBackendStatus: BackendStatus | null = null;

  constructor(private opts: EngineClientOptions = {}) {
    this.backendChoice = opts.backend ?? 'auto';
    this.start();
  }

  private start(): void {
    this.generation++;
    this.restarted = new Promise<void>((resolve) => {
      this.signalRestart = resolve;
    });
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'inference' });
    this.worker.addEventListener('error', (e) => {
      this.emit({
        type: 'error',
        kind: 'worker-restart',
        message: `inference worker error: ${e.message || 'unknown'}`,
      });
      this.recover();
    });
    this.remote = Comlink.wrap<WorkerApi>(this.worker);
    const modelsUrl = this.opts.modelsUrl ?? new URL('models/', document.baseURI).href;
    const remote = this.remote;
    const initialised = remote.init(
      { modelsUrl, backend: this.backendChoice, threads: this.opts.threads },
      Comlink.proxy((e: EngineEvent) => this.emit(e)),
    );
    this.ready = initialised.then(async (status) => {
      // a restarted worker serves the uploaded models again before it answers anything else
      for (const req of this.customs.values()) {
        await remote.addCustomModel(req).catch((err: unknown) => {
          // not served by this worker: do not try it again on the next restart either
          this.customs.delete(req.id);
          this.emit({
            type: 'error',
            kind: 'custom-model',
            message: `uploaded model ${req.fileName} could not be served again: ${err instanceof Error ? err.message : String(err)}`,
          });
        });
      }
      return status;
    });
    // a worker that dies or hangs while it initialises fires no event and answers no ping: give it
    // INIT_DEADLINE_MS, then restart it, so that queued calls do not wait forever
    const gen = this.generation;
    const deadline = setTimeout(() => {
      if (gen !== this.generation) return;
      this.emit({
        type: 'error',
        kind: 'worker-restart',
        message: `inference worker did not start within ${INIT_DEADLINE_MS / 1000} s; restarting it`,
      });
      this.recover();
    }, INIT_DEADLINE_MS);
    // the deadline covers the worker's own start; serving uploaded models again afterwards may
    // take long for large files and is not a hang
    initialised.then(
      () => clearTimeout(deadline),
      () => {},
    );
    this.ready.then(
      (s) => {
        clearTimeout(deadline);
        this.lastBackendStatus = s;
      },
      (e) => {
        clearTimeout(deadline);
        this.emit({ type: 'error', message: `inference worker failed to start: ${String(e)}` });
      },
    );
    // reload what the previous worker had loaded
    for (const w of this.wanted) this.call((r) => r.load(w)).catch(() => {});
    this.lastPong = Date.now();
    this.startHeartbeat();
  }

  /**
   * A worker that stops answering pings is dead (a crash, a hang or an out-of-memory kill fires no
   * event). The worker answers pings between ORT runs however much work is queued (large batches
   * run in chunks of ~0.4 s and the queue yields between them), so the silence measures a stuck
   * run, not the queue. A single run can still block for long (a model load, a first WebGPU run),
   * so while calls are in flight a longer silence is tolerated; the clock starts only once the
   * worker has initialised.
   */
  private startHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    const idleLimit = this.opts.heartbeatMs ?? 10_000;
    const busyLimit = this.opts.busyHeartbeatMs ?? Math.max(idleLimit, 60_000);
    const gen = this.generation;
    this.ready.then(
      () => {
        if (gen !== this.generation) return;
        this.lastPong = Date.now();
        this.heartbeat = setInterval(() => {
          const limit = this.inFlight.size > 0 ? busyLimit : idleLimit;
          if (Date.now() - this.lastPong > limit) {
            this.emit({
              type: 'error',
              kind: 'worker-restart',
              message: `inference worker did not answer for ${limit / 1000} s; restarting it`,
            });
            this.recover();
            return;
          }
          if (this.pingOutstanding) return;
          this.pingOutstanding = true;
          this.remote
            .ping()
            .then(() => {
              if (gen === this.generation) this.lastPong = Date.now();
            })
            .finally(() => {
              if (gen === this.generation) this.pingOutstanding = false;
            });
        }, 1000);
      },
      () => {},
    );
  }

  private recover(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.worker.terminate();
    for (const reject of this.inFlight) reject(new WorkerDiedError());
    this.inFlight.clear();
    this.pingOutstanding = false;
    this.signalRestart();
    this.start();
    this.emit({ type: 'restart', generation: this.generation });
  }

  private emit(e: Parameters<Listener>[0]): void {
    if (e.type === 'backend') this.lastBackendStatus = e.status;
    for (const l of this.listeners) l(e);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /**
   * Waits for the current worker's initialisation. A worker replaced while we wait (it hung or died
   * during start-up) is not waited on forever: the wait moves on to its replacement.
   */
  private async currentReady(): Promise<void> {
    for (;;) {
      if (this.disposed) throw new Error('the engine was disposed');
      const ready = this.ready;
      const replaced = await Promise.race([ready.then(() => false), this.restarted.then(() => true)]);
      if (!replaced && ready === this.ready) return;
    }
  }

  /** Runs a worker call; rejects with WorkerDiedError if the worker dies meanwhile. */
  private async call<T>(fn: (r: Comlink.Remote<WorkerApi>) => Promise<T>): Promise<T> {
    await this.currentReady();
    return new Promise<T>((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      this.inFlight.add(fail);
      fn(this.remote).then(
        (v) => {
          this.inFlight.delete(fail);
          resolve(v);
        },
        (err) => {
          this.inFlight.delete(fail);
          reject(err);
        },
      );
    });
  }

  /**
   * Retries once on a fresh worker (API requests are idempotent). Retries run one after another:
   * replaying every call that was in flight at once would recreate the load that may have killed
   * the worker.
   */
  private async callWithRetry<T>(fn: (r: Comlink.Remote<WorkerApi>) => Promise<T>): Promise<T> {
    try {
      return await this.call(fn);
    } catch (err) {
      if (!(err instanceof WorkerDiedError)) throw err;
      const retry = this.retryTail.then(() => this.call(fn));
      this.retryTail = retry.catch(() => {});
      return retry;
    }
  }

  /**
   * One API request. Always resolves to a response: when the worker died and the one retry on a
   * fresh worker failed too, a JSON 503 that says so.
   */
  async handle(req: ApiRequest): Promise<ApiResponse> {
    try {
      return (await this.callWithRetry((r) => r.handle(req))) as ApiResponse;
    } catch (err) {
      const died = err instanceof WorkerDiedError;
      const why = died ? `${err.message}, and the retry failed too` : String(err);
      return {
        status: 503,
        headers: { 'Content-Type': 'application/json' },
        body: errorBody(`the in-page inference worker could not answer: ${why}`, ownErrorKind(err)),
      };
    }
  }

  classify(req: ClassifyRequest) {
    return this.callWithRetry((r) => r.classify(req));
  }

  infer(weights: string, inputs: Float32Array, n: number): Promise<Float32Array> {
    return this.callWithRetry((r) => r.infer(weights, inputs, n));
  }

  /**
   * Runs an attack in the worker; `onProgress` receives trajectory points (throttled); with
   * `route`, the attack's queries are answered there (the pool's handle) instead of in this worker.
   */
  runAttack(
    req: AttackRequest,
    onProgress?: (p: TrajectoryPoint) => void,
    route?: (req: ApiRequest) => Promise<ApiResponse>,
  ): Promise<AttackResponse> {
    return this.call((r) =>
      r.runAttack(
        req,
        onProgress ? Comlink.proxy(onProgress) : undefined,
        route ? Comlink.proxy(route) : undefined,
      ),
    ) as Promise<AttackResponse>;
  }

  /** Decides WebGPU or WASM now; the worker's backend status after the decision. */
  decideBackend(): Promise<BackendStatus> {
    return this.callWithRetry((r) => r.decideBackend());
  }

  abortAttack(): Promise<void> {
    return this.call((r) => r.abortAttack());
  }

  /**
   * Checks an uploaded ONNX model in the worker and serves it under /custom/<id>/…; rejects with
   * the refusal (naming the file and what was found). The bytes are copied, not transferred.
   */
  async addCustomModel(req: AddCustomRequest): Promise<CustomModelEntry> {
    const entry = await this.call((r) => r.addCustomModel(req));
    this.customs.set(req.id, req);
    return entry;
  }

  async removeCustomModel(id: string): Promise<void> {
    this.customs.delete(id);
    this.wanted.delete(`custom/${id}`);
    await this.call((r) => r.removeCustomModel(id));
  }

  async load(weights: string): Promise<WeightStatus> {
    this.wanted.add(weights);
    return this.callWithRetry((r) => r.load(weights));
  }

  async release(weights: string): Promise<void> {
    this.wanted.delete(weights);
    return this.call((r) => r.release(weights));
  }

  status() {
    return this.call((r) => r.status());
  }

  memory() {
    return this.call((r) => r.memory());
  }

  /** A no-op round trip to the worker (the message-passing floor of every call; used by the benchmark). */
  ping(): Promise<number> {
    return this.call((r) => r.ping());
  }

  backendStatus(): Promise<BackendStatus> {
    return this.ready;
  }

  /** Backend and thread count are fixed when ORT initialises, so switching starts a new worker. */
  setBackend(choice: BackendChoice): void {
    this.backendChoice = choice;
    this.recover();
  }

  /** Stops the worker for good (a benchmark's extra engines); later calls never resolve. */
  dispose(): void {
    this.disposed = true;
    this.signalRestart(); // calls waiting for this worker to start fail instead of waiting forever
    this.generation++;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.worker.terminate();
    for (const reject of this.inFlight) reject(new Error('the engine was disposed'));
    this.inFlight.clear();
  }

  /** Test hook: kill the worker as a crash would. */
  async crashForTest(): Promise<void> {
    await this.call((r) => r.crashForTest());
  }

  /** Test hook: make the worker hang (a busy loop that never yields); the heartbeat must notice. */
  hangForTest(): void {
    void this.call((r) => r.hangForTest()).catch(() => {});
  }
}
