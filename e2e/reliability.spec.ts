/**
 * In-page reliability, with the handed cases of test/fixtures/reliability:
 * - heavy queued work is not taken for a dead worker, and no request is lost;
 * - a worker that really hangs or dies is noticed, and every fetch still resolves to a Response
 *   (a successful retry or a JSON 503), never a rejected promise;
 * - uploads keep the colour stored under transparent pixels, as Pillow's convert('L') does
 *   (golden vectors from Pillow 9.4 in test/fixtures/alpha/golden.json), and say when an upload
 *   has transparent pixels, with an explicit flatten option;
 * - a UTF-8 BOM before a JSON body is accepted; an undecodable HEIC says why, in one sentence.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import { apiFetch, canvasGray, grayRequest, openApp } from './helpers';

const CASES = join('test', 'fixtures', 'reliability');
const ALPHA = join('test', 'fixtures', 'alpha');
const golden = JSON.parse(readFileSync(join(ALPHA, 'golden.json'), 'utf8')) as {
  images: Record<string, { pixels: number[] }>;
};

const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

/** Every fetch of `jobs` settles as a Response; returns "status" or "REJECTED: …" per job. */
function settle(page: Page, paths: string[], bodies: string[]) {
  return page.evaluate(
    async ({ paths, bodies }) =>
      Promise.all(
        paths.map((p, i) =>
          fetch(p, { method: 'POST', body: bodies[i] }).then(
            async (r) => ({ status: r.status, type: r.headers.get('content-type'), body: await r.json() }),
            (e: Error) => ({ status: -1, type: null, body: `REJECTED: ${e.name}: ${e.message}` }),
          ),
        ),
      ),
    { paths, bodies },
  );
}

test.describe('heavy queued work and dead workers', () => {
  test('the whole test set as ten concurrent 1,000-image batches to /2/decision: ten 200s, no restart', async ({
    page,
  }) => {
    test.setTimeout(600_000);
    await openApp(page);
    const before = await page.evaluate(() => window.__playground.engine.generation);
    // the handed snippet, as a user pastes it into the console
    const snippet = readFileSync(join(CASES, 'fullset-concurrent-snippet.js'), 'utf8');
    const lines = (await page.evaluate(snippet)) as string[];
    expect(lines).toHaveLength(10);
    for (const line of lines) expect(line).toMatch(/HTTP 200/);
    expect(await page.evaluate(() => window.__playground.engine.generation)).toBe(before);
  });

  test('a hung worker is noticed; requests in flight get a retry or a JSON 503, never a rejection', async ({
    page,
  }) => {
    test.setTimeout(240_000);
    // not shorter: opening a session took 6.4 s on a slow day of this machine, and a worker busy
    // that long would be taken for dead before the hang under test
    await openApp(page, '?heartbeat=20000');
    expect((await apiFetch(page, '/0/decision', grayRequest(0))).status).toBe(200);
    const before = await page.evaluate(() => window.__playground.engine.generation);
    await page.evaluate(() => window.__playground.engine.hangForTest());
    const body = JSON.stringify(grayRequest(1));
    const results = await settle(page, ['/0/decision', '/0/score', '/0_1/decision'], [body, body, body]);
    for (const r of results) {
      expect(r.status, JSON.stringify(r)).not.toBe(-1);
      expect([200, 503]).toContain(r.status);
      expect(r.type).toMatch(/json/);
      if (r.status === 503) {
        expect((r.body as { error: string }).error).toMatch(/worker/);
        // the kind travels as data (src/core/errors.ts), so the experiment runner retries on it
        expect((r.body as { error_type?: string }).error_type).toBe('WorkerDiedError');
      }
    }
    expect(await page.evaluate(() => window.__playground.engine.generation)).toBeGreaterThan(before);
    // and the page works again
    expect((await apiFetch(page, '/0/decision', grayRequest(0))).status).toBe(200);
  });

  test('a worker killed under load: every request settles as a Response, retries run one at a time', async ({
    page,
  }) => {
    test.setTimeout(240_000);
    await openApp(page, '?models=0');
    expect((await apiFetch(page, '/0/decision', grayRequest(0))).status).toBe(200);
    const before = await page.evaluate(() => window.__playground.engine.generation);
    const batch = JSON.stringify({ batch: Array.from({ length: 200 }, (_, i) => grayRequest(i)) });
    const pending = settle(page, new Array(6).fill('/0/decision'), new Array(6).fill(batch));
    await page.evaluate(() => window.__playground.engine.crashForTest());
    const results = await pending;
    for (const r of results) {
      expect(r.status, JSON.stringify(r)).not.toBe(-1);
      expect([200, 503]).toContain(r.status);
    }
    await expect
      .poll(() => page.evaluate(() => window.__playground.engine.generation), { timeout: 90_000 })
      .toBeGreaterThan(before);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0);
  });
});

test.describe('request bodies', () => {
  test('a JSON body that starts with a UTF-8 BOM is accepted (the handed PowerShell file)', async ({
    page,
  }) => {
    await openApp(page, '?models=0');
    const bytes = [...readFileSync(join(CASES, 'request-utf8-bom.json'))];
    const res = await page.evaluate(async (bytes) => {
      const raw = new Uint8Array(bytes);
      // as a string that keeps the mark, and as the file's bytes
      const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(raw);
      const a = await fetch('/0/decision', { method: 'POST', body: text });
      const b = await fetch('/0/decision', { method: 'POST', body: new Blob([raw]) });
      return [text.charCodeAt(0), a.status, await a.json(), b.status];
    }, bytes);
    expect(res[0]).toBe(0xfeff);
    expect(res[1]).toBe(200);
    expect((res[2] as { data: string }).data).toMatch(/./);
    expect(res[3]).toBe(200);
  });
});

test.describe('uploads with transparency match Pillow', () => {
  test.beforeEach(async ({ page }) => {
    await openApp(page, '?models=0');
    await page.getByTestId('tab-upload').click();
  });

  const files = [
    ...['rgba.png', 'la.png', 'palette-trns.png', 'transparent-index.gif', 'rgba-lossless.webp'].map(
      (f) => [f, join(ALPHA, f)] as const,
    ),
    ...[
      'gray200-alpha0-28x28.png',
      'trouser-clipart-whitekey.gif',
      'trouser-sticker-rgba.png',
      'trouser-clipart-opaque.png',
      'trouser-canvas-export-rgba.png',
    ].map((f) => [`reliability/${f}`, join(CASES, f)] as const),
  ];

  test('each file converts within 1 gray level of Pillow convert("L") + resize((28, 28), BILINEAR)', async ({
    page,
  }) => {
    for (const [key, path] of files) {
      await page.getByTestId('upload-input').setInputFiles(path);
      await expect(page.getByTestId('upload-info')).toContainText(path.split('/').pop()!);
      const expected = golden.images[key].pixels;
      await expect
        .poll(async () => maxDiff(await canvasGray(page.getByTestId('upload-converted')), expected), {
          message: key,
        })
        .toBeLessThanOrEqual(1);
      const opaque = key.endsWith('opaque.png');
      await expect(page.getByTestId('upload-transparency')).toHaveCount(opaque ? 0 : 1);
    }
  });

  test('a canvas export (black strokes on transparency) says why it is all black, and flattening onto white shows the drawing', async ({
    page,
  }) => {
    await page.getByTestId('upload-input').setInputFiles(join(CASES, 'trouser-canvas-export-rgba.png'));
    const notice = page.getByTestId('upload-transparency');
    await expect(notice).toContainText('transparent pixels');
    await expect(notice).toContainText('alpha is ignored');
    await expect
      .poll(async () => Math.max(...(await canvasGray(page.getByTestId('upload-converted')))))
      .toBe(0);
    await page.getByTestId('upload-flatten-white').check();
    await expect(notice).toContainText('composited onto white');
    await expect
      .poll(async () => Math.max(...(await canvasGray(page.getByTestId('upload-converted')))))
      .toBeGreaterThan(200);
    await page.getByTestId('upload-flatten-none').check();
    await expect
      .poll(async () => Math.max(...(await canvasGray(page.getByTestId('upload-converted')))))
      .toBe(0);
  });

  test('a HEIC photo gets one clear sentence naming the format', async ({ page }) => {
    await page.getByTestId('upload-input').setInputFiles(join(CASES, 'trouser.heic'));
    const error = page.getByTestId('upload-error');
    await expect(error).toContainText('cannot decode HEIC');
    await expect(error).toContainText('export it as JPEG or PNG');
    await expect(error).not.toContainText('..');
  });
});
