/**
 * The worker pool (src/engine/pool.ts): two single-thread workers on WASM answer a split
 * batch exactly as one worker answers it whole, seeded randomized defenses included; a weight file
 * is downloaded once for the pool and its sha256 is checked on every load, also of the copy in
 * Cache Storage; a crash of every worker under load still settles every request.
 */
import { expect, type Page, test } from '@playwright/test';
import { deriveSeed } from '../src/core/router';
import { imageAt } from '../src/data/idx';
import { grayRequest, openApp, testSet } from './helpers';

interface Answer {
  status: number;
  seed: string | null;
  body: { data?: unknown; error?: string };
}

function post(page: Page, path: string, body: unknown): Promise<Answer> {
  return page.evaluate(
    async ({ path, body }) => {
      const r = await fetch(path, { method: 'POST', body: JSON.stringify(body) });
      return { status: r.status, seed: r.headers.get('X-Seed'), body: await r.json() };
    },
    { path, body },
  );
}

const closeTo = (a: number[][], b: number[][]) =>
  Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i][j]))));

test.describe('worker pool', () => {
  test('a batch split across two workers answers as one worker does, seeded randomized defenses included', async ({
    page,
    browser,
  }) => {
    test.setTimeout(180_000);
    // one thread per worker on any machine: the same kernels as the reference, bit for bit
    await openApp(page, '?backend=wasm&workers=2&threads=1');
    await expect.poll(() => page.evaluate(() => window.__playground.engine.workers)).toBe(2);
    const items = Array.from({ length: 48 }, (_, i) => grayRequest(i));

    // the reference: one worker of one thread, the whole batch in one part
    const single = await browser.newPage();
    await openApp(single, '?backend=wasm&workers=1&threads=1');
    expect(await single.evaluate(() => window.__playground.engine.workers)).toBe(1);

    for (const path of ['/0/3/score', '/2/4/score', '/5/score']) {
      const pooled = await post(page, path, { seed: 7, batch: items });
      const whole = await post(single, path, { seed: 7, batch: items });
      expect(pooled.status, JSON.stringify(pooled.body).slice(0, 200)).toBe(200);
      expect(pooled.seed).toBe(whole.seed);
      // the same kernels on one thread each: bit for bit, not just close
      expect(pooled.body.data).toEqual(whole.body.data);
    }
    // each item replays alone with the seed the router derives for its index, whatever worker answers
    const batch = await post(page, '/0/3/score', { seed: 7, batch: items });
    expect(batch.seed).toBe('7');
    for (const i of [0, 5, 30, 47]) {
      const one = await post(page, '/0/3/score', grayRequest(i, { seed: deriveSeed(7, i) }));
      expect(closeTo([one.body.data as number[]], [(batch.body.data as number[][])[i]])).toBeLessThan(1e-5);
    }
    // an unseeded batch reports the base seed the pool drew; replaying it gives the same answer
    const fresh = await post(page, '/2/3/decision', { batch: items });
    expect(fresh.seed).toMatch(/^\d+$/);
    const replay = await post(single, '/2/3/decision', { seed: Number(fresh.seed), batch: items });
    expect(replay.body.data).toEqual(fresh.body.data);
    // a bad item in the second part: the error names its index in the whole batch
    const bad = await post(page, '/0/score', {
      batch: items.map((it, i) => (i === 40 ? { ...it, channel: 2 } : it)),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/batch\[40\]/);
    await single.close();
  });

  test('a weight file is downloaded once for the pool; a cached copy that fails its sha256 is fetched again', async ({
    page,
    context,
  }) => {
    test.setTimeout(120_000);
    const downloads: string[] = [];
    context.on('request', (r) => {
      if (/\/models\/\w+\.onnx$/.test(r.url())) downloads.push(new URL(r.url()).pathname);
    });
    await openApp(page, '?backend=wasm&workers=2');
    expect(
      (await post(page, '/2/decision', { batch: Array.from({ length: 32 }, (_, i) => grayRequest(i)) }))
        .status,
    ).toBe(200);
    expect(downloads.filter((p) => p.endsWith('/2.onnx'))).toHaveLength(1);

    // a cached copy that fails the checksum is dropped and downloaded again
    await page.evaluate(async () => {
      const cache = await caches.open('playground-weights-v1');
      await cache.put(new URL('models/5.onnx', document.baseURI).href, new Response(new Uint8Array(3616634)));
    });
    expect((await post(page, '/5/decision', grayRequest(0))).status).toBe(200);
    expect(downloads.filter((p) => p.endsWith('/5.onnx'))).toHaveLength(1);
  });

  test('more attacks than workers wait their turn: each runs to its end, none aborts another', async ({
    page,
  }) => {
    test.setTimeout(120_000);
    await openApp(page, '?backend=wasm&workers=2');
    const x = Array.from(imageAt(testSet, 1), (v) => v / 255);
    const label = testSet.labels[1];
    const results = await page.evaluate(
      ({ x, label }) =>
        Promise.all(
          [1, 2, 3].map((seed) =>
            window.__playground.engine
              .runAttack({
                attack: 'square',
                params: { norm: 'linf', eps: 0.01, maxQueries: 150 },
                model: '0',
                x: Float32Array.from(x),
                label,
                seed,
              })
              .then((r) => ({ stoppedBy: r.params.stoppedBy, queries: r.queries, success: r.success })),
          ),
        ),
      { x, label },
    );
    for (const r of results) {
      expect(r.stoppedBy).not.toBe('aborted');
      if (!r.success) expect(r.queries).toBe(150);
    }
  });

  test('a pool size or backend the page cannot use is named in a warning, and the default is used', async ({
    page,
    browser,
  }) => {
    await openApp(page, '?backend=wasm&workers=0&threads=two&heartbeat=5');
    const banners = page.getByTestId('error-banner');
    await expect(banners.filter({ hasText: '?workers=0 is not a whole number from 1 to 16' })).toBeVisible();
    await expect(
      banners.filter({ hasText: '?threads=two is not a whole number from 1 to 64' }),
    ).toBeVisible();
    expect((await post(page, '/0/decision', grayRequest(0))).status).toBe(200);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    await expect
      .poll(() => page.evaluate(() => window.__playground.engine.workers))
      .toBe(Math.max(1, Math.min(cores, 4)));
    const other = await browser.newPage();
    await openApp(other, '?backend=gpu');
    await expect(
      other.getByTestId('error-banner').filter({ hasText: '?backend=gpu is not one of wasm, webgpu, auto' }),
    ).toBeVisible();
    // WebGPU chosen where Chromium offers none (no --enable-unsafe-webgpu here): said, not silent
    await openApp(other, '?backend=webgpu');
    await expect
      .poll(() => other.evaluate(() => window.__playground.engine.lastBackendStatus?.active ?? null))
      .not.toBeNull();
    const active = await other.evaluate(() => window.__playground.engine.lastBackendStatus?.active);
    const fallback = other.getByTestId('error-banner').filter({ hasText: 'WebGPU is not available here' });
    if (active === 'wasm') {
      await expect(fallback).toContainText('the models run on WASM instead');
      // said once, though the same status arrives several times at start-up
      await expect(fallback.locator('.banner__count')).toHaveCount(0);
    } else await expect(fallback).toHaveCount(0);
    await other.close();
  });

  test('every worker of the pool killed under load: every request settles, the pool comes back whole', async ({
    page,
  }) => {
    test.setTimeout(240_000);
    await openApp(page, '?backend=wasm&workers=2');
    expect((await post(page, '/0/decision', grayRequest(0))).status).toBe(200);
    const before = await page.evaluate(() => window.__playground.engine.generation);
    const batch = { batch: Array.from({ length: 200 }, (_, i) => grayRequest(i)) };
    const failed = (e: unknown): Answer => ({ status: -1, seed: null, body: { error: String(e) } });
    const pending = Promise.all(
      Array.from({ length: 4 }, () => post(page, '/0/decision', batch).catch(failed)),
    );
    await page.evaluate(() => window.__playground.engine.crashForTest('all'));
    for (const r of await pending) {
      expect([200, 503], JSON.stringify(r).slice(0, 300)).toContain(r.status);
      if (r.status === 200) expect(r.body.data).toHaveLength(200);
    }
    await expect
      .poll(() => page.evaluate(() => window.__playground.engine.generation), { timeout: 90_000 })
      .toBeGreaterThanOrEqual(before + 2);
    expect(await page.evaluate(() => window.__playground.engine.workers)).toBe(2);
    expect((await post(page, '/0/decision', batch)).status).toBe(200);
  });
});
