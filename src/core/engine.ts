import type { LossSpec } from '../gradients/losses';
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

/** Losses, logits and input gradients of a batch (src/gradients/losses.ts names the losses). */
export interface GradientResult {
  /** n×10 logits (log-probabilities for a model that outputs probabilities) */
  logits: Float32Array;
  /** n loss values */
  losses: Float64Array;
  /** n×784 values: ∂loss_i/∂x_i on the 28×28 model input in [0,1], row-major */
  gradient: Float32Array;
}

/**
 * An engine that can also differentiate: the service with --gradients, the runner, the page's
 * worker. Implementations run the gradient graph of src/gradients/build.ts.
 */
export interface GradientEngine extends InferenceEngine {
  /**
   * @param inputs n images of 784 floats in [0,1]
   * @param specs one loss per image (label, loss, target)
   * @throws WhiteBoxUnavailableError when the model's graph has an op without a gradient rule
   * @throws ModelUnavailableError, RunAbortedError as infer does
   */
  gradient(
    weights: string,
    inputs: Float32Array,
    n: number,
    specs: readonly LossSpec[],
  ): Promise<GradientResult>;
}

/** The model serves black-box requests but cannot be differentiated (an op without a rule). */
export class WhiteBoxUnavailableError extends Error {
  /**
   * @param reason the reverse pass's refusal, naming the op(s)
   * @param ops the op types without a rule (empty when the reason is another)
   */
  constructor(
    readonly weights: string,
    readonly reason: string,
    readonly ops: readonly string[] = [],
  ) {
    super(`model weights '${weights}' cannot be used white-box: ${reason}`);
    this.name = 'WhiteBoxUnavailableError';
  }
}
