/**
 * The thesis service's HTTP contract (SPEC §4) as a pure function: request in, JSON response out.
 * The worker puts it behind the page's fetch shim; Node tools and tests call it directly. It never
 * throws: every failure is a JSON error with the status the SPEC names.
 */

import { type ApiRequest, type ApiResponse, modelRoute } from './api';
import { describeCustomModel } from './custom-models';
import { applyPreprocessor, type PreprocessDraw } from './defenses';
import { type GradientEngine, type InferenceEngine, ModelUnavailableError, RunAbortedError } from './engine';
import { answerGradient } from './gradient-route';
import { MODEL_PIXELS, toModelInput } from './image';
import { CLASS_NAMES_DE, NUM_CLASSES } from './labels';
import { argmaxRows, softmaxRows, splitRows } from './math';
import { ARCH_LABEL, DEFENSE_LABEL, MODELS, type ModelInfo, type PreprocessorSpec } from './models';
import { deriveSeed, freshSeed, Rng } from './prng';
import { parseModelPath } from './routes';

export { deriveSeed };

import { MAX_BATCH, MAX_BODY_BYTES, MAX_SEED, MAX_SIDE, parseRequestBody } from './request';

export { type Action, type ParsedPath, parseModelPath } from './routes';

export interface RouterOptions {
  /**
   * the models served (default: the fifteen of SPEC §2); a function is asked on every request, so
   * models can be added and removed while the router runs (uploaded custom models)
   */
  models?: readonly ModelInfo[] | (() => readonly ModelInfo[]);
  /** seed source for randomized requests without a seed (default: crypto) */
  freshSeed?: () => number;
  /** clock for X-Inference-Ms (default: performance.now) */
  now?: () => number;
  maxBodyBytes?: number;
  /** serve POST /<model>/gradient (the engine must implement GradientEngine) */
  gradients?: boolean;
}

/** What a classification ran through: a model of the table, or a custom weights + preprocessor pair. */
export type ClassifyModel = ModelInfo | { weights: string; preprocessor: PreprocessorSpec | null };

/** The random choices for one input: `none` for deterministic models, else the draw and its seed. */
export type InputDraw = { kind: 'none' } | (PreprocessDraw & { seed: number });

export interface ClassifyOptions {
  /** per-input seeds overriding the ones derived from `seed` (batch items that carry their own) */
  itemSeeds?: readonly (number | undefined)[];
  freshSeed?: () => number;
  now?: () => number;
}

export interface ClassifyResult {
  logits: Float32Array[];
  probs: Float32Array[];
  preds: number[];
  /** what the network actually received, after the preprocessor */
  modelInputs: Float32Array[];
  draws: InputDraw[];
  /** the base seed of a randomized preprocessor (drawn when none was given), else null */
  seed: number | null;
  /** time spent in engine.infer, ms */
  inferenceMs: number;
}

const defaultNow = () => globalThis.performance.now();

/**
 * Runs inputs (each 784 floats in [0,1]) through a model: its preprocessor, one engine call for the
 * whole batch, softmax and argmax. Randomized preprocessors draw from `seed` (fresh when absent),
 * input i from the seed `deriveSeed(seed, i)` unless `opts.itemSeeds[i]` is given.
 */
export async function classifyInputs(
  engine: InferenceEngine,
  model: ClassifyModel,
  inputs: readonly Float32Array[],
  seed?: number,
  opts: ClassifyOptions = {},
): Promise<ClassifyResult> {
  inputs.forEach((x, i) => {
    if (!(x instanceof Float32Array) || x.length !== MODEL_PIXELS) {
      throw new RangeError(`input ${i} must be a Float32Array of ${MODEL_PIXELS} values`);
    }
  });
  const spec = model.preprocessor;
  const base = spec ? (seed ?? (opts.freshSeed ?? freshSeed)()) : null;
  const modelInputs: Float32Array[] = [];
  const draws: InputDraw[] = [];
  inputs.forEach((x, i) => {
    if (!spec || base === null) {
      modelInputs.push(x);
      draws.push({ kind: 'none' });
      return;
    }
    const itemSeed = opts.itemSeeds?.[i] ?? deriveSeed(base, i);
    const { output, draw } = applyPreprocessor(spec, x, new Rng(itemSeed));
    modelInputs.push(output);
    draws.push({ ...draw, seed: itemSeed });
  });
  const n = inputs.length;
  if (n === 0) return { logits: [], probs: [], preds: [], modelInputs, draws, seed: base, inferenceMs: 0 };

  const batch = new Float32Array(n * MODEL_PIXELS);
  for (let i = 0; i < n; i++) batch.set(modelInputs[i], i * MODEL_PIXELS);
  const now = opts.now ?? defaultNow;
  const t0 = now();
  const out = await engine.infer(model.weights, batch, n);
  const inferenceMs = now() - t0;
  if (out.length !== n * NUM_CLASSES) {
    throw new Error(`engine returned ${out.length} logits for ${n} images (expected ${n * NUM_CLASSES})`);
  }
  return {
    logits: splitRows(out, n),
    probs: softmaxRows(out, n),
    preds: argmaxRows(out, n),
    modelInputs,
    draws,
    seed: base,
    inferenceMs,
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function routesOf(m: ModelInfo): { decision: string; score: string; aliases: string[] } {
  // the canonical routes (core/api), and the underscore alias of a defended shipped model
  const aliases = m.arch !== 'custom' && m.id.includes('_') ? [`/${m.id}/decision`, `/${m.id}/score`] : [];
  return { decision: modelRoute(m.id, 'decision'), score: modelRoute(m.id, 'score'), aliases };
}

function describeService(models: readonly ModelInfo[], gradients: boolean) {
  return {
    service: 'Fashion-MNIST classifier playground API',
    description:
      'The HTTP contract of the thesis classifier service, answered in the browser page or natively (npm run serve): fifteen Fashion-MNIST ' +
      'classifiers (CNN, ResNet18, ViT; vanilla and four defenses) run in onnxruntime, and the ONNX classifiers users bring ' +
      '(/custom/<id>/…, with defended variants /custom/<id>/3/… resize & pad, /4/… Gaussian noise, /blur/… Gaussian blur).',
    contract: {
      request:
        'POST JSON {"image": "<base64 of raw pixel bytes>", "image_size": [width, height], "channel": 1 | 3}; ' +
        'channel 1: one gray byte per pixel, channel 3: interleaved RGB, row-major',
      conversion:
        "RGB -> gray as PIL's convert('L'); bilinear resize to 28x28 as PIL's Image.resize when the size " +
        'differs; divide by 255',
      decision: '200 {"data": "<German class name>"}',
      score: '200 {"data": [10 softmax probabilities]} (the thesis returned raw network outputs)',
      errors:
        '{"error": "<what is wrong>"}: 400 bad request, 404 unknown model or route, 405 wrong method, ' +
        '413 body too large, 503 model could not be loaded or its run was stopped (time limit) or lost (Retry-After), 500 unexpected',
      extensions: {
        seed: `optional integer 0..${MAX_SEED}; makes a randomized defense reproducible. Responses of randomized models carry X-Seed.`,
        batch: `{"batch": [request, ...], "seed"?: int} with 1..${MAX_BATCH} items; data becomes a list. Item i without its own seed uses a seed derived from the batch seed.`,
        gradient: gradients
          ? 'POST /<model>/gradient: the request plus "label" (0-9), optional "loss" ("ce" | "margin" | "dlr"), "target" (with "dlr": targeted DLR), "seed", "eot" (draws of a randomized defense); ' +
            '200 {"data": {"loss": float, "logits": [10 floats], "gradient": [784 floats]}}, the gradient of the loss with respect to the 28x28 model input in [0,1] after the conversion. 422 when the model has an op without a gradient rule.'
          : 'off (start the service with --gradients for POST /<model>/gradient)',
      },
      limits: { max_side: MAX_SIDE, max_body_bytes: MAX_BODY_BYTES, max_batch: MAX_BATCH },
      headers: 'X-Model-Id, X-Inference-Ms (engine time), X-Seed (randomized models)',
      classes: CLASS_NAMES_DE,
    },
    models: models.map((m) => ({
      id: m.id,
      arch: ARCH_LABEL[m.arch],
      defense: DEFENSE_LABEL[m.defense],
      weights: m.weights,
      randomized: m.preprocessor !== null,
      preprocessor: m.preprocessor,
      routes: routesOf(m),
      ...(m.custom && { custom: describeCustomModel(m.custom) }),
    })),
  };
}

export function createRouter(engine: InferenceEngine, opts: RouterOptions = {}) {
  const source = opts.models ?? MODELS;
  let lastModels: readonly ModelInfo[] | null = null;
  let byId = new Map<string, ModelInfo>();
  let knownIds = '';
  const current = (): readonly ModelInfo[] => {
    const models = typeof source === 'function' ? source() : source;
    if (models !== lastModels) {
      lastModels = models;
      byId = new Map(models.map((m) => [m.id, m]));
      knownIds = models.map((m) => m.id).join(', ');
    }
    return models;
  };

  async function route(req: ApiRequest): Promise<ApiResponse> {
    const method = String(req.method ?? '').toUpperCase();
    const path = String(req.path ?? '');
    const parsed = parseModelPath(path);
    if (parsed === null) {
      return json(404, { error: `no route for ${method} ${path}; GET / lists the models and their routes` });
    }
    if (parsed.kind === 'root') {
      if (method !== 'GET')
        return json(405, { error: `${method} is not allowed on /; use GET` }, { Allow: 'GET' });
      return json(200, describeService(current(), Boolean(opts.gradients && 'gradient' in engine)));
    }
    current();
    const model = byId.get(parsed.modelId);
    if (!model) {
      return json(404, { error: `unknown model "${parsed.modelId}"; the models are ${knownIds}` });
    }
    const modelHeaders = { 'X-Model-Id': model.id };
    if (method !== 'POST') {
      return json(
        405,
        { error: `${method} is not allowed on ${path}; use POST` },
        { Allow: 'POST', ...modelHeaders },
      );
    }
    const gradient = parsed.action === 'gradient';
    if (gradient && !(opts.gradients && 'gradient' in engine)) {
      return json(
        404,
        {
          error: `${path}: the gradient route is an extension of this service that is off; start it with \`npm run serve -- --gradients\` to compute input gradients`,
        },
        modelHeaders,
      );
    }
    const body = parseRequestBody(req.body, opts.maxBodyBytes, gradient);
    // a large body's text is not kept alive while its images are classified
    req.body = undefined;
    if (!body.ok) return json(body.status, { error: body.error }, modelHeaders);
    if (gradient) {
      return answerGradient(engine as GradientEngine, model, body.value, modelHeaders, {
        freshSeed: opts.freshSeed,
        now: opts.now,
      });
    }
    const { items, batch } = body.value;
    const inputs = items.map((it) => toModelInput(it.pixels, it.width, it.height, it.channel));
    const seed = batch ? body.value.seed : items[0].seed;
    let result: ClassifyResult;
    try {
      result = await classifyInputs(engine, model, inputs, seed, {
        itemSeeds: batch ? items.map((it) => it.seed) : undefined,
        freshSeed: opts.freshSeed,
        now: opts.now,
      });
    } catch (e) {
      if (e instanceof ModelUnavailableError) {
        return json(503, { error: `model "${model.id}" is unavailable: ${e.message}` }, modelHeaders);
      }
      if (e instanceof RunAbortedError) {
        return json(
          503,
          { error: `model "${model.id}": ${e.message}` },
          { ...modelHeaders, 'Retry-After': '1' },
        );
      }
      throw e;
    }
    if (result.probs.some((p) => p.some((v) => !Number.isFinite(v)))) {
      return json(500, { error: `model "${model.id}" produced non-finite logits` }, modelHeaders);
    }
    const headers: Record<string, string> = {
      ...modelHeaders,
      'X-Inference-Ms': result.inferenceMs.toFixed(2),
    };
    if (result.seed !== null) headers['X-Seed'] = String(result.seed);
    const answers =
      parsed.action === 'decision'
        ? result.preds.map((p) => CLASS_NAMES_DE[p])
        : result.probs.map((p) => Array.from(p));
    return json(200, { data: batch ? answers : answers[0] }, headers);
  }

  return {
    async handle(req: ApiRequest): Promise<ApiResponse> {
      try {
        return await route(req);
      } catch (e) {
        return json(500, { error: `internal error: ${errorText(e)}` });
      }
    },
  };
}
