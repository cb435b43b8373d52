/**
 * The HTTP service (`npm run serve`): the thesis' Flask contract (SPEC §4) over real HTTP, for
 * Python attack scripts, IBM ART's BlackBoxClassifier and scale. Fastify does the HTTP (parsing,
 * body limits, timeouts, CORS, logging, graceful close); the contract itself is the same pure router
 * the page uses (src/core/router.ts), on onnxruntime-node with the shipped files (sha256-checked)
 * behind dynamic batching (server/batching.ts).
 *
 * Request flow: Fastify → the catch-all body parser (any or no Content-Type, raw text) → router
 * (JSON + BOM, validation, defenses, seeds) → batching engine → onnxruntime-node → the router's
 * JSON answer and headers (X-Model-Id, X-Inference-Ms, X-Seed).
 */

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import cors from '@fastify/cors';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify';
import pino from 'pino';
import { customModelInfos, type OutputKind } from '../src/core/custom-models';
import type { GradientEngine } from '../src/core/engine';
import { MODELS, type ModelInfo } from '../src/core/models';
import { MAX_BODY_BYTES } from '../src/core/request';
import { createRouter, parseModelPath } from '../src/core/router';
import { type BatchingEngine, createBatchingEngine } from './batching';
import { type CheckedModel, checkModelFilesInProcess, checkModelFilesIsolated } from './custom-models';
import { createInferencePool, type InferencePool } from './inference-pool';
import {
  BODY_LIMIT_CODE,
  defaultInflightBytes,
  type Limits,
  registerBodyLimits,
  registerPressure,
  UNDER_PRESSURE_CODE,
} from './limits';
import { createMetrics, registerOperatorRoutes } from './metrics';
import { createNodeEngine, type WeightState } from './node-engine';

export interface ServeOptions {
  /** serve POST /<model>/gradient (off by default: an extension of the thesis contract) */
  gradients?: boolean;
  /** model IDs to serve (default: all fifteen) */
  models?: readonly string[];
  /** folder of the ONNX files and manifest.json (default public/models) */
  modelsDir?: string;
  /**
   * inference worker processes (server/inference-pool.ts); 0 runs onnxruntime in this process, as
   * before the pool (no run limit, no isolation). Default: the cores divided by `threads`.
   */
  workers?: number;
  /** onnxruntime intra-op threads per session (default: the cores divided by `workers`, else 1) */
  threads?: number;
  /** a run longer than this (ms) is stopped and its worker replaced; the request gets 503 (default 10 s) */
  runTimeoutMs?: number;
  /** a worker whose resident memory is over this after a run is replaced (bytes; default 2 GiB) */
  workerMemoryBytes?: number;
  /** a --model file whose full-contrast probe run grows memory by more is refused (bytes; default 1 GiB) */
  maxModelMemoryBytes?: number;
  /** request-body bytes in flight across all requests (default: a quarter of V8's heap limit) */
  maxInflightBytes?: number;
  /** the whole body must arrive within this of the request (ms; default 30 s) */
  bodyTimeoutMs?: number;
  /** event-loop delay over which requests are answered 503 (ms; default 1000) */
  maxEventLoopDelayMs?: number;
  /** body limit in bytes (default 96 MiB, as the page) */
  maxBody?: number;
  /** allowed CORS origins; ['*'] (the default, as flask_cors) or a list; null: no CORS headers */
  cors?: readonly string[] | null;
  /** most images one coalesced onnxruntime run takes (default 64; 1 turns batching off) */
  maxBatch?: number;
  /** pino log level: 'info' logs one access line per request (default), 'silent' none */
  logLevel?: string;
  /** check each file's sha256 against the manifest (default true) */
  verify?: boolean;
  /**
   * ONNX classifiers someone brought (`--model path`, repeatable), served under /custom/<id>/…
   * (and /custom/<id>/3|4|blur/…) with the ID from the file stem; checked as the page checks uploads
   */
  customModels?: readonly string[];
  /** how to read the custom models' outputs (default logits: softmax applied) */
  customOutputs?: OutputKind;
}

export type { WeightState };

/** Where the shipped weight files are, relative to the project root (npm runs scripts there). */
export const DEFAULT_MODELS_DIR = join('public', 'models');

export interface Service {
  app: FastifyInstance;
  /** the inference pool (null with workers 0) */
  pool: InferencePool | null;
  /** workers and threads per session, as chosen (GET / and the start-up log say them) */
  workers: number;
  threads: number;
  batching: BatchingEngine;
  models: readonly ModelInfo[];
  /** load state of each weight set, as GET / reports it */
  weightStates(): Record<string, WeightState>;
  /** resolves when every weight set has loaded or failed */
  loaded: Promise<void>;
}

/** Model IDs → the table's entries; throws a RangeError naming unknown ones. */
export function selectModels(ids?: readonly string[]): ModelInfo[] {
  if (!ids || ids.length === 0) return [...MODELS];
  const unknown = ids.filter((id) => !MODELS.some((m) => m.id === id));
  if (unknown.length) {
    throw new RangeError(
      `unknown model ID${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the models are ${MODELS.map((m) => m.id).join(', ')}`,
    );
  }
  return MODELS.filter((m) => ids.includes(m.id));
}

/** `<weights>.onnx` of each weight set the (shipped) models use, once each. */
function weightFiles(models: readonly ModelInfo[]): string[] {
  return [...new Set(models.filter((m) => m.arch !== 'custom').map((m) => `${m.weights}.onnx`))];
}

const WEIGHTS_HINT =
  'the folder (--models-dir) needs <weights>.onnx for the models served and manifest.json to check ' +
  'them, as the shipped public/models or what npm run train wrote';

/**
 * Refuses a start that could answer nothing but 503: not one weight file of the selected models is
 * in the folder. RangeError naming the folder and the files missing.
 */
function requireSomeWeightFile(modelsDir: string, models: readonly ModelInfo[]): void {
  const files = weightFiles(models);
  if (files.length === 0 || files.some((f) => existsSync(join(modelsDir, f)))) return;
  throw new RangeError(
    `no weight set of the selected models can be loaded from ${resolve(modelsDir)}: ` +
      `${files.join(', ')} ${files.length === 1 ? 'is' : 'are'} missing (${WEIGHTS_HINT})`,
  );
}

/**
 * Once loading has settled: why the service can answer nothing (every weight set failed), or null
 * when at least one loaded. Some failing is not this: their models answer 503, the others serve.
 */
export function nothingLoaded(states: Record<string, WeightState>, modelsDir: string): string | null {
  const all = Object.entries(states);
  if (all.length === 0 || all.some(([, s]) => s.state !== 'failed')) return null;
  const why = all.map(([w, s]) => `${w}: ${(s as { error: string }).error}`).join('; ');
  return `no weight set of the selected models could be loaded from ${resolve(modelsDir)} (${why}); ${WEIGHTS_HINT}`;
}

/** The Fastify instance with its logger, limits and timeouts, taking any body as raw text. */
function createApp(
  maxBody: number,
  logLevel: string,
): { app: FastifyInstance; logDestination: ReturnType<typeof pino.destination> } {
  // the access log is written through a buffered, asynchronous destination: a synchronous write
  // per request cost ~20 % of single-connection throughput on the CNN (bench:serve); it is flushed
  // when the app closes
  const logDestination = pino.destination({ dest: 1, sync: false });
  const app = Fastify({
    loggerInstance: pino({ level: logLevel }, logDestination) as FastifyBaseLogger,
    // Fastify's own two lines per request are replaced by the one access line (addAccessLog)
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: maxBody,
    // a client that stalls mid-body is cut off instead of holding its socket for long; no
    // socket-inactivity timeout, which would also cut requests waiting behind a long queue
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    forceCloseConnections: 'idle',
    return503OnClosing: false,
  });

  // the thesis service read request.data whatever the Content-Type: so does this one
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: maxBody }, (_req, body, done) =>
    done(null, body),
  );
  return { app, logDestination };
}

/** Registers @fastify/cors for the given origins ('*' anywhere in the list: any origin). */
async function registerCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  await app.register(cors, {
    origin: origins.includes('*') ? '*' : [...origins],
    methods: ['GET', 'POST', 'OPTIONS'],
    exposedHeaders: ['X-Model-Id', 'X-Inference-Ms', 'X-Seed'],
    // a plain OPTIONS (no Access-Control-Request-Method) gets 204 as from flask_cors, not a text 400
    strictPreflight: false,
  });
}

/** Once the app starts closing, refuses new requests with the contract's JSON 503; returns whether it is. */
function refuseWhileClosing(app: FastifyInstance): () => boolean {
  // requests that arrive on open connections while closing (SIGINT/SIGTERM) are refused; those
  // already in flight finish
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_req, reply) => {
    if (closing) {
      await reply
        .status(503)
        .header('Connection', 'close')
        .type('application/json')
        .send({ error: 'the server is shutting down; retry on another replica or after restart' });
    }
  });
  return () => closing;
}

/** Logs one access line per request: method, URL, status and milliseconds. */
function addAccessLog(app: FastifyInstance): void {
  app.addHook('onResponse', (req, reply, done) => {
    req.log.info(
      {
        method: req.method,
        url: req.url,
        status: reply.statusCode,
        ms: Number(reply.elapsedTime.toFixed(2)),
      },
      'request',
    );
    done();
  });
}

/** Answers Fastify's own errors (body too large, parse errors, crashes) as `{"error": …}` JSON. */
function setJsonErrorHandler(app: FastifyInstance, maxBody: number): void {
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    const error =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? `request body is larger than the limit of ${maxBody} bytes`
        : err.code === UNDER_PRESSURE_CODE
          ? 'the server is overloaded (event loop or heap); retry after the seconds in Retry-After'
          : err.code === BODY_LIMIT_CODE
            ? err.message
            : status >= 500
              ? `internal error: ${err.message}`
              : `bad request: ${err.message}`;
    if (status >= 500 && status !== 503) reply.log.error(err);
    // a body cut off mid-way leaves the connection unusable; the budget's refusal asks for a retry
    if (err.code === BODY_LIMIT_CODE) void reply.header('Connection', 'close');
    if (err.code === BODY_LIMIT_CODE && status === 503) void reply.header('Retry-After', '1');
    void reply.status(status).type('application/json').send({ error });
  });
}

/**
 * The 404 for a model of the table that `--models` left out (the router, which knows only the served
 * models, would call it unknown); null when the path is not such a model.
 */
export function notServedAnswer(
  path: string,
  served: readonly ModelInfo[],
  selected: readonly string[] | undefined,
): { status: 404; headers: Record<string, string>; body: { error: string } } | null {
  if (!selected?.length) return null;
  const parsed = parseModelPath(path);
  if (parsed?.kind !== 'model') return null;
  const id = parsed.modelId;
  if (!MODELS.some((m) => m.id === id) || served.some((m) => m.id === id)) return null;
  return {
    status: 404,
    headers: { 'Content-Type': 'application/json' },
    body: {
      error:
        `model "${id}" exists but is not served by this instance, which was started with --models ${selected.join(',')}; ` +
        `the models served are ${served.map((m) => m.id).join(', ')} (GET / lists them; restart without --models to serve all fifteen)`,
    },
  };
}

/** Routes every method and path to the contract's router; GET / also reports the weights' load state. */
function registerContractRoutes(
  app: FastifyInstance,
  router: ReturnType<typeof createRouter>,
  weightStates: () => Record<string, WeightState>,
  withOptions: boolean,
  notServed: (path: string) => ReturnType<typeof notServedAnswer>,
): void {
  const handle = async (req: { method: string; url: string; body?: unknown }, reply: FastifyReply) => {
    const path = req.url.split('?')[0];
    const body = typeof req.body === 'string' ? req.body : undefined;
    // the router drops the text once it is parsed; nothing here may keep it alive meanwhile
    req.body = undefined;
    const res = notServed(path) ?? (await router.handle({ method: req.method, path, body }));
    let payload = res.body;
    if (res.status === 200 && path === '/' && payload && typeof payload === 'object') {
      const states = weightStates();
      payload = {
        ...payload,
        server: 'npm run serve (Fastify + onnxruntime-node)',
        weights: states,
        ready: Object.values(states).every((s) => s.state === 'ready'),
      };
    }
    void reply.status(res.status).headers(res.headers).type('application/json').send(payload);
  };
  app.route({ method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'], url: '/', handler: handle });
  app.route({ method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'], url: '/*', handler: handle });
  if (withOptions) app.route({ method: 'OPTIONS', url: '/*', handler: handle });
  // methods Fastify routes nowhere (TRACE, …) still get the contract's JSON answer
  app.setNotFoundHandler((req, reply) => handle(req, reply));
}

/**
 * Workers and intra-op threads per session: what was asked for, the rest chosen so that workers ×
 * threads ≤ the cores (at least one of each).
 */
export function chooseParallelism(
  workers: number | undefined,
  threads: number | undefined,
  cores = availableParallelism(),
): { workers: number; threads: number } {
  if (workers === 0) return { workers: 0, threads: threads ?? Math.min(2, cores) };
  const t = threads ?? (workers ? Math.max(1, Math.floor(cores / workers)) : 1);
  return { workers: workers ?? Math.max(1, Math.floor(cores / t)), threads: t };
}

/** What serves the runs: the pool, or (workers 0) one engine in this process. */
interface Backend {
  engine: GradientEngine;
  pool: InferencePool | null;
  load(weights: string): Promise<void>;
  state(weights: string): WeightState | undefined;
  close(): Promise<void>;
  /** the --model files, checked */
  customs: CheckedModel[];
}

async function createBackend(
  opts: ServeOptions,
  modelsDir: string,
  workers: number,
  threads: number,
  /** the shipped weight sets, which every worker starts loading at once */
  weights: readonly string[],
): Promise<Backend> {
  const verify = opts.verify ?? true;
  const outputs = opts.customOutputs ?? 'logits';
  const paths = opts.customModels ?? [];
  if (workers === 0) {
    const engine = createNodeEngine({ modelsDir, threads, verify });
    const customs = await checkModelFilesInProcess(engine, paths, outputs);
    return {
      engine,
      pool: null,
      customs,
      load: (w) => engine.load(w),
      state: (w) => engine.state(w),
      close: () => engine.release(),
    };
  }
  const runTimeoutMs = opts.runTimeoutMs ?? 10_000;
  const memoryLimitBytes = opts.workerMemoryBytes ?? 2 * 2 ** 30;
  const base = { modelsDir, verify, threads, runTimeoutMs, memoryLimitBytes };
  const customs = await checkModelFilesIsolated(paths, outputs, base, opts.maxModelMemoryBytes ?? 2 ** 30);
  const pool = createInferencePool({
    ...base,
    workers,
    preload: [...weights],
    customs,
  });
  const states = new Map<string, WeightState>();
  return {
    engine: pool,
    pool,
    customs,
    async load(w) {
      states.set(w, { state: 'loading' });
      const st = await pool.load(w);
      states.set(w, st);
      if (st.state === 'failed') throw new Error(st.error);
    },
    state: (w) => states.get(w),
    close: () => pool.close(),
  };
}

/** Builds the HTTP service: inference pool, batching, router and the Fastify app around them (not listening). */
export async function buildService(opts: ServeOptions = {}): Promise<Service> {
  const models = selectModels(opts.models);
  const modelsDir = opts.modelsDir ?? DEFAULT_MODELS_DIR;
  // a --model file of one's own is served whatever the folder holds
  if (!opts.customModels?.length) requireSomeWeightFile(modelsDir, models);
  const maxBody = opts.maxBody ?? MAX_BODY_BYTES;
  const { workers, threads } = chooseParallelism(opts.workers, opts.threads);
  const shipped = [...new Set(models.map((m) => m.weights))];
  const backend = await createBackend(opts, modelsDir, workers, threads, shipped);
  for (const c of backend.customs) models.push(...customModelInfos(c.entry));
  const { app, logDestination } = createApp(maxBody, opts.logLevel ?? 'info');
  const limits: Limits = {
    maxInflightBytes: opts.maxInflightBytes ?? defaultInflightBytes(),
    bodyTimeoutMs: opts.bodyTimeoutMs ?? 30_000,
    maxEventLoopDelayMs: opts.maxEventLoopDelayMs ?? 1000,
  };
  let inflight = () => 0;
  const metrics = createMetrics(
    app,
    models.map((m) => m.id),
    () => backend.pool,
    () => inflight(),
  );
  await registerPressure(app, limits);
  inflight = registerBodyLimits(app, limits, metrics);
  const batching = createBatchingEngine(
    backend.engine,
    opts.maxBatch ?? 64,
    Math.max(1, workers),
    metrics.run,
  );
  // gradient runs are not coalesced: each request is one task of its own (split into chunks)
  const inner = backend.engine;
  const routed = opts.gradients ? { infer: batching.infer, gradient: inner.gradient.bind(inner) } : batching;
  const router = createRouter(routed, { models, maxBodyBytes: maxBody, gradients: opts.gradients });

  // start every weight set loading now; requests to one still loading wait for it, and a failed
  // one answers 503 for its models only
  const weights = [...new Set(models.map((m) => m.weights))];
  const loaded = Promise.allSettled(weights.map((w) => backend.load(w))).then(() => undefined);
  const weightStates = (): Record<string, WeightState> =>
    Object.fromEntries(weights.map((w) => [w, backend.state(w) ?? { state: 'loading' }]));

  for (const c of backend.customs) if (c.warning) app.log.warn(c.warning);
  if (opts.cors !== null) await registerCors(app, opts.cors ?? ['*']);
  const draining = refuseWhileClosing(app);
  registerOperatorRoutes(app, metrics, weightStates, draining);
  addAccessLog(app);
  setJsonErrorHandler(app, maxBody);
  // without CORS nothing answers OPTIONS, so the contract's router does
  registerContractRoutes(app, router, weightStates, opts.cors === null, (path) =>
    notServedAnswer(path, models, opts.models),
  );

  app.addHook('onClose', async () => {
    await backend.close();
    logDestination.flushSync();
  });

  return { app, pool: backend.pool, workers, threads, batching, models, weightStates, loaded };
}
