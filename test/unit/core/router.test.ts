/**
 * The API router (SPEC §4) on the real onnxruntime-node engine. Routing and validation tests run
 * always (they never reach inference); inference tests need public/models/0.onnx and are skipped,
 * with a message, until the training pipeline has written it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeEngine } from '../../../server/node-engine';
import type { ApiResponse } from '../../../src/core/api';
import { encodeBase64 } from '../../../src/core/base64';
import { applyPreprocessor } from '../../../src/core/defenses';
import type { InferenceEngine } from '../../../src/core/engine';
import { grayToFloat } from '../../../src/core/image';
import { CLASS_NAMES_DE } from '../../../src/core/labels';
import { getModel, MODEL_IDS } from '../../../src/core/models';
import { Rng } from '../../../src/core/prng';
import { classifyInputs, createRouter, deriveSeed, parseModelPath } from '../../../src/core/router';
import { parseIdx } from '../../../src/data/idx';

const MODELS_DIR = process.env.PLAYGROUND_MODELS_DIR ?? join(process.cwd(), 'public', 'models');
const HAVE_MODEL = existsSync(join(MODELS_DIR, '0.onnx'));
if (!HAVE_MODEL)
  console.warn(`router inference tests skipped: ${join(MODELS_DIR, '0.onnx')} does not exist yet`);
const DATA_DIR = process.env.FMNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const GOLDEN_LOGITS = join(process.cwd(), 'test', 'golden', 'logits', '0.json');

const engine = createNodeEngine({ modelsDir: MODELS_DIR });
const router = createRouter(engine);
const tmp = mkdtempSync(join(tmpdir(), 'router-'));
afterAll(async () => {
  await engine.release();
  rmSync(tmp, { recursive: true, force: true });
});

/** The Fashion-MNIST test set (uint8, 784 per image) and labels. */
function loadTestSet(): { images: Uint8Array; labels: Uint8Array } {
  const read = (f: string) => parseIdx(new Uint8Array(gunzipSync(readFileSync(join(DATA_DIR, f))))).data;
  return { images: read('t10k-images-idx3-ubyte.gz'), labels: read('t10k-labels-idx1-ubyte.gz') };
}
const testSet = HAVE_MODEL ? loadTestSet() : { images: new Uint8Array(784), labels: new Uint8Array(1) };
const image = (i: number) => testSet.images.subarray(i * 784, (i + 1) * 784);

const req = (extra: Record<string, unknown> = {}, i = 0) => ({
  image: encodeBase64(image(i)),
  image_size: [28, 28],
  channel: 1,
  ...extra,
});
const post = (path: string, body: unknown) =>
  router.handle({ method: 'POST', path, body: typeof body === 'string' ? body : JSON.stringify(body) });

function expectJsonError(res: ApiResponse, status: number, pattern?: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers['Content-Type']).toBe('application/json');
  const err = (res.body as { error?: unknown }).error;
  expect(typeof err).toBe('string');
  if (pattern) expect(err).toMatch(pattern);
}

function expectProbabilities(p: unknown) {
  expect(Array.isArray(p)).toBe(true);
  const probs = p as number[];
  expect(probs).toHaveLength(10);
  expect(probs.every((v) => typeof v === 'number' && v >= 0 && v <= 1)).toBe(true);
  expect(Math.abs(probs.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
}

describe('parseModelPath', () => {
  it.each([
    ['/', { kind: 'root' }],
    ['/?q=1', { kind: 'root' }],
    ['/0/decision', { kind: 'model', modelId: '0', action: 'decision' }],
    ['/0/score/', { kind: 'model', modelId: '0', action: 'score' }],
    ['/0/1/decision', { kind: 'model', modelId: '0_1', action: 'decision' }],
    ['/5/4/score?seed=3#x', { kind: 'model', modelId: '5_4', action: 'score' }],
    ['/0_1/decision', { kind: 'model', modelId: '0_1', action: 'decision' }],
    ['/0%5F3/score', { kind: 'model', modelId: '0_3', action: 'score' }],
    ['/9/decision', { kind: 'model', modelId: '9', action: 'decision' }],
  ])('%s', (path, want) => expect(parseModelPath(path)).toEqual(want));

  it.each([
    '',
    'decision',
    '/decision',
    '/0',
    '/0/predict',
    '/0/1/2/decision',
    '//decision',
    '/0//score',
    '/%E0/score',
  ])('%j is no route', (path) => expect(parseModelPath(path)).toBeNull());
});

describe('router: routes, methods and request errors', () => {
  it('GET / describes the service and all 15 models with their routes', async () => {
    const res = await router.handle({ method: 'GET', path: '/' });
    expect(res.status).toBe(200);
    expect(res.headers['Content-Type']).toBe('application/json');
    const body = res.body as {
      service: string;
      contract: unknown;
      models: { id: string; routes: { decision: string; aliases: string[] }; randomized: boolean }[];
    };
    expect(body.service).toMatch(/Fashion-MNIST/);
    expect(body.contract).toBeTruthy();
    expect(body.models.map((m) => m.id)).toEqual(MODEL_IDS);
    const m03 = body.models.find((m) => m.id === '0_3')!;
    expect(m03.routes.decision).toBe('/0/3/decision');
    expect(m03.routes.aliases).toContain('/0_3/decision');
    expect(m03.randomized).toBe(true);
    expect(body.models.find((m) => m.id === '2')!.routes.decision).toBe('/2/decision');
    expect((await router.handle({ method: 'get', path: '/?x=1' })).status).toBe(200);
  });

  it.each([
    ['POST', '/', 'GET'],
    ['GET', '/0/decision', 'POST'],
    ['PUT', '/0/1/score', 'POST'],
    ['DELETE', '/5_4/decision/', 'POST'],
  ])('405 for %s %s with Allow: %s', async (method, path, allow) => {
    const res = await router.handle({ method, path });
    expectJsonError(res, 405, new RegExp(`${method} is not allowed.*use ${allow}`));
    expect(res.headers.Allow).toBe(allow);
  });

  it.each([
    ['/7/decision', /unknown model "7"; the models are 0, 0_1/],
    ['/0/9/score', /unknown model "0_9"/],
    ['/0_1_2/decision', /unknown model "0_1_2"/],
    ['/foo', /no route for POST \/foo/],
    ['/0/decision/extra', /no route/],
    ['/0/predict', /no route/],
  ])('404 for %s', async (path, pattern) => {
    expectJsonError(await post(path, req()), 404, pattern);
  });

  it.each([
    ['malformed JSON', '{"image": "AAAA", ', /not valid JSON/],
    ['a missing field', { image_size: [28, 28], channel: 1 }, /missing field "image"/],
    ['an ill-typed field', { image: 'AAAA', image_size: [28, 28], channel: '1' }, /field "channel"/],
    ['bad base64', { image: '#', image_size: [1, 1], channel: 1 }, /not valid base64/],
    ['channel 4', { image: 'AAAA', image_size: [1, 1], channel: 4 }, /field "channel" must be 1 .* or 3/],
    ['size 0', { image: 'AAAA', image_size: [0, 1], channel: 1 }, /image_size\[0\]/],
    ['a side over 4096', { image: 'AAAA', image_size: [1, 5000], channel: 1 }, /image_size\[1\].*4096/],
    [
      'a byte-length mismatch',
      { image: 'AAAA', image_size: [2, 2], channel: 1 },
      /decodes to 3 bytes.*needs .* 4 bytes/,
    ],
    ['an empty batch', { batch: [] }, /"batch"/],
    [
      'a bad batch item',
      { batch: [{ image: 'AAAA', image_size: [3, 1], channel: 1 }, { image: 'AAAA' }] },
      /^batch\[1\]: missing field "image_size"/,
    ],
  ])('400 for %s, on every model', async (_name, body, pattern) => {
    for (const [path, id] of [
      ['/0/decision', '0'],
      ['/2/1/score', '2_1'],
      ['/5_3/decision', '5_3'],
    ]) {
      const res = await post(path, body);
      expectJsonError(res, 400, pattern);
      expect(res.headers['X-Model-Id']).toBe(id);
    }
  });

  it('413 for a body over the limit', async () => {
    const small = createRouter(engine, { maxBodyBytes: 100 });
    const res = await small.handle({
      method: 'POST',
      path: '/0/decision',
      body: JSON.stringify({ image: 'A'.repeat(200) }),
    });
    expectJsonError(res, 413, /larger than the limit of 100 bytes/);
  });

  it('503 naming the model and the reason when its weights are missing; other models unaffected', async () => {
    const empty = createNodeEngine({ modelsDir: mkdtempSync(join(tmp, 'empty-')) });
    const r = createRouter(empty);
    const body = JSON.stringify({ image: encodeBase64(new Uint8Array(4)), image_size: [2, 2], channel: 1 });
    const res = await r.handle({ method: 'POST', path: '/0/3/score', body });
    expectJsonError(
      res,
      503,
      /model "0_3" is unavailable: model weights '0' could not be loaded: .*0\.onnx does not exist/,
    );
    expect(res.headers['X-Model-Id']).toBe('0_3');
    expect((await r.handle({ method: 'GET', path: '/' })).status).toBe(200);
  });

  it('500 JSON, never a throw, when the engine fails unexpectedly or returns the wrong shape', async () => {
    const body = JSON.stringify({ image: 'AAAA', image_size: [3, 1], channel: 1 });
    const broken: InferenceEngine = { infer: () => Promise.reject(new TypeError('boom')) };
    expectJsonError(
      await createRouter(broken).handle({ method: 'POST', path: '/0/decision', body }),
      500,
      /internal error: boom/,
    );
    const short: InferenceEngine = { infer: async () => new Float32Array(3) };
    expectJsonError(
      await createRouter(short).handle({ method: 'POST', path: '/0/score', body }),
      500,
      /3 logits for 1 images/,
    );
    const nan: InferenceEngine = { infer: async () => new Float32Array(10).fill(Number.NaN) };
    expectJsonError(
      await createRouter(nan).handle({ method: 'POST', path: '/0/score', body }),
      500,
      /non-finite/,
    );
    const weird = await createRouter(broken).handle({
      method: undefined as unknown as string,
      path: null as unknown as string,
    });
    expect(weird.status).toBe(404);
  });
});

describe.skipIf(!HAVE_MODEL)('router on the real CNN (public/models/0.onnx)', () => {
  it('test image 0 (an ankle boot) is "Ankle boot" on /0/decision', async () => {
    expect(testSet.labels[0]).toBe(9);
    const res = await post('/0/decision', req());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: 'Ankle boot' });
    expect(res.headers['Content-Type']).toBe('application/json');
    expect(res.headers['X-Model-Id']).toBe('0');
    expect(res.headers['X-Inference-Ms']).toMatch(/^\d+\.\d\d$/);
    expect(res.headers['X-Seed']).toBeUndefined();
  });

  it('/0/score gives 10 softmax probabilities with the maximum at class 9', async () => {
    const res = await post('/0/score/', req());
    expect(res.status).toBe(200);
    const p = (res.body as { data: number[] }).data;
    expectProbabilities(p);
    expect(p.indexOf(Math.max(...p))).toBe(9);
  });

  it('the same image as RGB, and upscaled to 56x56, is still an ankle boot', async () => {
    const gray = image(0);
    const rgb = new Uint8Array(784 * 3).map((_, i) => gray[Math.floor(i / 3)]);
    const asRgb = await post('/0/score', { image: encodeBase64(rgb), image_size: [28, 28], channel: 3 });
    const asGray = await post('/0/score', req());
    // PIL's L of (v, v, v) is v, so the model input is identical
    expect(asRgb.body).toEqual(asGray.body);
    const big = new Uint8Array(56 * 56).map(
      (_, i) => gray[Math.floor(Math.floor(i / 56) / 2) * 28 + Math.floor((i % 56) / 2)],
    );
    const up = await post('/0/decision', { image: encodeBase64(big), image_size: [56, 56], channel: 1 });
    expect(up.body).toEqual({ data: 'Ankle boot' });
  });

  it('a batch is one engine call and answers like the single requests; accuracy on 100 images >= 80 %', async () => {
    let calls = 0;
    const counting: InferenceEngine = {
      infer: (w, x, n) => {
        calls++;
        return engine.infer(w, x, n);
      },
    };
    const r = createRouter(counting);
    const n = 100;
    const res = await r.handle({
      method: 'POST',
      path: '/0/decision',
      body: JSON.stringify({ batch: Array.from({ length: n }, (_, i) => req({}, i)) }),
    });
    expect(res.status).toBe(200);
    expect(calls).toBe(1);
    const names = (res.body as { data: string[] }).data;
    expect(names).toHaveLength(n);
    const correct = names.filter((name, i) => name === CLASS_NAMES_DE[testSet.labels[i]]).length;
    expect(correct / n).toBeGreaterThanOrEqual(0.8);
    for (const i of [0, 1, 2, 3])
      expect((await post('/0/decision', req({}, i))).body).toEqual({ data: names[i] });
  });

  it.skipIf(!existsSync(GOLDEN_LOGITS))(
    'probabilities match PyTorch golden logits (test/golden/logits/0.json) within 1e-4',
    async () => {
      const golden = JSON.parse(readFileSync(GOLDEN_LOGITS, 'utf8')) as {
        test_indices: number[];
        logits: number[][];
      };
      const res = await post('/0/score', { batch: golden.test_indices.map((i) => req({}, i)) });
      const probs = (res.body as { data: number[][] }).data;
      golden.logits.forEach((z, k) => {
        const m = Math.max(...z);
        const e = z.map((v) => Math.exp(v - m));
        const s = e.reduce((a, b) => a + b, 0);
        for (let c = 0; c < 10; c++) expect(Math.abs(probs[k][c] - e[c] / s)).toBeLessThan(1e-4);
      });
    },
  );

  for (const [id, path] of [
    ['0_3', '/0/3/score'],
    ['0_4', '/0_4/score'],
  ] as const) {
    it(`${id}: a seeded request reproduces exactly; unseeded ones vary and report a replayable X-Seed`, async () => {
      const a = await post(path, req({ seed: 1234 }, 5));
      const b = await post(path, req({ seed: 1234 }, 5));
      expect(a.status).toBe(200);
      expect(a.headers['X-Seed']).toBe('1234');
      expect(a.headers['X-Model-Id']).toBe(id);
      expect(b.body).toEqual(a.body);
      expectProbabilities((a.body as { data: number[] }).data);

      const free = await Promise.all(Array.from({ length: 8 }, () => post(path, req({}, 5))));
      const seeds = new Set(free.map((r) => r.headers['X-Seed']));
      expect(seeds.size).toBeGreaterThan(1);
      expect(new Set(free.map((r) => JSON.stringify(r.body))).size).toBeGreaterThan(1);
      for (const r of free.slice(0, 3)) {
        const replay = await post(path, req({ seed: Number(r.headers['X-Seed']) }, 5));
        expect(replay.body).toEqual(r.body);
      }
    });
  }

  it('batch seeds: item i uses its own seed, else deriveSeed(batch seed, i)', async () => {
    const res = await post('/0/4/score', {
      batch: [req({}, 0), req({ seed: 77 }, 1), req({}, 2)],
      seed: 500,
    });
    expect(res.headers['X-Seed']).toBe('500');
    const data = (res.body as { data: number[][] }).data;
    expect((await post('/0/4/score', req({ seed: 500 }, 0))).body).toEqual({ data: data[0] });
    expect((await post('/0/4/score', req({ seed: 77 }, 1))).body).toEqual({ data: data[1] });
    expect((await post('/0/4/score', req({ seed: deriveSeed(500, 2) }, 2))).body).toEqual({ data: data[2] });
  });

  it('classifyInputs reports what the model received and the draws', async () => {
    const x = grayToFloat(image(0));
    const model = getModel('0_3')!;
    const res = await classifyInputs(engine, model, [x, x], 42);
    expect(res.seed).toBe(42);
    expect(res.draws[0]).toMatchObject({ kind: 'resize_pad', seed: 42 });
    expect(res.draws[1]).toMatchObject({ kind: 'resize_pad', seed: deriveSeed(42, 1) });
    expect(Array.from(res.modelInputs[0])).toEqual(
      Array.from(applyPreprocessor(model.preprocessor!, x, new Rng(42)).output),
    );
    expect(res.logits).toHaveLength(2);
    expect(res.preds).toHaveLength(2);
    expect(res.inferenceMs).toBeGreaterThanOrEqual(0);
    const plain = await classifyInputs(engine, getModel('0')!, [x]);
    expect(plain.seed).toBeNull();
    expect(plain.draws).toEqual([{ kind: 'none' }]);
    expect(plain.modelInputs[0]).toBe(x);
    expect(plain.preds).toEqual([9]);
    const custom = await classifyInputs(
      engine,
      { weights: '0', preprocessor: { kind: 'noise', sigma: 0.05 } },
      [x],
      3,
    );
    expect(custom.draws[0]).toEqual({ kind: 'noise', sigma: 0.05, seed: 3 });
  });

  describe('no input makes the router throw; answers are 2xx with probabilities or 4xx with an error', () => {
    const paths = ['/0/score', '/0/decision', '/0/3/score', '/0_4/score', '/0/4/decision/'];
    const check = async (path: string, body: string) => {
      const res = await router.handle({ method: 'POST', path, body });
      expect(res.headers['Content-Type']).toBe('application/json');
      if (res.status >= 200 && res.status < 300) {
        const data = (res.body as { data: unknown }).data;
        if (path.includes('score')) expectProbabilities(data);
        else expect(CLASS_NAMES_DE).toContain(data);
      } else {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(typeof (res.body as { error: unknown }).error).toBe('string');
      }
    };

    it('arbitrary strings', () =>
      fc.assert(fc.asyncProperty(fc.constantFrom(...paths), fc.string(), check), { numRuns: 150 }));

    it('arbitrary JSON values', () =>
      fc.assert(
        fc.asyncProperty(fc.constantFrom(...paths), fc.jsonValue(), (p, v) => check(p, JSON.stringify(v))),
        { numRuns: 150 },
      ));

    it('random valid-looking requests (right or wrong byte counts, odd sizes, seeds)', () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...paths),
          fc.integer({ min: 1, max: 40 }),
          fc.integer({ min: 1, max: 40 }),
          fc.constantFrom(1, 3, 2),
          fc.integer({ min: -2, max: 2 }),
          fc.option(fc.integer({ min: -1, max: 2 ** 32 }), { nil: undefined }),
          fc.integer(),
          async (path, w, h, channel, delta, seed, fill) => {
            const bytes = new Uint8Array(Math.max(0, w * h * channel + (delta === 2 ? 0 : delta))).map(
              (_, i) => (fill + i * 31) & 255,
            );
            const body: Record<string, unknown> = { image: encodeBase64(bytes), image_size: [w, h], channel };
            if (seed !== undefined) body.seed = seed;
            await check(path, JSON.stringify(body));
          },
        ),
        { numRuns: 150 },
      ));
  });
});
