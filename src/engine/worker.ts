/// <reference lib="webworker" />
/**
 * The inference worker: onnxruntime-web (via OrtBackend) plus the pure router, so one API request
 * (or one batch) costs one message round trip. Exposed to the page with comlink.
 */

import * as Comlink from 'comlink';
import { type AttackHost, checkAttackRequest, runAttackRequest } from '../attacks/request';
import type { TrajectoryPoint } from '../attacks/types';
import { imagesIn, MIN_PART } from '../core/batch-split';
import {
  type CustomModelEntry,
  customModelInfos,
  customWeightsId,
  isCustomId,
  sizeRefusal,
} from '../core/custom-models';
import { getModel, MODELS, type ModelInfo } from '../core/models';
import { classifyInputs, createRouter } from '../core/router';
import type {
  AddCustomRequest,
  ApiRequest,
  ApiResponse,
  AttackRequest,
  AttackResponse,
  ClassifyRequest,
  WorkerApi,
  WorkerInit,
} from './messages';
import { OrtBackend } from './ort-backend';
import type { EngineEvent } from './types';
import { wasmHeapBytes } from './wasm-memory-probe';

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

function requireRouter(): ReturnType<typeof createRouter> {
  if (!router) throw new Error('inference worker not initialised: call init() first');
  return router;
}

const host: AttackHost = {
  findModel,
  handle: (req) => requireRouter().handle(req),
};

/**
 * Whether an attack's query is worth the trip through the page's pool (a batch the pool would
 * split); smaller ones (Square's and SimBA's one image per step) are answered here, without the
 * extra round trip.
 */
function isLargeBatch(body: string | undefined): boolean {
  return imagesIn(body) >= 2 * MIN_PART;
}

/** The worker's calls: EngineApi (src/engine/messages.ts) plus start-up and test hooks. */
const api = {
  init(opts: WorkerInit, onEvent?: (e: EngineEvent) => void) {
    listener = onEvent ?? null;
    backend = new OrtBackend({ ...opts, emit: (e) => listener?.(e) });
    served = MODELS;
    router = createRouter(backend, { models: () => served, gradients: true });
    return backend.status();
  },
  async status() {
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
  async addCustomModel(req: AddCustomRequest): Promise<CustomModelEntry> {
    if (!isCustomId(req.id)) throw new Error(`"${req.id}" is not a valid model ID (a–z, 0–9 and -)`);
    const refused = sizeRefusal(req.fileName, req.bytes instanceof Uint8Array ? req.bytes.byteLength : 0);
    if (refused) throw refused;
    const b = requireBackend();
    const entry = await b.addCustom(customWeightsId(req.id), req.id, req.fileName, req.bytes, req.outputs);
    refreshServed();
    return entry;
  },
  async removeCustomModel(id: string) {
    const removed = requireBackend().removeCustom(customWeightsId(id));
    refreshServed(); // its routes 404 from now on, while its session is released
    await removed;
  },
  handle: (req: ApiRequest) => requireRouter().handle(req),
  async classify(req: ClassifyRequest) {
    const model = typeof req.model === 'string' ? findModel(req.model) : req.model;
    if (!model) throw new Error(`unknown model '${String(req.model)}'`);
    return classifyInputs(requireBackend(), model, req.inputs, req.seed, { itemSeeds: req.itemSeeds });
  },
  async infer(weights: string, inputs: Float32Array, n: number) {
    const out = await requireBackend().infer(weights, inputs, n);
    return Comlink.transfer(out, [out.buffer]);
  },
  /** One attack at a time: a new one aborts the previous one. */
  async runAttack(
    req: AttackRequest,
    onProgress?: (p: TrajectoryPoint) => void,
    route?: (req: ApiRequest) => Promise<ApiResponse>,
  ): Promise<AttackResponse> {
    requireRouter();
    checkAttackRequest(req, host); // a bad request must not stop the attack in progress
    currentAttack?.abort();
    const controller = new AbortController();
    currentAttack = controller;
    try {
      return await runAttackRequest(
        req,
        route ? { ...host, handle: (q) => (isLargeBatch(q.body) ? route(q) : host.handle(q)) } : host,
        controller.signal,
        onProgress,
      );
    } finally {
      if (currentAttack === controller) currentAttack = null;
    }
  },
  async abortAttack() {
    currentAttack?.abort();
  },
  async ping() {
    return Date.now();
  },
  async memory() {
    return { wasmHeapBytes: wasmHeapBytes() };
  },
  async decideBackend() {
    await requireBackend().decideBackend();
    return requireBackend().status();
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
} satisfies WorkerApi;

Comlink.expose(api);
