/**
 * Every call between the page and the inference worker, in one catalogue (as web-llm's message.ts):
 * the request and answer types, and EngineApi, the interface that both the worker's comlink
 * handler (src/engine/worker.ts) and the page's EngineClient (src/engine/client.ts) implement, so
 * page code never imports the worker module.
 */
import type { AttackRequest, AttackResponse } from '../attacks/request';
import type { TrajectoryPoint } from '../attacks/types';
import type { ApiRequest, ApiResponse } from '../core/api';
import type { CustomModelEntry, OutputKind } from '../core/custom-models';
import type { PreprocessorSpec } from '../core/models';
import type { ClassifyResult } from '../core/router';
import type { BackendChoice, BackendStatus, EngineEvent, WeightStatus } from './types';

export type { ApiRequest, ApiResponse, AttackRequest, AttackResponse, ClassifyResult };

export interface WorkerInit {
  modelsUrl: string;
  backend: BackendChoice;
  threads?: number;
}

export interface ClassifyRequest {
  /** a served model ID, or weights with a preprocessor (the comparison's custom pairs) */
  model: string | { weights: string; preprocessor: PreprocessorSpec | null };
  /** images of 784 float32 values in [0, 1] */
  inputs: Float32Array[];
  /** base seed of a randomized preprocessor (drawn when absent) */
  seed?: number;
  /** per-input seeds overriding the ones derived from `seed` (a part of a classification split across the pool) */
  itemSeeds?: number[];
}

/** An uploaded model to check and serve (see OrtBackend.addCustom). */
export interface AddCustomRequest {
  /** the URL-safe ID the page chose (customModelId): routes /custom/<id>/… */
  id: string;
  fileName: string;
  bytes: Uint8Array;
  outputs: OutputKind;
}

export interface EngineState {
  backend: BackendStatus;
  weights: WeightStatus[];
}

/** The engine's calls, the same in the worker and through EngineClient. */
export interface EngineApi {
  /** One API request through the router that defines the Flask-compatible contract; always answers. */
  handle(req: ApiRequest): Promise<ApiResponse>;
  /** Typed classification for the UI and attacks (no base64 round trip). */
  classify(req: ClassifyRequest): Promise<ClassifyResult>;
  /** Raw logits, N×10, for N images of 784 values. */
  infer(weights: string, inputs: Float32Array, n: number): Promise<Float32Array>;
  /**
   * Runs a black-box attack next to the models (src/attacks/request.ts); progress is throttled.
   * With `route`, its queries go there (the pool's handle, so that its batches use every worker)
   * instead of to this worker's own router.
   */
  runAttack(
    req: AttackRequest,
    onProgress?: (p: TrajectoryPoint) => void,
    route?: (req: ApiRequest) => Promise<ApiResponse>,
  ): Promise<AttackResponse>;
  /** Stops the attack in progress; it returns its best result so far. */
  abortAttack(): Promise<void>;
  /**
   * Checks an uploaded ONNX model and serves it under /custom/<id>/…; rejects with
   * ModelRefusedError naming the file and what was found (a plain Error for an invalid `id`).
   */
  addCustomModel(req: AddCustomRequest): Promise<CustomModelEntry>;
  /** Stops serving an uploaded model and frees its session and bytes (no-op for an unknown ID). */
  removeCustomModel(id: string): Promise<void>;
  /** Downloads (or finds cached), verifies and opens a weight set; rejects with ModelUnavailableError. */
  load(weights: string): Promise<WeightStatus>;
  /** Frees a weight set's session; the next request for it loads it again. */
  release(weights: string): Promise<void>;
  /** The backend and every weight set's load state. */
  status(): Promise<EngineState>;
  /** Size of onnxruntime's WASM heap(s) in bytes. */
  memory(): Promise<{ wasmHeapBytes: number }>;
  /** A no-op round trip (the message-passing floor of every call). */
  ping(): Promise<number>;
}

/** What the worker exposes with comlink: EngineApi, its start-up and the recovery tests' hooks. */
export interface WorkerApi extends EngineApi {
  /** Starts onnxruntime with `opts`; engine events (loads, backend, errors) go to `onEvent`. */
  init(opts: WorkerInit, onEvent?: (e: EngineEvent) => void): BackendStatus;
  /** Decides WebGPU or WASM now (otherwise decided at the first model load). */
  decideBackend(): Promise<BackendStatus>;
  /** Makes the worker die the way a crash would (no reply, no cleanup). */
  crashForTest(): void;
  /** Blocks the worker's thread for good, as a stuck run would. */
  hangForTest(): void;
}
