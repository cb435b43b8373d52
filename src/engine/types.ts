/** Messages and status shared by the inference worker and the page. */
import type { EngineErrorKind } from '../core/errors';

export type BackendChoice = 'auto' | 'webgpu' | 'wasm';
export type ActiveBackend = 'webgpu' | 'wasm';

export interface BackendStatus {
  requested: BackendChoice;
  active: ActiveBackend | null;
  /** WASM threads per worker (1 when the page is not cross-origin isolated). */
  threads: number;
  /** Inference workers in the page's pool (src/engine/pool.ts); absent inside a worker. */
  workers?: number;
  crossOriginIsolated: boolean;
  /** Adapter description when WebGPU was probed, e.g. "SwiftShader (fallback)". */
  adapter: string | null;
  /** Why WebGPU is not in use, when it is not. */
  note: string | null;
}

export type LoadState = 'idle' | 'loading' | 'ready' | 'error';

export interface WeightStatus {
  weights: string;
  state: LoadState;
  loadedBytes: number;
  totalBytes: number;
  /** Fetch + verify + session creation (+ WebGPU warm-up), ms. */
  loadMs: number | null;
  /** Last inference time, ms. */
  lastRunMs: number | null;
  backend: ActiveBackend | null;
  error: string | null;
  /** What kind of failure `error` is: the file failed its size/sha256 check, or could not be loaded at all. */
  errorKind?: 'checksum' | 'unavailable';
}

export type EngineEvent =
  | { type: 'weights'; status: WeightStatus }
  | { type: 'backend'; status: BackendStatus }
  | { type: 'error'; message: string; weights?: string; kind?: EngineErrorKind };

export interface ManifestEntry {
  id: string;
  weights: string;
  file?: string;
  sha256?: string;
  bytes?: number;
  [key: string]: unknown;
}

export interface Manifest {
  models: ManifestEntry[];
  weights?: Record<string, { file: string; sha256: string; bytes: number }>;
  [key: string]: unknown;
}
