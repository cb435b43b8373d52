/**
 * The project's own error kinds, in one file (as web-llm's error.ts). Across the worker boundary
 * comlink copies an error's `name`, `message` and `stack` only, so the kind travels in `name`:
 * callers branch on `isError(e, Kind)`, never on message text. Engine events carry `kind` for the
 * same reason.
 */

/** The inference worker died or hung and was restarted (the call may be retried on the new one). */
export class WorkerDiedError extends Error {
  /** The kind's name as a literal: class names do not survive minification. */
  static readonly kind = 'WorkerDiedError';
  override name = WorkerDiedError.kind;
  constructor(message = 'the inference worker stopped responding and was restarted') {
    super(message);
  }
}

/**
 * A file the uploaded-model checks refuse (not ONNX, wrong inputs or outputs, a failing test run,
 * too large): the message names the file and what was found.
 */
export class ModelRefusedError extends Error {
  static readonly kind = 'ModelRefusedError';
  override name = ModelRefusedError.kind;
}

/** A weight file whose size or sha256 does not match the manifest: it is not used. */
export class ChecksumError extends Error {
  static readonly kind = 'ChecksumError';
  override name = ChecksumError.kind;
}

type ErrorClass = { new (...args: never[]): Error; readonly kind: string };

/** Whether `e` is (or was, before crossing a worker boundary) an error of kind `K`. */
export function isError(e: unknown, K: ErrorClass): boolean {
  return e instanceof K || (e instanceof Error && e.name === K.kind);
}

/** The name of `e`'s kind when it is one of the project's own errors above (what an API answer's `error_type` carries). */
export function ownErrorKind(e: unknown): string | undefined {
  for (const K of [WorkerDiedError, ModelRefusedError]) if (isError(e, K)) return K.kind;
  return undefined;
}

/** What an engine `error` event is about, so the page can react without reading its text. */
export type EngineErrorKind =
  | 'worker-restart'
  | 'webgpu-device-lost'
  | 'webgpu-fallback'
  | 'custom-model'
  | 'other';
