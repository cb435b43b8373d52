/**
 * The service against hostile and careless model files (test/fixtures/hostile/, made by
 * make-models.py there), over real HTTP on 127.0.0.1 with the inference pool (2 workers):
 * - a time bomb (cost grows with the image's contrast) is stopped at the run limit with a JSON 503
 *   naming the model and the limit, while model 0 and GET / keep answering;
 * - a model that fails on some inputs fails only the request that carries such an input, even when
 *   it was coalesced with thirty others;
 * - a memory bomb is refused at start when its probe run grows past --max-model-memory, and when
 *   served, a run past --worker-memory is stopped (503) and the service keeps answering.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildService, type Service } from '../../server/app';
import { encodeBase64 } from '../../src/core/base64';
import { imageAt } from '../../src/data/idx';
import { loadTestSetNode } from '../../tools/lib/test-set-node';

const HOSTILE = join(process.cwd(), 'test', 'fixtures', 'hostile');
const testSet = loadTestSetNode();
const request = (pixels: Uint8Array) => ({ image: encodeBase64(pixels), image_size: [28, 28], channel: 1 });
const gray = (i: number) => request(imageAt(testSet, i));
/** A test image with pixel 0 set to `v` (failsome.onnx fails when pixel 0 > 199). */
const withPixel0 = (i: number, v: number) => {
  const px = Uint8Array.from(imageAt(testSet, i));
  px[0] = v;
  return request(px);
};

async function post(url: string, body: unknown) {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    json: (await res.json()) as { data?: unknown; error?: string },
    ms: performance.now() - t0,
  };
}

async function start(opts: Parameters<typeof buildService>[0]): Promise<{ service: Service; url: string }> {
  const service = await buildService({ logLevel: 'silent', models: ['0'], workers: 2, threads: 1, ...opts });
  const url = await service.app.listen({ host: '127.0.0.1', port: 0 });
  await service.loaded;
  return { service, url };
}

describe('a model whose run time grows with its input (timebomb-loop.onnx)', () => {
  let service: Service;
  let url: string;
  beforeAll(async () => {
    ({ service, url } = await start({
      customModels: [join(HOSTILE, 'timebomb-loop.onnx')],
      runTimeoutMs: 2000,
    }));
  }, 120_000);
  afterAll(() => service.app.close());

  it('is stopped at the run limit with a 503 naming it, while model 0 and GET / keep answering', async () => {
    const bomb = post(`${url}/custom/timebomb-loop/score`, gray(0));
    // while the bomb runs in one worker, the other answers model 0 and the main thread GET /
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 5; i++) {
      const r = await post(`${url}/0/score`, gray(i));
      expect(r.status).toBe(200);
      expect(r.ms).toBeLessThan(1500);
      const root = await fetch(`${url}/`);
      expect(root.status).toBe(200);
    }
    const b = await bomb;
    expect(b.status).toBe(503);
    expect(b.retryAfter).toBe('1');
    expect(b.json.error).toBe(
      'model "custom/timebomb-loop": the run took longer than the limit of 2 s (--run-timeout) and was stopped; its worker was replaced',
    );
    expect(service.pool!.stats().timeouts).toBeGreaterThanOrEqual(1);
    // a blank image costs it nothing: the model stays served, and the replaced worker answers
    const blank = await post(`${url}/custom/timebomb-loop/score`, request(new Uint8Array(784)));
    expect(blank.status).toBe(200);
    expect((await post(`${url}/0/decision`, gray(1))).status).toBe(200);
  }, 60_000);
});

describe('a model that fails on some inputs (failsome.onnx)', () => {
  let service: Service;
  let url: string;
  beforeAll(async () => {
    ({ service, url } = await start({ customModels: [join(HOSTILE, 'failsome.onnx')], workers: 1 }));
  }, 120_000);
  afterAll(() => service.app.close());

  it('fails only the request whose own image makes it fail, also inside a coalesced run', async () => {
    for (let round = 0; round < 3; round++) {
      const good = Array.from({ length: 31 }, (_, i) =>
        post(`${url}/custom/failsome/score`, withPixel0(i, 100)),
      );
      const bad = post(`${url}/custom/failsome/score`, withPixel0(40, 255));
      const answers = await Promise.all(good);
      for (const a of answers) expect([a.status, a.json.error]).toEqual([200, undefined]);
      const b = await bad;
      expect(b.status).toBe(500);
      expect(b.json.error).toMatch(/Gather|out of bounds|indices/i);
    }
    // the 32 requests of a round arrive together: at least one run was coalesced, failed and isolated
    expect(service.batching.stats().isolated).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

describe('a model whose memory grows with its input (membomb.onnx)', () => {
  it('is refused at start when one full-contrast run grows memory past --max-model-memory', async () => {
    const err = await buildService({
      logLevel: 'silent',
      models: ['0'],
      workers: 1,
      threads: 1,
      customModels: [join(HOSTILE, 'membomb.onnx')],
      maxModelMemoryBytes: 256 * 2 ** 20,
    }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      /^--model \S*membomb\.onnx: "membomb\.onnx" was refused: one run on a full-contrast image took more than 256 MiB of memory \(--max-model-memory\)/,
    );
  }, 60_000);

  it('served anyway, a run past --worker-memory is stopped with a 503 and the service keeps answering', async () => {
    // a probe that times out before reaching --max-model-memory only warns: the model is served
    const { service, url } = await start({
      customModels: [join(HOSTILE, 'membomb.onnx')],
      runTimeoutMs: 3000,
      maxModelMemoryBytes: 8 * 2 ** 30,
      workerMemoryBytes: 600 * 2 ** 20,
    });
    try {
      const r = await post(`${url}/custom/membomb/score`, withPixel0(0, 255)); // contrast 255: 4 GiB
      expect(r.status).toBe(503);
      expect(r.json.error).toMatch(
        /^model "custom\/membomb": the run took more than 600 MiB of memory \(--worker-memory\) and was stopped/,
      );
      expect((await post(`${url}/0/score`, gray(0))).status).toBe(200);
      expect(service.pool!.stats().memoryKills).toBeGreaterThanOrEqual(1);
      const low = await post(`${url}/custom/membomb/score`, request(new Uint8Array(784)));
      expect(low.status).toBe(200);
    } finally {
      await service.app.close();
    }
  }, 60_000);
});
