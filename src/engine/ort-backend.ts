/**
 * The one module that owns onnxruntime-web (the transformers.js pattern): backend choice, session
 * creation with byte-level progress and sha256 verification, one queue for every ORT call, release.
 * It runs inside the inference worker; nothing else imports onnxruntime-web.
 */
import * as ort from 'onnxruntime-web';
import {
  type CustomModelEntry,
  type CustomModelSpec,
  checkCustomSession,
  fileRefusal,
  type OutputKind,
  probabilitiesToLogits,
  unreadableModelError,
} from '../core/custom-models';
import {
  type GradientEngine,
  type GradientResult,
  ModelUnavailableError,
  WhiteBoxUnavailableError,
} from '../core/engine';
import { ChecksumError, isError } from '../core/errors';
import { weightFileProblem } from '../core/models';
import { buildGradientModel, type GradientModel, whiteBoxRefusal } from '../gradients/build';
import { evaluateGradient } from '../gradients/evaluate';
import type { LossSpec } from '../gradients/losses';
import { GradientUnsupportedError } from '../gradients/onnx-graph';
import type {
  ActiveBackend,
  BackendChoice,
  BackendStatus,
  EngineEvent,
  Manifest,
  WeightStatus,
} from './types';

export interface OrtBackendOptions {
  /** URL of the folder holding `<weights>.onnx` and `manifest.json`. */
  modelsUrl: string;
  backend: BackendChoice;
  /** WASM threads; defaults to navigator.hardwareConcurrency (ORT's default is half the cores). */
  threads?: number;
  emit: (event: EngineEvent) => void;
}

interface Loaded {
  session: ort.InferenceSession;
  backend: ActiveBackend;
  /** the tensor names (the fifteen: input → logits; a custom model: whatever its file says) */
  inputName: string;
  outputName: string;
  /** most images one run takes (1 for a custom model whose file fixes the batch size at 1) */
  maxBatch: number;
  /** a custom model whose output is probabilities: turned into log-probabilities after each run */
  probabilities: boolean;
}

/** A model the user brought: its bytes (kept to reload the session after a release) and spec. */
interface CustomWeights {
  bytes: Uint8Array;
  entry: CustomModelEntry;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as unknown as BufferSource);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

type GpuAdapterLike = {
  info?: { isFallbackAdapter?: boolean; vendor?: string; architecture?: string; description?: string };
  isFallbackAdapter?: boolean;
};

/**
 * ORT's intra-op thread pool spins (busy-waits) between runs by default. On a 2-core machine that
 * spinning thread takes the core the page needs to parse and answer the request (measured: CNN fetch
 * p50 7.3 ms with spinning, 5.5 ms without, in the first requests after load; see README
 * "Benchmark"); without it the pool still parallelises the big models' convolutions.
 */
function sessionOptions(backend: string): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [backend],
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/** One ORT run of a large batch takes about this long (a chunk), so the worker answers messages between runs. */
const CHUNK_TARGET_MS = 400;
/** Most images in one ORT run (bounds the tensors of a 4096-image batch). */
const MAX_CHUNK = 64;

/** A weight download that receives nothing for this long is given up. */
const STALL_MS = 60_000;

/** Cache Storage bucket of verified weight files (see OrtBackend.verifiedBytes). */
const WEIGHT_CACHE = 'playground-weights-v1';

/** The weight cache, or null where Cache Storage is unavailable (then every load downloads). */
async function openWeightCache(): Promise<Cache | null> {
  try {
    return (await globalThis.caches?.open(WEIGHT_CACHE)) ?? null;
  } catch {
    return null;
  }
}

/** Resolves after the event loop has taken its next task (a MessageChannel message: no timer clamping). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

export class OrtBackend implements GradientEngine {
  private loaded = new Map<string, Loaded>();
  private loading = new Map<string, Promise<Loaded>>();
  private statuses = new Map<string, WeightStatus>();
  private manifest: Promise<Manifest | null> | null = null;
  private backendStatus: BackendStatus;
  private backendDecided: Promise<ActiveBackend> | null = null;
  private gpuLost = false;
  /**
   * Tail of the one queue every ORT call (create, run, release) goes through. Not just one per
   * session: ORT-web's WASM/JSEP build refuses a second `run` while another session's is still
   * pending ("Session already started"), which a reload racing a request after a worker restart
   * hit, and which WebGPU (truly async runs) would hit whenever two models are compared at once.
   */
  private ortTail: Promise<unknown> = Promise.resolve();
  /** Last measured run time per image, by weight set (sizes the chunks of large batches). */
  private perImageMs = new Map<string, number>();
  /** Uploaded models by weight-set ID (`custom/<id>`). */
  private custom = new Map<string, CustomWeights>();

  constructor(private opts: OrtBackendOptions) {
    const isolated = Boolean((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated);
    const threads = isolated ? Math.max(1, opts.threads ?? navigator.hardwareConcurrency ?? 1) : 1;
    // The thread count is fixed when the WASM module first initialises: set it before any session.
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false; // we are already in our own worker; ORT's proxy breaks WebGPU
    this.backendStatus = {
      requested: opts.backend,
      active: null,
      threads,
      crossOriginIsolated: isolated,
      adapter: null,
      note: isolated ? null : 'page is not cross-origin isolated: WASM runs single-threaded',
    };
  }

  /** ORT calls queued and not yet settled. */
  private queued = 0;

  /**
   * Runs `fn` after every ORT call queued before it has settled. A call that had to wait first
   * yields one macrotask: without it the queue drains in one microtask chain and the worker answers
   * no message (the page's liveness ping among them) until all queued work is done.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const waited = this.queued > 0;
    this.queued++;
    const job = this.ortTail.then(async () => {
      if (waited) await yieldToEventLoop();
      return fn();
    });
    this.ortTail = job.catch(() => {}).finally(() => this.queued--);
    return job;
  }

  status(): BackendStatus {
    return { ...this.backendStatus };
  }

  weightStatuses(): WeightStatus[] {
    return [...this.statuses.values()].map((s) => ({ ...s }));
  }

  /** WebGPU when an adapter that is not a fallback adapter exists (or when forced), else WASM. */
  decideBackend(): Promise<ActiveBackend> {
    if (!this.backendDecided) {
      this.backendDecided = (async (): Promise<ActiveBackend> => {
        const req = this.opts.backend;
        let active: ActiveBackend = 'wasm';
        let note: string | null = this.backendStatus.note;
        const gpu = (navigator as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
        if (req !== 'wasm') {
          if (!gpu) {
            note = 'WebGPU is not available in this browser';
          } else {
            const adapter = await gpu.requestAdapter().catch(() => null);
            if (!adapter) {
              note = 'no WebGPU adapter';
            } else {
              const fallback = Boolean(adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter);
              const info = adapter.info;
              this.backendStatus.adapter =
                [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') ||
                'unknown adapter';
              if (fallback) this.backendStatus.adapter += ' (fallback adapter)';
              if (fallback && req === 'auto') {
                note = 'WebGPU adapter is a CPU fallback (e.g. SwiftShader): using WASM';
              } else {
                (ort.env.webgpu as { adapter: unknown }).adapter = adapter;
                active = 'webgpu';
                note = fallback ? 'WebGPU forced on a fallback adapter: correct but slow' : null;
              }
            }
          }
        }
        this.backendStatus = { ...this.backendStatus, active, note };
        this.opts.emit({ type: 'backend', status: this.status() });
        return active;
      })();
    }
    return this.backendDecided;
  }

  private setStatus(weights: string, patch: Partial<WeightStatus>): void {
    const prev: WeightStatus = this.statuses.get(weights) ?? {
      weights,
      state: 'idle',
      loadedBytes: 0,
      totalBytes: 0,
      loadMs: null,
      lastRunMs: null,
      backend: null,
      error: null,
    };
    const next = { ...prev, ...patch };
    this.statuses.set(weights, next);
    this.opts.emit({ type: 'weights', status: { ...next } });
  }

  private getManifest(): Promise<Manifest | null> {
    if (!this.manifest) {
      this.manifest = fetch(`${this.opts.modelsUrl}manifest.json`)
        .then((r) => (r.ok ? (r.json() as Promise<Manifest>) : null))
        .catch(() => null);
    }
    return this.manifest;
  }

  private async fetchWithProgress(weights: string, url: string): Promise<Uint8Array> {
    // a download that stalls is given up, so it cannot hold the weight lock (and every worker) forever
    const stall = new AbortController();
    let timer = setTimeout(() => stall.abort(), STALL_MS);
    const alive = () => {
      clearTimeout(timer);
      timer = setTimeout(() => stall.abort(), STALL_MS);
    };
    try {
      return await this.download(weights, url, stall.signal, alive);
    } catch (e) {
      if (stall.signal.aborted)
        throw new Error(`${url}: no data for ${STALL_MS / 1000} s, download given up`);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private async download(
    weights: string,
    url: string,
    signal: AbortSignal,
    alive: () => void,
  ): Promise<Uint8Array> {
    const res = await fetch(url, { signal });
    if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
    const total = Number(res.headers.get('Content-Length') ?? 0);
    this.setStatus(weights, { totalBytes: total, loadedBytes: 0 });
    if (!res.body) return new Uint8Array(await res.arrayBuffer());
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    let lastEmit = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      alive();
      chunks.push(value);
      loaded += value.byteLength;
      if (loaded - lastEmit > 256 * 1024) {
        lastEmit = loaded;
        this.setStatus(weights, { loadedBytes: loaded });
      }
    }
    const out = new Uint8Array(loaded);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.byteLength;
    }
    this.setStatus(weights, { loadedBytes: loaded, totalBytes: Math.max(total, loaded) });
    return out;
  }

  /**
   * The weight file's bytes, checked against the manifest (size and sha256). Kept in Cache Storage
   * (WEIGHT_CACHE) and fetched under a Web Lock, so the pool's other workers and a restarted worker
   * do not download it again; a cached copy that fails the check is dropped and downloaded once more.
   * @throws Error naming the file and what did not match
   */
  private async verifiedBytes(
    weights: string,
    url: string,
    entry: { file: string; bytes: number; sha256: string },
  ): Promise<Uint8Array> {
    // one download for all workers: the others wait for the first and then find the file cached
    const locks = (globalThis.navigator as { locks?: LockManager } | undefined)?.locks;
    if (!locks) return this.cachedOrFetched(weights, url, entry);
    return locks.request(`weights ${url}`, () => this.cachedOrFetched(weights, url, entry));
  }

  private async cachedOrFetched(
    weights: string,
    url: string,
    entry: { file: string; bytes: number; sha256: string },
  ): Promise<Uint8Array> {
    const cache = await openWeightCache();
    const check = async (bytes: Uint8Array) =>
      weightFileProblem(entry.file, bytes.byteLength, await sha256Hex(bytes), entry);
    const hit = await cache?.match(url).catch(() => undefined);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer().catch(() => new ArrayBuffer(0)));
      if ((await check(bytes)) === null) {
        this.setStatus(weights, { loadedBytes: bytes.byteLength, totalBytes: bytes.byteLength });
        return bytes;
      }
      await cache?.delete(url).catch(() => false);
    }
    const bytes = await this.fetchWithProgress(weights, url);
    const problem = await check(bytes);
    if (problem) throw new ChecksumError(problem);
    await cache?.put(url, new Response(bytes as unknown as BodyInit)).catch(() => {});
    return bytes;
  }

  /** Loads (once) the session for a weight set; concurrent callers share the same promise. */
  load(weights: string): Promise<Loaded> {
    const have = this.loaded.get(weights);
    if (have) return Promise.resolve(have);
    let p = this.loading.get(weights);
    if (!p) {
      p = this.createSession(weights).finally(() => this.loading.delete(weights));
      this.loading.set(weights, p);
    }
    return p;
  }

  private async createSession(weights: string): Promise<Loaded> {
    const t0 = performance.now();
    this.setStatus(weights, { state: 'loading', error: null, errorKind: undefined });
    try {
      const custom = this.custom.get(weights);
      let loaded: Loaded;
      if (custom) {
        const { session, backend } = await this.openSession(
          weights,
          custom.bytes,
          custom.entry.spec.inputName,
        );
        loaded = this.customLoaded(session, backend, custom.entry.spec);
      } else {
        const manifest = await this.getManifest();
        const entry = manifest?.weights?.[weights];
        if (!manifest) throw new Error('models/manifest.json is missing or unreadable');
        if (!entry) throw new Error(`the manifest lists no weight file for '${weights}'`);
        const bytes = await this.verifiedBytes(weights, `${this.opts.modelsUrl}${entry.file}`, entry);
        const { session, backend } = await this.openSession(weights, bytes, 'input');
        loaded = {
          session,
          backend,
          inputName: 'input',
          outputName: 'logits',
          maxBatch: MAX_CHUNK,
          probabilities: false,
        };
      }
      this.loaded.set(weights, loaded);
      this.setStatus(weights, { state: 'ready', loadMs: performance.now() - t0, backend: loaded.backend });
      return loaded;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const errorKind = isError(err, ChecksumError) ? 'checksum' : 'unavailable';
      this.setStatus(weights, { state: 'error', error: reason, errorKind });
      throw new ModelUnavailableError(weights, reason);
    }
  }

  private customLoaded(session: ort.InferenceSession, backend: ActiveBackend, spec: CustomModelSpec): Loaded {
    return {
      session,
      backend,
      inputName: spec.inputName,
      outputName: spec.outputName,
      maxBatch: spec.batch === 1 ? 1 : MAX_CHUNK,
      probabilities: spec.outputs === 'probabilities',
    };
  }

  /**
   * Creates a session on the chosen backend (WebGPU warmed up with one run), falling back to WASM
   * when WebGPU cannot take the model. Queued with every other ORT call.
   */
  private async openSession(
    weights: string,
    bytes: Uint8Array,
    inputName: string,
  ): Promise<{ session: ort.InferenceSession; backend: ActiveBackend }> {
    const decided: ActiveBackend = this.gpuLost ? 'wasm' : await this.decideBackend();
    return this.exclusive(async () => {
      try {
        const session = await ort.InferenceSession.create(bytes, sessionOptions(decided));
        if (decided === 'webgpu') {
          // the first WebGPU run compiles shaders: pay that now, not on the user's first query
          await session.run({
            [inputName]: new ort.Tensor('float32', new Float32Array(784), [1, 1, 28, 28]),
          });
          this.watchGpuDevice();
        }
        return { session, backend: decided };
      } catch (err) {
        if (decided !== 'webgpu') throw err;
        this.opts.emit({
          type: 'error',
          kind: 'webgpu-fallback',
          weights,
          message: `WebGPU session for ${weights} failed (${String(err)}); using WASM`,
        });
        const session = await ort.InferenceSession.create(bytes, sessionOptions('wasm'));
        return { session, backend: 'wasm' as ActiveBackend };
      }
    });
  }

  /**
   * Checks an uploaded model and, when it passes, serves it as weight set `weights`
   * (`custom/<id>`): onnxruntime must read the file; its metadata must match EXPECTED_MODEL
   * (src/core/custom-models.ts); a test run on one blank image (and, with a dynamic batch, on a
   * batch of two) must give N×10 finite values. Rejects with an Error whose message names the file
   * and what was found; nothing is kept then. Registering the same weight-set ID again replaces it.
   */
  async addCustom(
    weights: string,
    id: string,
    fileName: string,
    bytes: Uint8Array,
    outputs: OutputKind,
  ): Promise<CustomModelEntry> {
    const t0 = performance.now();
    const refused = fileRefusal(fileName, bytes);
    if (refused) throw refused;
    const sha256 = await sha256Hex(bytes);
    let opened: { session: ort.InferenceSession; backend: ActiveBackend };
    try {
      // WASM for the checks: a file WebGPU cannot take must still be judged on its own merits
      opened = await this.exclusive(async () => ({
        session: await ort.InferenceSession.create(bytes, sessionOptions('wasm')),
        backend: 'wasm' as ActiveBackend,
      }));
    } catch (err) {
      throw unreadableModelError(fileName, err);
    }
    const { session } = opened;
    let spec: CustomModelSpec;
    try {
      spec = await checkCustomSession(fileName, session, outputs, async (sp, input, n) => {
        const res = await this.exclusive(() =>
          session.run({ [sp.inputName]: new ort.Tensor('float32', input, [n, 1, 28, 28]) }),
        );
        const out = res[sp.outputName];
        return { data: new Float32Array(out.data as Float32Array), dims: out.dims };
      });
    } catch (err) {
      await this.exclusive(() => session.release()).catch(() => {});
      throw err;
    }
    await this.release(weights);
    const whiteBox = whiteBoxRefusal(bytes, spec.batch);
    const entry: CustomModelEntry = { id, fileName, sha256, bytes: bytes.byteLength, spec, whiteBox };
    this.custom.set(weights, { bytes, entry });
    this.perImageMs.delete(weights);
    this.loaded.set(weights, this.customLoaded(session, 'wasm', spec));
    this.setStatus(weights, {
      state: 'ready',
      error: null,
      loadedBytes: bytes.byteLength,
      totalBytes: bytes.byteLength,
      loadMs: performance.now() - t0,
      backend: 'wasm',
    });
    return entry;
  }

  /** Stops serving an uploaded model at once (no request can rebuild its session), then frees its session and bytes. */
  async removeCustom(weights: string): Promise<void> {
    this.custom.delete(weights);
    await this.release(weights);
    this.statuses.delete(weights);
    this.perImageMs.delete(weights);
  }

  customEntries(): CustomModelEntry[] {
    return [...this.custom.values()].map((c) => c.entry);
  }

  private watchedDevice = false;
  private watchGpuDevice(): void {
    if (this.watchedDevice) return;
    this.watchedDevice = true;
    Promise.resolve(ort.env.webgpu.device)
      .then((device) => (device as { lost?: Promise<{ message: string }> } | undefined)?.lost)
      .then((info) => {
        if (!info) return;
        this.gpuLost = true;
        this.backendStatus = {
          ...this.backendStatus,
          active: 'wasm',
          note: `WebGPU device lost (${info.message}); fell back to WASM`,
        };
        this.opts.emit({ type: 'backend', status: this.status() });
        this.opts.emit({
          type: 'error',
          kind: 'webgpu-device-lost',
          message: `WebGPU device lost: ${info.message}. Models reload on WASM.`,
        });
        const gpuWeights = [...this.loaded].filter(([, l]) => l.backend === 'webgpu').map(([w]) => w);
        for (const w of gpuWeights) void this.release(w).then(() => this.load(w));
      })
      .catch(() => {});
  }

  /**
   * Logits [n, 10] of n images. A large batch runs in chunks sized to about CHUNK_TARGET_MS each
   * (at most MAX_CHUNK images), each its own queued ORT call: the worker stays responsive between
   * them (pings, other requests), and the input and output tensors of one run stay bounded.
   */
  async infer(weights: string, inputs: Float32Array, n: number): Promise<Float32Array> {
    if (inputs.length !== n * 784) throw new Error(`expected ${n}×784 input values, got ${inputs.length}`);
    await this.load(weights);
    const out = new Float32Array(n * 10);
    for (let start = 0; start < n; ) {
      const perImage = this.perImageMs.get(weights);
      const cap = this.loaded.get(weights)?.maxBatch ?? MAX_CHUNK;
      const size = Math.min(
        n - start,
        cap,
        perImage === undefined
          ? Math.min(8, MAX_CHUNK)
          : Math.max(1, Math.min(MAX_CHUNK, Math.floor(CHUNK_TARGET_MS / Math.max(perImage, 1e-3)))),
      );
      const part = inputs.subarray(start * 784, (start + size) * 784);
      // the session can be released between two chunks (a device loss, a deselected model): each
      // chunk takes the current one, and loads it again (outside the queue) when it is gone
      let logits: Float32Array | null = null;
      for (let attempt = 0; logits === null; attempt++) {
        const current = this.loaded.get(weights) ?? (await this.load(weights));
        logits = await this.exclusive(async () => {
          if (this.loaded.get(weights) !== current) {
            if (attempt >= 2) throw new Error(`"${weights}" was released while a batch was running`);
            return null;
          }
          const t0 = performance.now();
          const res = await current.session.run({
            [current.inputName]: new ort.Tensor('float32', part, [size, 1, 28, 28]),
          });
          const output = res[current.outputName];
          const data = new Float32Array(output.data as Float32Array);
          output.dispose?.();
          if (data.length !== size * 10) {
            throw new Error(
              `"${weights}" returned ${data.length} values for ${size} images, expected ${size * 10}`,
            );
          }
          if (current.probabilities) probabilitiesToLogits(data);
          const ms = performance.now() - t0;
          this.perImageMs.set(weights, ms / size);
          this.statuses.set(weights, { ...this.statuses.get(weights)!, lastRunMs: ms });
          return data;
        });
      }
      out.set(logits, start * 10);
      start += size;
    }
    return out;
  }

  /** Gradient sessions (src/gradients/build.ts), built on first white-box use of a weight set. */
  private gradients = new Map<
    string,
    Promise<{ session: ort.InferenceSession; model: Omit<GradientModel, 'bytes'> }>
  >();

  /** The bytes a weight set's session was made from: the upload, or the verified (cached) file. */
  private async weightBytes(weights: string): Promise<Uint8Array> {
    const custom = this.custom.get(weights);
    if (custom) return custom.bytes;
    const entry = (await this.getManifest())?.weights?.[weights];
    if (!entry)
      throw new ModelUnavailableError(weights, `the manifest lists no weight file for '${weights}'`);
    return this.verifiedBytes(weights, `${this.opts.modelsUrl}${entry.file}`, entry);
  }

  private gradientSession(weights: string, forward: Loaded) {
    let p = this.gradients.get(weights);
    if (!p) {
      p = (async () => {
        let built: GradientModel;
        try {
          const shape = [forward.maxBatch === 1 ? 1 : null, 1, 28, 28];
          built = buildGradientModel(await this.weightBytes(weights), { inputShape: shape });
        } catch (e) {
          if (e instanceof GradientUnsupportedError)
            throw new WhiteBoxUnavailableError(weights, e.message, e.ops);
          throw e;
        }
        const { bytes, ...model } = built;
        const backend = forward.backend;
        const session = await this.exclusive(() =>
          ort.InferenceSession.create(bytes, sessionOptions(backend)),
        );
        return { session, model };
      })();
      this.gradients.set(weights, p);
      // a refusal stays (the bytes cannot change under this ID); anything else is tried again
      p.catch((e: unknown) => {
        if (!(e instanceof WhiteBoxUnavailableError) && this.gradients.get(weights) === p)
          this.gradients.delete(weights);
      });
    }
    return p;
  }

  /** Losses, logits and input gradients (GradientEngine): a forward run, then the gradient graph. */
  async gradient(
    weights: string,
    inputs: Float32Array,
    n: number,
    specs: readonly LossSpec[],
  ): Promise<GradientResult> {
    const forward = await this.load(weights);
    const g = await this.gradientSession(weights, forward);
    const run = async (session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, output: string) =>
      this.exclusive(async () => {
        const res = await session.run(feeds);
        const data = new Float32Array(res[output].data as Float32Array);
        for (const t of Object.values(res)) t.dispose?.();
        return data;
      });
    const image = (x: Float32Array, m: number) => new ort.Tensor('float32', x, [m, 1, 28, 28]);
    return evaluateGradient(
      {
        forward: (x, m) => run(forward.session, { [forward.inputName]: image(x, m) }, forward.outputName),
        backward: (x, m, cot) =>
          run(
            g.session,
            { [g.model.input]: image(x, m), [g.model.gradLogits]: new ort.Tensor('float32', cot, [m, 10]) },
            g.model.gradInput,
          ),
      },
      { probabilities: forward.probabilities, maxBatch: forward.maxBatch },
      inputs,
      n,
      specs,
    );
  }

  async release(weights: string): Promise<void> {
    const g = this.gradients.get(weights);
    this.gradients.delete(weights);
    g?.then((x) => this.exclusive(() => x.session.release())).catch(() => {});
    const l = this.loaded.get(weights);
    if (!l) return;
    this.loaded.delete(weights);
    await this.exclusive(() => l.session.release());
    this.setStatus(weights, { state: 'idle', loadedBytes: 0, backend: null, lastRunMs: null });
  }

  loadedWeights(): string[] {
    return [...this.loaded.keys()];
  }
}
