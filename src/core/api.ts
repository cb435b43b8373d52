/**
 * The thesis API contract (SPEC §4) from the caller's side, in one place: the request body, the
 * batch extension, the canonical route of a model, and the parsing of `/score` answers. Every
 * client builds its requests here: the page's oracles and experiment API, the Node runner's
 * `--endpoint` mode, the API console's snippets, the attack lab's export, the benchmarks. The
 * server side (parsing, validation, limits) is `request.ts` and `router.ts`.
 */
import { encodeBase64 } from './base64';

export { MAX_BATCH, MAX_BODY_BYTES, MAX_SEED, MAX_SIDE } from './request';

/** A request as the fetch shim, the worker and the HTTP server hand it to the router. */
export interface ApiRequest {
  method: string;
  path: string;
  /** the JSON request body as text (exactly what fetch sends) */
  body?: string;
}

/** The router's answer: status, headers and the JSON value of the body. */
export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  /** the JSON value of the body */
  body: unknown;
}

/** One image request: base64 of the raw bytes, `image_size` = [width, height], channels 1/3/4. */
export interface ApiRequestBody {
  image: string;
  image_size: [number, number];
  channel: number;
  /** our extension: makes a randomized defense's draw reproducible */
  seed?: number;
}

/** The body for an image already in base64 (the one place the body's shape is written). */
export function requestBody(
  image: string,
  size: readonly [width: number, height: number] = [28, 28],
  channel = 1,
  seed?: number,
): ApiRequestBody {
  const body: ApiRequestBody = { image, image_size: [size[0], size[1]], channel };
  if (seed !== undefined) body.seed = seed;
  return body;
}

/**
 * The body for raw image bytes (row-major, `channel` interleaved bytes per pixel).
 * @throws RangeError when the byte count does not match width × height × channel
 */
export function imageRequestBody(
  bytes: Uint8Array,
  size: readonly [width: number, height: number] = [28, 28],
  channel = 1,
  seed?: number,
): ApiRequestBody {
  const [w, h] = size;
  if (bytes.length !== w * h * channel)
    throw new RangeError(
      `${bytes.length} bytes, but a ${w}×${h} image with ${channel} channel(s) has ${w * h * channel}`,
    );
  return requestBody(encodeBase64(bytes), size, channel, seed);
}

/** `{"batch": [...]}`: the batch extension (one answer per item, in order). */
export function batchRequestBody(items: readonly ApiRequestBody[]): { batch: ApiRequestBody[] } {
  return { batch: [...items] };
}

/**
 * The canonical route of a model: `/0/score`, `/0/4/score` for `0_4`, `/custom/<id>/score` for an
 * uploaded model `custom/<id>` (path segments URL-encoded).
 */
export function modelRoute(model: string, action: 'decision' | 'score' | 'gradient'): string {
  return `/${model.split(/[_/]/).map(encodeURIComponent).join('/')}/${action}`;
}

/**
 * An error answer (or an answer not in the contract's shape), with the server's own message.
 * `errorType` is the answer's `error_type`: the in-page engine names the error kind of
 * src/core/errors.ts behind a 503 there (e.g. `WorkerDiedError`), so callers branch on it, not on text.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorType?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The body of an error answer: `{"error": message}`, plus `error_type` when the kind is one of ours. */
export function errorBody(message: string, errorType?: string): { error: string; error_type?: string } {
  return errorType ? { error: message, error_type: errorType } : { error: message };
}

function isProbs(v: unknown): v is number[] {
  return Array.isArray(v) && v.length === 10 && v.every((p) => typeof p === 'number' && Number.isFinite(p));
}

/**
 * The probability vectors of a `/score` answer.
 * @param n items sent (batch answers must have exactly n)
 * @throws ApiError with the server's words for a non-200 status, or naming what is malformed
 */
export function parseScoreAnswer(status: number, body: unknown, n: number, batch: boolean): number[][] {
  throwIfError(status, body);
  const data = body && typeof body === 'object' ? (body as { data?: unknown }).data : undefined;
  if (!batch) {
    if (!isProbs(data)) throw new ApiError(status, `answer has no list of 10 probabilities in "data"`);
    return [data];
  }
  if (!Array.isArray(data) || data.length !== n) {
    throw new ApiError(
      status,
      `batch answer has ${Array.isArray(data) ? data.length : 'no'} items, expected ${n}`,
    );
  }
  return data.map((d, i) => {
    if (!isProbs(d)) throw new ApiError(status, `batch answer item ${i} is not a list of 10 probabilities`);
    return d;
  });
}

/** Throws the ApiError of a non-200 answer, with the server's own words. */
function throwIfError(status: number, body: unknown): void {
  if (status === 200) return;
  const error =
    body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string'
      ? (body as { error: string }).error
      : null;
  const text = error ?? (typeof body === 'string' ? body.slice(0, 300) : JSON.stringify(body)?.slice(0, 300));
  const type = (body as { error_type?: unknown } | null)?.error_type;
  throw new ApiError(status, `HTTP ${status}: ${text}`, typeof type === 'string' ? type : undefined);
}

/** One item of a `/gradient` answer (the service's white-box extension). */
export interface GradientAnswer {
  loss: number;
  /** 10 logits */
  logits: number[];
  /** 784 values: ∂loss/∂x on the 28×28 input in [0,1], row-major */
  gradient: number[];
}

const finiteList = (v: unknown, n: number): v is number[] =>
  Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/**
 * The items of a `/gradient` batch answer.
 * @throws ApiError with the server's words for a non-200 status, or naming what is malformed
 */
export function parseGradientAnswer(status: number, body: unknown, n: number): GradientAnswer[] {
  throwIfError(status, body);
  const data = body && typeof body === 'object' ? (body as { data?: unknown }).data : undefined;
  if (!Array.isArray(data) || data.length !== n)
    throw new ApiError(
      status,
      `gradient answer has ${Array.isArray(data) ? data.length : 'no'} items, expected ${n}`,
    );
  return data.map((d, i) => {
    const item = d as Partial<GradientAnswer> | null;
    if (
      !item ||
      typeof item.loss !== 'number' ||
      !finiteList(item.logits, 10) ||
      !finiteList(item.gradient, 784)
    )
      throw new ApiError(status, `gradient answer item ${i} lacks a loss, 10 logits and 784 gradient values`);
    return item as GradientAnswer;
  });
}
