/**
 * What the router needs from an inference backend. The browser worker implements it with
 * onnxruntime-web, Node tools and tests with onnxruntime-node.
 */
export interface InferenceEngine {
  /**
   * Logits for a batch. `inputs` holds N images of 784 float32 values in [0,1] (row-major 28×28),
   * the result N×10 logits. Rejects with a ModelUnavailableError when the weight file cannot be used.
   */
  infer(weights: string, inputs: Float32Array, n: number): Promise<Float32Array>;
}

/** The weight file is missing, fails its checksum or cannot be loaded: a 503 for that model only. */
export class ModelUnavailableError extends Error {
  constructor(
    readonly weights: string,
    reason: string,
  ) {
    super(`model weights '${weights}' could not be loaded: ${reason}`);
    this.name = 'ModelUnavailableError';
  }
}

/**
 * One run was stopped or lost: it took longer than the service's run limit (its worker was
 * replaced), or the worker running it died. A 503 with Retry-After for the requests in that run
 * only; the model stays served.
 */
export class RunAbortedError extends Error {
  /**
   * @param cause what stopped it: the time limit, the memory limit, or the worker dying
   * @param message what happened, in words for the answer
   */
  constructor(
    readonly weights: string,
    readonly cause: 'time' | 'memory' | 'crash',
    message: string,
  ) {
    super(message);
    this.name = 'RunAbortedError';
  }
}
