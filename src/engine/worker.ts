/// <reference lib="webworker" />
/**
 * The inference worker: onnxruntime-web (via OrtBackend) plus the pure router, so one API request
 * (or one batch) costs one message round trip. Exposed to the page with comlink.
 */
import { wasmHeapBytes } from './wasm-memory-probe';
import * as Comlink from 'comlink';
import type { PreprocessorSpec } from '../core/models';
import { classifyInputs, createRouter } from '../core/router';
import { OrtBackend } from './ort-backend';
import type { BackendChoice, EngineEvent } from './types';

export interface WorkerInit {
  modelsUrl: string;
  backend: BackendChoice;
  threads?: number;
}

export interface ApiRequest {
  method: string;
  path: string;
  body?: string;
}

export interface ClassifyRequest {
  model: string | { weights: string; preprocessor: PreprocessorSpec | null };
  inputs: Float32Array[];
  seed?: number;
}

let backend: OrtBackend | null = null;
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
    router = createRouter(backend);
    return backend.status();
  },
  status() {
    return { backend: requireBackend().status(), weights: requireBackend().weightStatuses() };
  },
  async load(weights: string) {
    await requireBackend().load(weights);
    return requireBackend().weightStatuses().find((w) => w.weights === weights)!;
  },
  async release(weights: string) {
    await requireBackend().release(weights);
  },
  loadedWeights() {
    return requireBackend().loadedWeights();
  },
  /** One API request through the same router the Flask-compatible contract is defined by. */
  async handle(req: ApiRequest) {
    if (!router) throw new Error('inference worker not initialised: call init() first');
    return router.handle(req);
  },
  /** Typed classification for the UI and attacks (no base64 round trip). */
  async classify(req: ClassifyRequest) {
    const { getModel } = await import('../core/models');
    const model = typeof req.model === 'string' ? getModel(req.model) : req.model;
    if (!model) throw new Error(`unknown model '${String(req.model)}'`);
    const result = await classifyInputs(requireBackend(), model, req.inputs, req.seed);
    return Comlink.transfer(result, []);
  },
  /** Raw logits for a batch (attacks, experiments). */
  async infer(weights: string, inputs: Float32Array, n: number) {
    const out = await requireBackend().infer(weights, inputs, n);
    return Comlink.transfer(out, [out.buffer]);
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
};

export type WorkerApi = typeof api;

Comlink.expose(api);
