import { describe, expect, it } from 'vitest';
import {
  BudgetExhausted,
  CountingOracle,
  createHttpOracle,
  createRouterOracle,
  type DecisionOracle,
  encodeApiRequest,
  majority,
  OracleHttpError,
  quantize,
  type ScoreOracle,
  withEOT,
} from '../../../src/attacks/oracle';
import { decodeBase64 } from '../../../src/core/base64';
import { CLASS_NAMES_DE } from '../../../src/core/labels';
import { LinearModel } from './linear';

/** Answers a fixed script of labels, one per image, in order. */
class ScriptedOracle implements DecisionOracle, ScoreOracle {
  images = 0;
  constructor(private readonly script: number[]) {}
  async decide(xs: Float32Array[]): Promise<number[]> {
    return xs.map(() => this.script[this.images++ % this.script.length]);
  }
  async score(xs: Float32Array[]): Promise<Float32Array[]> {
    return xs.map(() => {
      const p = new Float32Array(3);
      p[this.script[this.images++ % this.script.length]] = 1;
      return p;
    });
  }
}

const img = (...v: number[]) => Float32Array.from(v);

describe('CountingOracle', () => {
  it('counts one query per image and refuses a call that does not fit, sending nothing', async () => {
    const model = new LinearModel(
      [
        [1, 0],
        [0, 1],
      ],
      [0, 0],
    );
    const events: number[] = [];
    const c = new CountingOracle(model, { budget: 5, onQuery: (e) => events.push(e.used) });
    expect(await c.decide([img(1, 0), img(0, 1)])).toEqual([0, 1]);
    await c.score([img(1, 0)]);
    expect(c.used).toBe(3);
    expect(c.remaining).toBe(2);
    expect(c.affordable()).toBe(2);
    await expect(c.decide([img(0, 0), img(0, 0), img(0, 0)])).rejects.toBeInstanceOf(BudgetExhausted);
    expect(model.images).toBe(3); // the refused call never reached the model
    expect(c.used).toBe(3);
    await c.decide([img(0, 0), img(0, 0)]);
    expect(c.used).toBe(5);
    await expect(c.decide([img(0, 0)])).rejects.toThrow(/budget exhausted/);
    expect(events).toEqual([2, 3, 5]);
    expect(model.images).toBe(5);
  });

  it('reserves budget before awaiting, so concurrent calls cannot overrun it', async () => {
    const model = new LinearModel(
      [
        [1, 0],
        [0, 1],
      ],
      [0, 0],
    );
    const c = new CountingOracle(model, { budget: 3 });
    const results = await Promise.allSettled([
      c.decide([img(1, 0), img(1, 0)]),
      c.decide([img(1, 0), img(1, 0)]),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(model.images).toBe(2);
  });
});

describe('withEOT', () => {
  it('asks each image k times in one call, charges k queries per image and majority-votes', async () => {
    // votes per image: [1,2,2,1,0] → tie 1 vs 2 → lowest index 1; [2,2,0,2,1] → 2
    const inner = new ScriptedOracle([1, 2, 2, 1, 0, 2, 2, 0, 2, 1]);
    const eot = withEOT(inner, 5);
    expect(eot.queryCost).toBe(5);
    const counter = new CountingOracle(eot, { budget: 12 });
    expect(counter.affordable()).toBe(2);
    expect(await counter.decide([img(0), img(0)])).toEqual([1, 2]);
    expect(inner.images).toBe(10);
    expect(counter.used).toBe(10);
    await expect(counter.decide([img(0)])).rejects.toBeInstanceOf(BudgetExhausted);
    expect(inner.images).toBe(10);
  });

  it('averages probability vectors', async () => {
    const inner = new ScriptedOracle([0, 0, 1, 2]);
    const eot = withEOT(inner, 4);
    const [p] = await eot.score([img(0)]);
    expect(Array.from(p)).toEqual([0.5, 0.25, 0.25]);
  });

  it('majority() breaks ties by the lowest class index', () => {
    expect(majority([3, 1, 3, 1])).toBe(1);
    expect(majority([4, 4, 2])).toBe(4);
    expect(majority([9])).toBe(9);
  });

  it('rejects a non-positive k', () => {
    expect(() => withEOT(new ScriptedOracle([0]), 0)).toThrow(RangeError);
  });
});

describe('quantize', () => {
  it('snaps to round(x·255)/255, clamped to [0, 1]', () => {
    const q = quantize([0, 1, -0.2, 1.7, 0.5, 0.5 / 255, 0.49 / 255, 0.2]);
    expect(Array.from(q, (v) => Math.round(v * 255))).toEqual([0, 255, 0, 255, 128, 1, 0, 51]);
    // idempotent on the grid
    expect(Array.from(quantize(q))).toEqual(Array.from(q));
  });
});

describe('HTTP oracle', () => {
  type Call = { url: string; body: Record<string, unknown> };
  const fakeFetch = (
    answer: (url: string, body: Record<string, unknown>) => { status: number; json: unknown },
  ) => {
    const calls: Call[] = [];
    const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      const body = JSON.parse(String(init?.body));
      expect(init?.method).toBe('POST');
      calls.push({ url, body });
      const a = answer(url, body);
      return new Response(JSON.stringify(a.json), { status: a.status });
    }) as typeof fetch;
    return { f, calls };
  };

  const x = new Float32Array(784);
  x[0] = 1;
  x[1] = 0.5;
  x[783] = 0.2;

  it('posts the API body (uint8 base64, image_size, channel 1) to /<model>/decision and maps German names', async () => {
    const { f, calls } = fakeFetch(() => ({ status: 200, json: { data: CLASS_NAMES_DE[8] } }));
    const o = createHttpOracle({ baseUrl: 'http://host/api/', modelId: '0_1', fetch: f });
    expect(await o.decide([x, x])).toEqual([8, 8]);
    expect(calls).toHaveLength(2);
    expect(calls[0].url).toBe('http://host/api/0_1/decision');
    expect(calls[0].body.image_size).toEqual([28, 28]);
    expect(calls[0].body.channel).toBe(1);
    expect(calls[0].body.seed).toBeUndefined();
    const bytes = decodeBase64(calls[0].body.image as string);
    expect(bytes.length).toBe(784);
    expect([bytes[0], bytes[1], bytes[2], bytes[783]]).toEqual([255, 128, 0, 51]);
  });

  it('posts to the canonical route when asked (services without the underscore alias)', async () => {
    const { f, calls } = fakeFetch(() => ({ status: 200, json: { data: 3 } }));
    await createHttpOracle({ baseUrl: 'http://h/', modelId: '0_1', fetch: f, canonicalRoute: true }).decide([
      x,
    ]);
    await createHttpOracle({
      baseUrl: 'http://h',
      modelId: 'custom/mlp',
      fetch: f,
      canonicalRoute: true,
    }).decide([x]);
    await createHttpOracle({
      baseUrl: 'http://h',
      modelId: 'custom/mlp/3',
      fetch: f,
      canonicalRoute: true,
    }).decide([x]);
    expect(calls.map((c) => c.url)).toEqual([
      'http://h/0/1/decision',
      'http://h/custom/mlp/decision',
      'http://h/custom/mlp/3/decision',
    ]);
  });

  it('reads probability vectors from /score', async () => {
    const probs = [0.1, 0, 0, 0, 0, 0, 0, 0, 0.9, 0];
    const { f, calls } = fakeFetch(() => ({ status: 200, json: { data: probs } }));
    const o = createHttpOracle({ baseUrl: 'http://h', modelId: '2', fetch: f });
    const [p] = await o.score([x]);
    expect(calls[0].url).toBe('http://h/2/score');
    expect(Array.from(p)).toEqual(Array.from(Float32Array.from(probs)));
  });

  it('uses the batch extension {"batch": [...]} → {"data": [...]} in one request', async () => {
    const { f, calls } = fakeFetch((_, body) => ({
      status: 200,
      json: { data: (body.batch as unknown[]).map((_, i) => CLASS_NAMES_DE[i]) },
    }));
    const o = createHttpOracle({ baseUrl: 'http://h', modelId: '5', fetch: f, batch: true, seed: 7 });
    expect(await o.decide([x, x, x])).toEqual([0, 1, 2]);
    expect(calls).toHaveLength(1);
    const batch = calls[0].body.batch as Record<string, unknown>[];
    expect(batch).toHaveLength(3);
    expect(batch[0].image_size).toEqual([28, 28]);
    // a seed per request: fresh for each image, reproducible from the oracle's seed
    const seeds = batch.map((r) => r.seed as number);
    expect(new Set(seeds).size).toBe(3);
    const again = fakeFetch((_, body) => ({
      status: 200,
      json: { data: (body.batch as unknown[]).map(() => 'Hosen') },
    }));
    await createHttpOracle({
      baseUrl: 'http://h',
      modelId: '5',
      fetch: again.f,
      batch: true,
      seed: 7,
    }).decide([x, x, x]);
    expect((again.calls[0].body.batch as Record<string, unknown>[]).map((r) => r.seed)).toEqual(seeds);
  });

  it('throws the server error message on non-2xx answers', async () => {
    const { f } = fakeFetch(() => ({ status: 404, json: { error: 'unknown model "9"' } }));
    const o = createHttpOracle({ baseUrl: 'http://h', modelId: '9', fetch: f });
    const err = await o.decide([x]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OracleHttpError);
    expect((err as OracleHttpError).status).toBe(404);
    expect((err as OracleHttpError).message).toContain('unknown model "9"');
  });

  it('rejects an unknown class name', async () => {
    const { f } = fakeFetch(() => ({ status: 200, json: { data: 'Hut' } }));
    await expect(
      createHttpOracle({ baseUrl: 'http://h', modelId: '0', fetch: f }).decide([x]),
    ).rejects.toThrow(/Hut/);
  });

  it('encodes [h, w] shapes as image_size [width, height]', () => {
    const body = encodeApiRequest(new Float32Array(6).fill(1), [2, 3]);
    expect(body.image_size).toEqual([3, 2]);
    expect(() => encodeApiRequest(new Float32Array(5), [2, 3])).toThrow(RangeError);
  });

  it('createRouterOracle sends the same request through the router', async () => {
    const seen: { method: string; path: string; body: string }[] = [];
    const o = createRouterOracle(
      async (req) => {
        seen.push(req);
        if (req.path.endsWith('/score'))
          return { status: 503, body: JSON.stringify({ error: 'model 0_4 failed to load' }) };
        return { status: 200, body: { data: 'Sneaker' } };
      },
      { modelId: '0_4' },
    );
    expect(await o.decide([x])).toEqual([7]);
    expect(seen[0].method).toBe('POST');
    expect(seen[0].path).toBe('/0_4/decision');
    expect(JSON.parse(seen[0].body).channel).toBe(1);
    await expect(o.score([x])).rejects.toThrow(/failed to load/);
  });
});
