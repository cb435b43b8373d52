/**
 * The HTTP service (`npm run serve`) over real HTTP on 127.0.0.1: the contract of SPEC §4
 * answered exactly as the shared router answers it, what the thesis service accepted (any or no
 * Content-Type, a UTF-8 BOM), JSON errors for everything else, CORS, readiness and per-model 503s,
 * dynamic batching that keeps seeded randomized requests exact, and a stalled client that does not
 * delay the others.
 */
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildService, type Service } from '../../server/app';
import { createNodeEngine } from '../../server/node-engine';
import { encodeBase64 } from '../../src/core/base64';
import { CLASS_NAMES_DE } from '../../src/core/labels';
import { MODELS } from '../../src/core/models';
import { createRouter, deriveSeed } from '../../src/core/router';
import { imageAt } from '../../src/data/idx';
import { loadTestSetNode } from '../../tools/lib/test-set-node';

const testSet = loadTestSetNode();
const gray = (i: number, extra: Record<string, unknown> = {}) => ({
  image: encodeBase64(imageAt(testSet, i)),
  image_size: [28, 28],
  channel: 1,
  ...extra,
});

async function start(
  opts: Parameters<typeof buildService>[0] = {},
): Promise<{ service: Service; url: string }> {
  const service = await buildService({ logLevel: 'silent', threads: 1, ...opts });
  const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
  return { service, url: address };
}

async function post(url: string, body: string | Blob, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', body, headers });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: JSON.parse(text) as Record<string, unknown>,
  };
}

describe('npm run serve: the contract over HTTP', () => {
  let url: string;
  let service: Service;
  beforeAll(async () => {
    ({ service, url } = await start());
    await service.loaded;
  });
  afterAll(() => service.app.close());

  it('GET / describes the service, its fifteen models and their load state', async () => {
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      models: { id: string }[];
      weights: Record<string, { state: string }>;
      ready: boolean;
    };
    expect(body.models.map((m) => m.id)).toEqual(MODELS.map((m) => m.id));
    expect(body.ready).toBe(true);
    expect(Object.values(body.weights).every((w) => w.state === 'ready')).toBe(true);
    expect(Object.keys(body.weights)).toHaveLength(9);
  });

  it('answers all 30 routes and the 20 underscore aliases as the shared router does, with its headers', async () => {
    const engine = createNodeEngine({ threads: 1 });
    const router = createRouter(engine);
    const body = JSON.stringify(gray(7, { seed: 11 }));
    try {
      for (const m of MODELS) {
        const [arch, d] = m.id.split('_');
        const paths = [
          d === undefined ? `/${arch}` : `/${arch}/${d}`,
          ...(d === undefined ? [] : [`/${m.id}`]),
        ];
        for (const base of paths) {
          for (const action of ['decision', 'score']) {
            const http = await post(`${url}${base}/${action}`, body, { 'Content-Type': 'application/json' });
            const direct = await router.handle({ method: 'POST', path: `${base}/${action}`, body });
            expect(http.status, `${base}/${action}`).toBe(200);
            expect(http.json).toEqual(direct.body);
            expect(http.headers.get('x-model-id')).toBe(m.id);
            expect(Number(http.headers.get('x-inference-ms'))).toBeGreaterThanOrEqual(0);
            expect(http.headers.get('x-seed')).toBe(m.preprocessor ? '11' : null);
          }
        }
      }
    } finally {
      await engine.release();
    }
    const d = await post(`${url}/0/decision`, JSON.stringify(gray(0)));
    expect(d.json.data).toBe(CLASS_NAMES_DE[testSet.labels[0]]);
  });

  it('accepts what Flask accepted: no Content-Type, a form or text type, a UTF-8 BOM', async () => {
    const body = JSON.stringify(gray(3));
    const bom = new Blob([new Uint8Array([0xef, 0xbb, 0xbf]), body]);
    const expected = (await post(`${url}/0/decision`, body, { 'Content-Type': 'application/json' })).json;
    for (const [b, headers] of [
      [body, {}],
      [body, { 'Content-Type': 'text/plain' }],
      [body, { 'Content-Type': 'application/x-www-form-urlencoded' }],
      [bom, { 'Content-Type': 'application/json' }],
    ] as const) {
      const r = await post(`${url}/0/decision`, b, headers);
      expect(r.status).toBe(200);
      expect(r.json).toEqual(expected);
    }
  });

  it('answers bad input with JSON errors that say what is wrong', async () => {
    const cases: [string, string, string | undefined, number, RegExp][] = [
      ['POST', '/0/decision', '{"image": ', 400, /not valid JSON/],
      [
        'POST',
        '/0/decision',
        JSON.stringify({ image_size: [28, 28], channel: 1 }),
        400,
        /missing field "image"/,
      ],
      ['POST', '/0/decision', JSON.stringify(gray(0, { channel: 2 })), 400, /channel/],
      ['POST', '/0/decision', JSON.stringify({ ...gray(0), image: '!!' }), 400, /base64/],
      ['POST', '/0/decision', JSON.stringify({ ...gray(0), image_size: [28, 27] }), 400, /bytes/],
      ['POST', '/0/decision', '', 400, /empty/],
      ['POST', '/9/decision', JSON.stringify(gray(0)), 404, /unknown model "9"/],
      ['POST', '/0/classify', JSON.stringify(gray(0)), 404, /no route/],
      ['GET', '/0/decision', undefined, 405, /use POST/],
      ['DELETE', '/', undefined, 405, /use GET/],
    ];
    for (const [method, path, body, status, pattern] of cases) {
      const res = await fetch(`${url}${path}`, { method, body });
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      const json = (await res.json()) as { error: string };
      expect(json.error).toMatch(pattern);
    }
  });

  it('sends CORS headers as flask_cors did, and answers preflight requests', async () => {
    const pre = await fetch(`${url}/0/decision`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://example.test', 'Access-Control-Request-Method': 'POST' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    const r = await fetch(`${url}/0/decision`, {
      method: 'POST',
      body: JSON.stringify(gray(0)),
      headers: { Origin: 'http://example.test' },
    });
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('access-control-expose-headers')).toMatch(/X-Seed/);
  });

  it('a seeded randomized request replays exactly, alone or coalesced with 63 concurrent others', async () => {
    const body = JSON.stringify(gray(5, { seed: 1234 }));
    const alone = await post(`${url}/2/3/score`, body);
    const crowd = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        post(`${url}/2/3/score`, i === 31 ? body : JSON.stringify(gray(100 + i))),
      ),
    );
    expect(crowd[31].json).toEqual(alone.json);
    expect(crowd[31].headers.get('x-seed')).toBe('1234');
    // unseeded requests each drew their own seed
    const seeds = new Set(crowd.filter((_, i) => i !== 31).map((r) => r.headers.get('x-seed')));
    expect(seeds.size).toBe(63);
    const stats = service.batching.stats();
    expect(stats.maxRun).toBeGreaterThan(1); // concurrent requests did share runs
  });

  it('an unseeded batch item replays alone with seed deriveSeed(X-Seed, index), as the README says', async () => {
    const items = [gray(10), gray(11), gray(12)];
    const batch = await post(`${url}/2/4/score`, JSON.stringify({ batch: items }));
    expect(batch.status).toBe(200);
    const base = Number(batch.headers.get('x-seed'));
    expect(Number.isInteger(base)).toBe(true);
    const data = batch.json.data as number[][];
    for (const [i, item] of items.entries()) {
      const alone = await post(`${url}/2/4/score`, JSON.stringify({ ...item, seed: deriveSeed(base, i) }));
      expect(alone.json.data, `item ${i}`).toEqual(data[i]);
    }
    // the noise does differ between draws: item 1 under the base seed itself is another answer
    const other = await post(`${url}/2/4/score`, JSON.stringify({ ...items[1], seed: base }));
    expect(other.json.data).not.toEqual(data[1]);
  });

  it('a client that sends half a body and stalls does not delay the others', async () => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('POST /0/decision HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{"image": "AAAA');
    const t0 = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(`${url}/0/decision`, JSON.stringify(gray(i)))),
    );
    const ms = performance.now() - t0;
    socket.destroy();
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(ms).toBeLessThan(5000);
  });
});

describe('npm run serve: options and failures', () => {
  it('--models serves a subset; a model left out is named as not served here, a made-up one as unknown', async () => {
    const { service, url } = await start({ models: ['0', '0_3'] });
    try {
      const root = (await (await fetch(`${url}/`)).json()) as { models: { id: string }[] };
      expect(root.models.map((m) => m.id)).toEqual(['0', '0_3']);
      expect((await post(`${url}/0/3/decision`, JSON.stringify(gray(0)))).status).toBe(200);
      for (const [path, id] of [
        ['/2/decision', '2'],
        ['/2/1/score', '2_1'],
        ['/2_1/score', '2_1'],
        ['/0/1/decision', '0_1'],
      ]) {
        const other = await post(`${url}${path}`, JSON.stringify(gray(0)));
        expect(other.status, path).toBe(404);
        expect(other.headers.get('content-type')).toMatch(/application\/json/);
        expect(other.json.error).toBe(
          `model "${id}" exists but is not served by this instance, which was started with --models 0,0_3; ` +
            'the models served are 0, 0_3 (GET / lists them; restart without --models to serve all fifteen)',
        );
      }
      const unknown = await post(`${url}/7/decision`, JSON.stringify(gray(0)));
      expect(unknown.status).toBe(404);
      expect(unknown.json.error).toMatch(/^unknown model "7"; the models are 0, 0_3/);
      expect((await post(`${url}/2/classify`, JSON.stringify(gray(0)))).json.error).toMatch(/^no route/);
    } finally {
      await service.app.close();
    }
    await expect(buildService({ models: ['0', '7'], logLevel: 'silent' })).rejects.toThrow(
      /unknown model ID 7/,
    );
  });

  it('a weight file failing its sha256 gives 503 for its models only; GET / says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'serve-models-'));
    for (const f of readdirSync(join('public', 'models')))
      copyFileSync(join('public', 'models', f), join(dir, f));
    writeFileSync(join(dir, '0.onnx'), 'not the shipped file');
    const { service, url } = await start({ modelsDir: dir, models: ['0', '0_4', '0_1'] });
    try {
      await service.loaded;
      for (const id of ['0', '0/4']) {
        const r = await post(`${url}/${id}/decision`, JSON.stringify(gray(0)));
        expect(r.status).toBe(503);
        expect(r.json.error).toMatch(/unavailable.*(sha256|bytes)/);
      }
      expect((await post(`${url}/0/1/decision`, JSON.stringify(gray(0)))).status).toBe(200);
      const root = (await (await fetch(`${url}/`)).json()) as {
        ready: boolean;
        weights: Record<string, { state: string; error?: string }>;
      };
      expect(root.ready).toBe(false);
      expect(root.weights['0'].state).toBe('failed');
      expect(root.weights['0'].error).toMatch(/manifest/);
      expect(root.weights['0_1'].state).toBe('ready');
    } finally {
      await service.app.close();
    }
  });

  it('--max-body answers 413 in JSON; --no-cors sends no CORS headers', async () => {
    const { service, url } = await start({ maxBody: 2000, cors: null, models: ['0'] });
    try {
      const big = await post(`${url}/0/decision`, JSON.stringify({ ...gray(0), pad: 'x'.repeat(5000) }));
      expect(big.status).toBe(413);
      expect(big.json.error).toMatch(/larger than the limit of 2000 bytes/);
      const r = await fetch(`${url}/0/decision`, {
        method: 'POST',
        body: JSON.stringify(gray(0)),
        headers: { Origin: 'http://example.test' },
      });
      expect(r.status).toBe(200);
      expect(r.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await service.app.close();
    }
  });
});
