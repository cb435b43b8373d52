/**
 * Black-box oracles: what an attack may ask a model. A decision oracle answers the predicted class
 * of each image, a score oracle its probability vector. Neither exposes gradients.
 *
 * Query accounting: one query = one image classified by the underlying model. An oracle that asks
 * the model several times per image (EOT) says so in `queryCost`, and `CountingOracle` charges that
 * many queries per image, so budgets stay honest through any stack of wrappers.
 */
import {
  type ApiRequest,
  type ApiRequestBody,
  type ApiResponse,
  imageRequestBody,
  modelRoute,
} from '../core/api';
import { CLASS_NAMES_DE } from '../core/labels';
import { argmax } from '../core/math';
import { Rng } from '../core/prng';
import { toBytes } from './vec';

export { quantize } from './vec';

export interface DecisionOracle {
  /** The predicted class index of each image, in order. */
  decide(xs: Float32Array[]): Promise<number[]>;
  /** Underlying model queries spent per image (1 when absent). */
  readonly queryCost?: number;
}

export interface ScoreOracle {
  /** The class-probability vector of each image, in order. */
  score(xs: Float32Array[]): Promise<Float32Array[]>;
  readonly queryCost?: number;
}

export type AnyOracle = DecisionOracle | ScoreOracle | (DecisionOracle & ScoreOracle);

export function isDecisionOracle(o: AnyOracle): o is DecisionOracle {
  return typeof (o as Partial<DecisionOracle>).decide === 'function';
}

export function isScoreOracle(o: AnyOracle): o is ScoreOracle {
  return typeof (o as Partial<ScoreOracle>).score === 'function';
}

/**
 * Score oracles for attacks that run side by side (one per image), whose queries go out together:
 * the calls made while the others are still running are sent as one batch to `oracle`, at most
 * `maxBatch` images per call. Each attack sees its own answers in order, so its result is the
 * same as alone on a deterministic model; on a randomized one the draws depend on the batch.
 * Why our own: the service's batcher (server/batching.ts) groups HTTP requests by time window;
 * this groups in-process promises by turn of the event loop, with no timer to tune.
 */
export function coalescedScoreOracles(oracle: ScoreOracle, maxBatch = 256): () => ScoreOracle {
  let pending: { x: Float32Array; resolve: (p: Float32Array) => void; reject: (e: unknown) => void }[] = [];
  let scheduled = false;
  const later: (f: () => void) => void =
    typeof globalThis.setImmediate === 'function'
      ? (f) => globalThis.setImmediate(f)
      : (f) => setTimeout(f, 0);
  const flush = () => {
    scheduled = false;
    const all = pending;
    pending = [];
    for (let i = 0; i < all.length; i += maxBatch) {
      const part = all.slice(i, i + maxBatch);
      oracle.score(part.map((p) => p.x)).then(
        (out) => {
          for (const [k, p] of part.entries()) p.resolve(out[k]);
        },
        (e) => {
          for (const p of part) p.reject(e);
        },
      );
    }
  };
  const one = (x: Float32Array) =>
    new Promise<Float32Array>((resolve, reject) => {
      pending.push({ x, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        later(flush);
      }
    });
  return () => ({
    queryCost: oracle.queryCost,
    score: (xs) => Promise.all(xs.map(one)),
  });
}

/** Thrown when a call would take a counting oracle past its budget; no image of that call was sent. */
export class BudgetExhausted extends Error {
  override readonly name = 'BudgetExhausted';
  constructor(
    readonly budget: number,
    readonly used: number,
    readonly requested: number,
  ) {
    super(`query budget exhausted: ${used} of ${budget} used, ${requested} more requested`);
  }
}

export interface QueryEvent {
  /** Queries charged by this call. */
  charged: number;
  /** Images in this call. */
  images: number;
  /** Total queries charged so far. */
  used: number;
  kind: 'decision' | 'score';
}

export interface CountingOracleOptions {
  /** Hard cap on queries (default: unlimited). */
  budget?: number;
  /** Called after every answered call, e.g. to record a trajectory. */
  onQuery?: (event: QueryEvent) => void;
}

/**
 * Counts queries and enforces a hard budget: a call that does not fit is refused whole (nothing is
 * sent) with BudgetExhausted, so the budget can never be overrun. Attacks check `affordable()` to
 * size their batches and treat BudgetExhausted as "stop, return the best so far".
 */
export class CountingOracle implements DecisionOracle, ScoreOracle {
  readonly budget: number;
  readonly queryCost: number;
  private usedQueries = 0;
  private readonly onQuery?: (event: QueryEvent) => void;

  constructor(
    private readonly inner: AnyOracle,
    options: CountingOracleOptions = {},
  ) {
    this.budget = options.budget ?? Number.POSITIVE_INFINITY;
    if (!(this.budget >= 0)) throw new RangeError(`budget must be >= 0, got ${this.budget}`);
    this.queryCost = inner.queryCost ?? 1;
    this.onQuery = options.onQuery;
  }

  get used(): number {
    return this.usedQueries;
  }

  get remaining(): number {
    return this.budget - this.usedQueries;
  }

  /** How many more images fit in the budget. */
  affordable(): number {
    return Math.floor(this.remaining / this.queryCost);
  }

  /** Reserves the cost of n images before the call is sent (so concurrent calls cannot both fit). */
  private reserve(n: number): number {
    const cost = n * this.queryCost;
    if (cost > this.remaining) throw new BudgetExhausted(this.budget, this.usedQueries, cost);
    this.usedQueries += cost;
    return cost;
  }

  async decide(xs: Float32Array[]): Promise<number[]> {
    if (!isDecisionOracle(this.inner)) throw new TypeError('the wrapped oracle has no decide()');
    if (xs.length === 0) return [];
    const cost = this.reserve(xs.length);
    // A failed call (network or server error) was still sent, so it stays charged.
    const out = await this.inner.decide(xs);
    this.onQuery?.({ charged: cost, images: xs.length, used: this.usedQueries, kind: 'decision' });
    return out;
  }

  async score(xs: Float32Array[]): Promise<Float32Array[]> {
    if (!isScoreOracle(this.inner)) throw new TypeError('the wrapped oracle has no score()');
    if (xs.length === 0) return [];
    const cost = this.reserve(xs.length);
    const out = await this.inner.score(xs);
    this.onQuery?.({ charged: cost, images: xs.length, used: this.usedQueries, kind: 'score' });
    return out;
  }
}

/**
 * Expectation over Transformation for randomised defenses (Athalye et al. 2018): each image is
 * asked k times (in one inner call, so a batch-capable oracle sees all n·k images at once).
 * Decisions: majority vote, ties to the lowest class index. Scores: mean probability vector.
 * `queryCost` is k times the inner cost, so counters charge k queries per image.
 */
export function withEOT(oracle: DecisionOracle & ScoreOracle, k: number): DecisionOracle & ScoreOracle;
export function withEOT(oracle: DecisionOracle, k: number): DecisionOracle;
export function withEOT(oracle: ScoreOracle, k: number): ScoreOracle;
export function withEOT(oracle: AnyOracle, k: number): AnyOracle {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`EOT k must be a positive integer, got ${k}`);
  const queryCost = k * (oracle.queryCost ?? 1);
  const repeat = (xs: Float32Array[]): Float32Array[] => {
    const out: Float32Array[] = [];
    for (const x of xs) for (let r = 0; r < k; r++) out.push(x);
    return out;
  };
  const out: Partial<DecisionOracle & ScoreOracle> & { queryCost: number } = { queryCost };
  if (isDecisionOracle(oracle)) {
    out.decide = async (xs) => {
      const labels = await oracle.decide(repeat(xs));
      return xs.map((_, i) => majority(labels.slice(i * k, (i + 1) * k)));
    };
  }
  if (isScoreOracle(oracle)) {
    out.score = async (xs) => {
      const probs = await oracle.score(repeat(xs));
      return xs.map((_, i) => {
        const first = probs[i * k];
        const mean = new Float32Array(first.length);
        const acc = new Float64Array(first.length);
        for (let r = 0; r < k; r++) {
          const p = probs[i * k + r];
          for (let c = 0; c < acc.length; c++) acc[c] += p[c];
        }
        for (let c = 0; c < acc.length; c++) mean[c] = acc[c] / k;
        return mean;
      });
    };
  }
  return out as AnyOracle;
}

/** Most frequent label; ties go to the lowest class index. */
export function majority(labels: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  let best = -1;
  let bestCount = -1;
  for (const [label, count] of counts) {
    if (count > bestCount || (count === bestCount && label < best)) {
      best = label;
      bestCount = count;
    }
  }
  return best;
}

/** A decision oracle on top of a score oracle (argmax, ties to the lowest index). */
export function decisionFromScores(oracle: ScoreOracle): DecisionOracle & ScoreOracle {
  return {
    queryCost: oracle.queryCost,
    score: (xs) => oracle.score(xs),
    decide: async (xs) => (await oracle.score(xs)).map((p) => argmax(p)),
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP oracle (SPEC §4)

/** An error answer of the API, with the server's own message. */
export class OracleHttpError extends Error {
  override readonly name = 'OracleHttpError';
  constructor(
    readonly status: number,
    readonly serverMessage: string,
    readonly path: string,
  ) {
    super(`${path}: HTTP ${status}: ${serverMessage}`);
  }
}

export interface ApiOracleOptions {
  /** Model id as in SPEC §2, e.g. "0" or "0_1" (the underscore alias route is used unless `canonicalRoute`). */
  modelId: string;
  /**
   * Post to the canonical route (`/0/1/…`, `/custom/<id>/…`: core/api modelRoute) instead of the
   * underscore alias `/0_1/…`; services without the alias (the thesis' Flask app) need it.
   */
  canonicalRoute?: boolean;
  /** Send all images of a call in one `{"batch": [...]}` request (the batch extension). */
  batch?: boolean;
  /**
   * Makes randomised defenses reproducible: each image request carries its own `seed` drawn from
   * Rng(seed), so repeated queries still see fresh (but replayable) randomness. Without it no seed
   * is sent and the server draws fresh randomness.
   */
  seed?: number;
  /** [h, w] of the images (default [28, 28]). */
  shape?: readonly [number, number];
}

export interface HttpOracleOptions extends ApiOracleOptions {
  baseUrl: string;
  fetch?: typeof fetch;
  /** aborts requests in flight (e.g. the attack's Stop); they reject with the abort reason */
  signal?: AbortSignal;
  /** a request without an answer after this long is aborted (default 120 s; 0: never) */
  timeoutMs?: number;
}

/** `(x, shape, seed?)` → the API's JSON body: base64 uint8 gray bytes, image_size = [width, height]. */
export function encodeApiRequest(
  x: Float32Array,
  shape: readonly [number, number],
  seed?: number,
): ApiRequestBody {
  const [h, w] = shape;
  if (x.length !== h * w)
    throw new RangeError(`image has ${x.length} pixels, shape [${h}, ${w}] needs ${h * w}`);
  return imageRequestBody(toBytes(x), [w, h], 1, seed);
}

type Transport = (path: string, body: string) => Promise<{ status: number; json: unknown }>;

function parseDecision(v: unknown, path: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === 'string') {
    const i = (CLASS_NAMES_DE as readonly string[]).indexOf(v);
    if (i >= 0) return i;
  }
  throw new OracleHttpError(200, `unexpected decision ${JSON.stringify(v)}`, path);
}

function parseScore(v: unknown, path: string): Float32Array {
  if (Array.isArray(v) && v.length > 0 && v.every((p) => typeof p === 'number')) return Float32Array.from(v);
  throw new OracleHttpError(200, `unexpected score ${JSON.stringify(v)?.slice(0, 80)}`, path);
}

function errorMessage(json: unknown, status: number): string {
  if (json && typeof json === 'object' && typeof (json as { error?: unknown }).error === 'string') {
    return (json as { error: string }).error;
  }
  if (typeof json === 'string' && json.length > 0) return json.slice(0, 200);
  return `HTTP ${status}`;
}

function apiOracle(transport: Transport, options: ApiOracleOptions): DecisionOracle & ScoreOracle {
  const shape = options.shape ?? ([28, 28] as const);
  const seedRng = options.seed === undefined ? null : new Rng(options.seed);
  const nextSeed = () => (seedRng ? seedRng.nextUint32() & 0x7fffffff : undefined);
  const modelPath = `/${options.modelId.replace(/^\/+|\/+$/g, '')}`;

  const call = async <T>(
    route: 'decision' | 'score',
    xs: Float32Array[],
    parse: (v: unknown, p: string) => T,
  ) => {
    const path = options.canonicalRoute ? modelRoute(options.modelId, route) : `${modelPath}/${route}`;
    const post = async (body: unknown): Promise<unknown> => {
      const res = await transport(path, JSON.stringify(body));
      if (res.status < 200 || res.status >= 300) {
        throw new OracleHttpError(res.status, errorMessage(res.json, res.status), path);
      }
      if (!res.json || typeof res.json !== 'object' || !('data' in res.json)) {
        throw new OracleHttpError(res.status, 'answer has no "data" field', path);
      }
      return (res.json as { data: unknown }).data;
    };
    if (options.batch) {
      if (xs.length === 0) return [];
      const batch = xs.map((x) => encodeApiRequest(x, shape, nextSeed()));
      const data = await post({ batch });
      if (!Array.isArray(data) || data.length !== xs.length) {
        throw new OracleHttpError(
          200,
          `batch answer has ${Array.isArray(data) ? data.length : 'no'} items`,
          path,
        );
      }
      return data.map((v) => parse(v, path));
    }
    // One request per image, in order (keeps the per-request seed sequence reproducible).
    const out: T[] = [];
    for (const x of xs) out.push(parse(await post(encodeApiRequest(x, shape, nextSeed())), path));
    return out;
  };

  return {
    decide: (xs) => call('decision', xs, parseDecision),
    score: (xs) => call('score', xs, parseScore),
  };
}

/**
 * An oracle over the HTTP API: POST `${baseUrl}/${modelId}/decision|score`. The body carries the
 * image as 8-bit gray bytes (round(x·255)), so the model classifies `quantize(x)`, not x: run
 * attacks through it with `quantize: true` so they report and judge the image the server saw.
 */
export function createHttpOracle(options: HttpOracleOptions): DecisionOracle & ScoreOracle {
  const base = options.baseUrl.replace(/\/+$/, '');
  return apiOracle((path, body) => postApi(`${base}${path}`, body, options), options);
}

/**
 * POSTs a JSON body to a service with the API contract and reads the answer: its status and the
 * parsed JSON, or the text when it is not JSON (e.g. an HTML error page). Aborts with `signal`, and
 * after `timeoutMs` (default 120 s; 0: never) without an answer.
 */
export async function postApi(
  url: string,
  body: string,
  options: Pick<HttpOracleOptions, 'fetch' | 'signal' | 'timeoutMs'> = {},
): Promise<{ status: number; json: unknown }> {
  const ms = options.timeoutMs ?? 120_000;
  const signals = [options.signal, ms > 0 ? AbortSignal.timeout(ms) : undefined].filter(
    (x): x is AbortSignal => x !== undefined,
  );
  const res = await (options.fetch ?? globalThis.fetch)(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: signals.length ? AbortSignal.any(signals) : undefined,
  });
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text) };
  } catch {
    return { status: res.status, json: text };
  }
}

/** What createRouterOracle needs of the router's answer: the status and the body (JSON text or value). */
export type RouterResponse = Pick<ApiResponse, 'status' | 'body'>;

/** The same oracle over the in-page router (fetch shim) instead of the network. */
export function createRouterOracle(
  handle: (req: Required<ApiRequest>) => Promise<RouterResponse>,
  options: ApiOracleOptions,
): DecisionOracle & ScoreOracle {
  const transport: Transport = async (path, body) => {
    const res = await handle({ method: 'POST', path, body });
    let json = res.body;
    if (typeof json === 'string') {
      try {
        json = JSON.parse(json);
      } catch {
        // keep the text
      }
    }
    return { status: res.status, json };
  };
  return apiOracle(transport, options);
}
