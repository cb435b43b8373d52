/**
 * The thesis API through the fetch shim, in a real Chromium against the production build.
 */
import { join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import * as ort from 'onnxruntime-node';
import { encodeBase64 } from '../src/core/base64';
import { CLASS_NAMES_DE } from '../src/core/labels';
import { MODELS } from '../src/core/models';
import { imageAt } from '../src/data/idx';
import { apiFetch, grayRequest, openApp, softmax, testSet } from './helpers';

function routesFor(id: string): string[] {
  const [arch, d] = id.split('_');
  const base = d ? `/${arch}/${d}` : `/${arch}`;
  return [`${base}/decision`, `${base}/score`];
}

test.describe('API contract through the fetch shim', () => {
  // one page for the tests that only need model 0 (and a defense route): opening the app and a
  // worker's first session cost ~11 s each on a 2-core machine
  test.describe('on one page', () => {
    test.describe.configure({ mode: 'serial' });
    let shared: Page;
    test.beforeAll(async ({ browser }, info) => {
      shared = await browser.newPage({ baseURL: info.project.use.baseURL });
      await openApp(shared, '?models=0&backend=wasm');
    });
    test.afterAll(async () => {
      await shared.close();
    });

    test('GET / describes the service and lists all fifteen models', async () => {
      const page = shared;
      const res = await apiFetch(page, '/');
      expect(res.status).toBe(200);
      const ids = (res.body as { models: { id: string }[] }).models.map((m) => m.id);
      expect(ids.sort()).toEqual(MODELS.map((m) => m.id).sort());
    });

    test('a test image of known class gets its German name from /0/decision', async () => {
      const page = shared;
      for (const index of [0, 1, 2, 3]) {
        const res = await apiFetch(page, '/0/decision', grayRequest(index));
        expect(res.status).toBe(200);
        expect((res.body as { data: string }).data).toBe(CLASS_NAMES_DE[testSet.labels[index]]);
      }
    });

    test('a 3-channel 56×40 request and a 1-channel 28×28 request of the same picture agree', async () => {
      const page = shared;
      const gray = imageAt(testSet, 0);
      const w = 56;
      const h = 40;
      const rgb = new Uint8Array(w * h * 3);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const v = gray[Math.min(27, Math.floor((y * 28) / h)) * 28 + Math.floor((x * 28) / w)];
          rgb.set([v, v, v], (y * w + x) * 3);
        }
      }
      const small = await apiFetch(page, '/0/score', grayRequest(0));
      const big = await apiFetch(page, '/0/score', {
        image: encodeBase64(rgb),
        image_size: [w, h],
        channel: 3,
      });
      expect(big.status).toBe(200);
      const a = (small.body as { data: number[] }).data;
      const b = (big.body as { data: number[] }).data;
      expect(b.indexOf(Math.max(...b))).toBe(a.indexOf(Math.max(...a)));
      const l1 = a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0);
      expect(l1).toBeLessThan(0.2);
    });

    test('/score equals the softmax of onnxruntime-node logits within 1e-4', async () => {
      const page = shared;
      for (const weights of ['0', '2', '5']) {
        const session = await ort.InferenceSession.create(join('public', 'models', `${weights}.onnx`));
        for (const index of [0, 7, 42]) {
          const px = imageAt(testSet, index);
          const x = Float32Array.from(px, (v) => v / 255);
          const out = await session.run({ input: new ort.Tensor('float32', x, [1, 1, 28, 28]) });
          const want = softmax(out.logits.data as Float32Array);
          const res = await apiFetch(page, `/${weights}/score`, grayRequest(index));
          const got = (res.body as { data: number[] }).data;
          for (let i = 0; i < 10; i++)
            expect(Math.abs(got[i] - want[i]), `${weights} #${index} class ${i}`).toBeLessThan(1e-4);
        }
        await session.release();
      }
    });

    test('a seeded random-resize-pad request is reproducible, an unseeded one varies', async () => {
      const page = shared;
      const seeded = grayRequest(5, { seed: 1234 });
      const first = await apiFetch(page, '/0/3/score', seeded);
      const second = await apiFetch(page, '/0/3/score', seeded);
      expect(first.headers['x-seed']).toBe('1234');
      expect(second.body).toEqual(first.body);
      const seen = new Set<string>();
      const seeds = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const r = await apiFetch(page, '/0/3/score', grayRequest(5));
        seen.add(JSON.stringify(r.body));
        seeds.add(r.headers['x-seed']);
      }
      expect(seeds.size).toBe(12);
      expect(seen.size).toBeGreaterThan(1);
      // and the reported seed replays the draw
      const replay = await apiFetch(page, '/0/4/score', grayRequest(5));
      const again = await apiFetch(
        page,
        '/0/4/score',
        grayRequest(5, { seed: Number(replay.headers['x-seed']) }),
      );
      expect(again.body).toEqual(replay.body);
    });

    test('bad requests get clear JSON errors and do not take the worker down', async () => {
      const page = shared;
      const cases: [string, unknown, number, RegExp, string?][] = [
        ['/0/decision', '{not json', 400, /json/i],
        ['/0/decision', { image_size: [28, 28], channel: 1 }, 400, /image/],
        ['/0/decision', { ...grayRequest(0), channel: 2 }, 400, /channel/],
        ['/0/decision', { ...grayRequest(0), image_size: [27, 28] }, 400, /length|bytes/i],
        ['/0/decision', { ...grayRequest(0), image: '!!!' }, 400, /base64/i],
        ['/0/decision', { ...grayRequest(0), image_size: [0, 28] }, 400, /size|width|positive/i],
        ['/9/decision', grayRequest(0), 404, /model/i],
        ['/0/7/score', grayRequest(0), 404, /model/i],
        ['/0/decision', undefined, 405, /GET is not allowed.*POST/, 'GET'],
      ];
      for (const [path, body, status, message, method] of cases) {
        const res = await apiFetch(page, path, body, method);
        expect(res.status, `${path} ${JSON.stringify(body)?.slice(0, 60)}`).toBe(status);
        expect((res.body as { error: string }).error).toMatch(message);
      }
      const ok = await apiFetch(page, '/0/decision', grayRequest(0));
      expect(ok.status).toBe(200);
    });

    test('batch extension answers many requests in one round trip', async () => {
      const page = shared;
      const batch = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => grayRequest(i));
      const res = await apiFetch(page, '/0/decision', { batch });
      expect(res.status).toBe(200);
      const names = (res.body as { data: string[] }).data;
      expect(names).toHaveLength(8);
      for (let i = 0; i < 8; i++) {
        const single = await apiFetch(page, '/0/decision', batch[i]);
        expect(names[i]).toBe((single.body as { data: string }).data);
      }
    });

    test('non-API requests pass through to the network untouched', async () => {
      const page = shared;
      const status = await page.evaluate(async () => (await fetch('/models/manifest.json')).status);
      expect(status).toBe(200);
    });
  });

  test.describe('each on a fresh page', () => {
    test.beforeEach(async ({ page }) => {
      // the grid shows model 0 only: the API still serves all fifteen (each loads on its first
      // request), and a test does not wait for the page to classify with every model first
      await openApp(page, '?models=0&backend=wasm');
    });

    test('all 30 routes answer with the thesis JSON', async ({ page }) => {
      test.setTimeout(300_000);
      const body = grayRequest(0);
      for (const m of MODELS) {
        const [decision, score] = routesFor(m.id);
        const d = await apiFetch(page, decision, body);
        expect(d.status, `${decision}: ${JSON.stringify(d.body)}`).toBe(200);
        expect(CLASS_NAMES_DE).toContain((d.body as { data: string }).data);
        expect(d.headers['x-model-id']).toBe(m.id);
        expect(d.headers['content-type']).toContain('application/json');
        const s = await apiFetch(page, score, body);
        expect(s.status, score).toBe(200);
        const probs = (s.body as { data: number[] }).data;
        expect(probs).toHaveLength(10);
        expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        if (m.preprocessor) expect(s.headers['x-seed']).toMatch(/^\d+$/);
        else expect(s.headers['x-seed']).toBeUndefined();
      }
      // the underscore alias is the same model
      const alias = await apiFetch(page, '/0_1/decision', body);
      expect(alias.status).toBe(200);
      expect(alias.headers['x-model-id']).toBe('0_1');
    });

    test('concurrent requests to many models, while they load, all answer', async ({ page }) => {
      test.setTimeout(180_000);
      // ORT-web refuses a run while another session's is pending ("Session already started"); the
      // engine must queue across sessions, not only per session
      const ids = ['0', '0_1', '2', '5', '0_3', '2_2', '5_1'];
      const statuses = await page.evaluate(
        async ({ ids, body }) => {
          const calls = [];
          for (let round = 0; round < 4; round++)
            for (const id of ids)
              calls.push(fetch(`/${id}/score`, { method: 'POST', body }).then((r) => r.status));
          return Promise.all(calls);
        },
        { ids, body: JSON.stringify(grayRequest(5)) },
      );
      expect(statuses).toEqual(new Array(ids.length * 4).fill(200));
    });

    test('a dead worker is noticed, restarted, and reloads its models', async ({ page }) => {
      test.setTimeout(240_000);
      expect((await apiFetch(page, '/0/decision', grayRequest(0))).status).toBe(200);
      const before = await page.evaluate(() => window.__playground.engine.generation);
      await page.evaluate(() => window.__playground.engine.crashForTest());
      await expect
        .poll(() => page.evaluate(() => window.__playground.engine.generation), { timeout: 90_000 })
        .toBe(before + 1);
      const res = await apiFetch(page, '/0/decision', grayRequest(0));
      expect(res.status).toBe(200);
      expect((res.body as { data: string }).data).toBe(CLASS_NAMES_DE[testSet.labels[0]]);
    });

    test('2,000 sequential requests leave the worker memory flat', async ({ page }) => {
      test.setTimeout(600_000);
      const run = (n: number) =>
        page.evaluate(async (n) => {
          const { grayBody } = window as unknown as { grayBody: string };
          for (let i = 0; i < n; i++) {
            const r = await fetch('/0/score', { method: 'POST', body: grayBody });
            if (r.status !== 200) throw new Error(`request ${i}: HTTP ${r.status}`);
            await r.json();
          }
        }, n);
      await page.evaluate(
        (body) => {
          (window as unknown as { grayBody: string }).grayBody = body;
        },
        JSON.stringify(grayRequest(3)),
      );
      await run(200); // warm-up: arenas and caches reach their steady size
      const before = await page.evaluate(() => window.__playground.engine.memory());
      await run(2000);
      const after = await page.evaluate(() => window.__playground.engine.memory());
      expect(before.wasmHeapBytes).toBeGreaterThan(0);
      expect(after.wasmHeapBytes - before.wasmHeapBytes).toBeLessThanOrEqual(1024 * 1024);
    });
  });
});
