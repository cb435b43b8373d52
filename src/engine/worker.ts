/// <reference lib="webworker" />
/**
 * The inference worker: onnxruntime-web (via OrtBackend) plus the pure router, so one API request
 * (or one batch) costs one message round trip. Exposed to the page with comlink.
 */

import * as Comlink from 'comlink';
import {
  ATTACKS,
  type AttackName,
  type AttackResult,
  createHttpOracle,
  createRouterOracle,
  runAttack,
  withEOT,
} from '../attacks';
import type { TrajectoryPoint } from '../attacks/types';
import {
  type CustomModelEntry,
  customModelInfos,
  customWeightsId,
  isCustomId,
  MAX_CUSTOM_MODEL_BYTES,
  ModelRefusedError,
  type OutputKind,
} from '../core/custom-models';
import { getModel, MODELS, type ModelInfo, type PreprocessorSpec } from '../core/models';
import { classifyInputs, createRouter } from '../core/router';
import { OrtBackend } from './ort-backend';
import type { BackendChoice, EngineEvent } from './types';
import { wasmHeapBytes } from './wasm-memory-probe';

export interface WorkerInit {
  modelsUrl: string;
  backend: BackendChoice;
  threads?: number;
}

import type { ApiRequest } from '../core/api';

export type { ApiRequest };

export interface ClassifyRequest {
  model: string | { weights: string; preprocessor: PreprocessorSpec | null };
  inputs: Float32Array[];
  seed?: number;
}

export interface AttackRequest {
  /** 'noise' is accepted as an alias of the random-noise baseline 'random'. */
  attack: AttackName | 'noise';
  /** The attack's own parameters (norm, eps, maxQueries, target, …); see src/attacks. */
  params: Record<string, unknown>;
  model: string;
  x: Float32Array;
  label: number;
  seed: number;
  /** Answer each query by k repeated queries (majority vote / mean scores); k queries are charged. */
  eot?: number;
  /** Fresh draws used to report a randomized defense's success rate on the final image (default 100). */
  eotDraws?: number;
  /**
   * Attack this HTTP service (same contract, CORS headers) instead of the page's own models, e.g.
   * `npm run serve` or the thesis' Flask service: every query is a POST from this worker.
   */
  endpoint?: string;
}

export interface AttackResponse extends AttackResult {
  /** For randomized defenses: share of `eotDraws` fresh draws that misclassify the adversarial image. */
  eotSuccessRate?: number;
  eotDraws?: number;
}

/** An uploaded model to check and serve (see OrtBackend.addCustom). */
export interface AddCustomRequest {
  /** the URL-safe ID the page chose (customModelId): routes /custom/<id>/… */
  id: string;
  fileName: string;
  bytes: Uint8Array;
  outputs: OutputKind;
}

let backend: OrtBackend | null = null;
/** The fifteen plus the uploaded models and their defended variants (what the router serves). */
let served: readonly ModelInfo[] = MODELS;

function refreshServed(): void {
  served = [...MODELS, ...(backend?.customEntries() ?? []).flatMap(customModelInfos)];
}

/** One of the fifteen or an uploaded model (or one of its variants). */
function findModel(id: string): ModelInfo | undefined {
  return getModel(id) ?? served.find((m) => m.id === id);
}
let currentAttack: AbortController | null = null;
let router: ReturnType<typeof createRouter> | null = null;
let listener: ((e: EngineEvent) => void) | null = null;

function requireBackend(): OrtBackend {
  if (!backend) throw new Error('inference worker not initialised: call init() first');
  return backend;
}

const api = {
  init(opts: WorkerInit, onEvent?: (e: EngineEvent) => void) {
    listener = onEvent ?? null;
    backend = new OrtBackend({ ...opts, emit: (e) => listener?.(e) });
    served = MODELS;
    router = createRouter(backend, { models: () => served });
    return backend.status();
  },
  status() {
    return { backend: requireBackend().status(), weights: requireBackend().weightStatuses() };
  },
  async load(weights: string) {
    await requireBackend().load(weights);
    return requireBackend()
      .weightStatuses()
      .find((w) => w.weights === weights)!;
  },
  async release(weights: string) {
    await requireBackend().release(weights);
  },
  loadedWeights() {
    return requireBackend().loadedWeights();
  },
  /**
   * Checks an uploaded ONNX file and serves it under /custom/<id>/… (and its defended variants).
   * Rejects with a message naming the file and what is wrong; a refused file is not kept.
   */
  async addCustomModel(req: AddCustomRequest): Promise<CustomModelEntry> {
    if (!isCustomId(req.id)) throw new Error(`"${req.id}" is not a valid model ID (a–z, 0–9 and -)`);
    if (!(req.bytes instanceof Uint8Array) || req.bytes.byteLength === 0) {
      throw new ModelRefusedError(`"${req.fileName}" was refused: the file is empty.`);
    }
    if (req.bytes.byteLength > MAX_CUSTOM_MODEL_BYTES) {
      throw new ModelRefusedError(
        `"${req.fileName}" was refused: ${(req.bytes.byteLength / 2 ** 20).toFixed(1)} MiB is over the ${MAX_CUSTOM_MODEL_BYTES / 2 ** 20} MiB limit.`,
      );
    }
    const entry = await requireBackend().addCustom(
      customWeightsId(req.id),
      req.id,
      req.fileName,
      req.bytes,
      req.outputs,
    );
    refreshServed();
    return entry;
  },
  async removeCustomModel(id: string) {
    await requireBackend().removeCustom(customWeightsId(id));
    refreshServed();
  },
  /** One API request through the same router the Flask-compatible contract is defined by. */
  async handle(req: ApiRequest) {
    if (!router) throw new Error('inference worker not initialised: call init() first');
    return router.handle(req);
  },
  /** Typed classification for the UI and attacks (no base64 round trip). */
  async classify(req: ClassifyRequest) {
    const model = typeof req.model === 'string' ? findModel(req.model) : req.model;
    if (!model) throw new Error(`unknown model '${String(req.model)}'`);
    const result = await classifyInputs(requireBackend(), model, req.inputs, req.seed);
    return Comlink.transfer(result, []);
  },
  /** Raw logits for a batch (attacks, experiments). */
  async infer(weights: string, inputs: Float32Array, n: number) {
    const out = await requireBackend().infer(weights, inputs, n);
    return Comlink.transfer(out, [out.buffer]);
  },
  /**
   * Runs a black-box attack here, next to the models: its oracle goes through the same API router
   * (8-bit requests, batch extension), so it attacks exactly what `fetch('/<id>/…')` answers.
   */
  async runAttack(req: AttackRequest, onProgress?: (p: TrajectoryPoint) => void): Promise<AttackResponse> {
    if (!router) throw new Error('inference worker not initialised: call init() first');
    const model = findModel(req.model);
    if (!model) throw new Error(`unknown model '${req.model}'`);
    const name: AttackName = req.attack === 'noise' ? 'random' : req.attack;
    if (!ATTACKS[name]) throw new Error(`unknown attack '${req.attack}'`);
    const r = router;
    currentAttack?.abort();
    const controller = new AbortController();
    currentAttack = controller;
    // Stop also aborts a request the endpoint is slow to answer
    const remote = (seed: number) =>
      createHttpOracle({
        baseUrl: req.endpoint as string,
        modelId: model.arch === 'custom' ? model.id : model.id.split('_').join('/'),
        batch: true,
        seed,
        signal: controller.signal,
      });
    const base = req.endpoint
      ? remote(req.seed)
      : createRouterOracle((q) => r.handle(q), { modelId: model.id, batch: true, seed: req.seed });
    const oracle = req.eot && req.eot > 1 ? withEOT(base, req.eot) : base;
    let lastSent = 0;
    const result = await runAttack(
      name,
      {
        ...req.params,
        x: req.x,
        label: req.label,
        seed: req.seed,
        quantize: true,
        maxQueries: Number(req.params.maxQueries ?? req.params.max_queries ?? 1000),
        signal: controller.signal,
        onProgress: (p: TrajectoryPoint) => {
          // progress crosses a thread boundary: at most ~20 messages a second
          const now = Date.now();
          if (onProgress && now - lastSent > 50) {
            lastSent = now;
            onProgress(p);
          }
        },
      },
      oracle,
    );
    if (currentAttack === controller) currentAttack = null;
    const out: AttackResponse = { ...result };
    if (model.preprocessor) {
      // judge a randomized defense over fresh draws, not over the one lucky draw the attack saw
      const draws = req.eotDraws ?? 100;
      const copies = Array.from({ length: draws }, () => result.adversarial);
      const drawSeed = (req.seed ^ 0x5bd1e995) >>> 1;
      const preds = req.endpoint
        ? await remote(drawSeed).decide(copies)
        : (await classifyInputs(requireBackend(), model, copies, drawSeed)).preds;
      const target = req.params.target as number | undefined;
      const fooled = preds.filter((p) => (target === undefined ? p !== req.label : p === target)).length;
      out.eotSuccessRate = fooled / draws;
      out.eotDraws = draws;
    }
    return out;
  },
  abortAttack() {
    currentAttack?.abort();
  },
  ping() {
    return Date.now();
  },
  /** Size of onnxruntime's WASM heap(s) in bytes (for the memory-flatness test and the status panel). */
  memory() {
    return { wasmHeapBytes: wasmHeapBytes() };
  },
  /** For the recovery test: make this worker die the way a crash would (no reply, no cleanup). */
  crashForTest() {
    setTimeout(() => self.close(), 0);
  },
  /** For the hang test: block this worker's thread for good, as a stuck run would. */
  hangForTest() {
    for (;;) {
      // never returns and never yields: no message is answered again
    }
  },
};

export type WorkerApi = typeof api;

Comlink.expose(api);
