/**
 * From a new user's trial: the API console names an HTTP endpoint that does not answer and shows the
 * request it actually sent there; its copied snippets carry the X-Seed of a randomized defense's
 * answer and reproduce that answer exactly; the attack lab's JSON request of a randomized defense
 * carries the run's seed, and its PNG is a true 8-bit grayscale PNG (colour type 0) of the
 * adversarial image's bytes.
 *
 * Needs only model 0's weights (0_3 is model 0 behind random resize & padding).
 */
import { readFileSync } from 'node:fs';
import { expect, type Locator, type Page, test } from '@playwright/test';
import { PNG } from 'pngjs';
import { decodeBase64 } from '../src/core/base64';
import { freePort } from '../tools/lib/serve-process';
import { apiFetch, openApp } from './helpers';

const consoleOf = (page: Page): Locator => page.getByTestId('api-console');
const panel = (page: Page): Locator => page.getByTestId('attack-panel');

async function pickTestImage(page: Page, index: number): Promise<void> {
  await page.getByTestId('tab-gallery').click();
  await page.getByTestId(`gallery-item-${index}`).click();
  await expect(page.getByTestId('current-image-source')).toHaveText(`Test image #${index}`);
}

/** The copy buttons write here instead of the system clipboard. */
async function captureClipboard(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __copied: string[] };
    w.__copied = [];
    Object.defineProperty(navigator, 'clipboard', {
      configurable: true,
      value: {
        writeText: async (text: string) => {
          w.__copied.push(text);
        },
      },
    });
  });
}

async function copied(page: Page, testId: string): Promise<string> {
  const before = await page.evaluate(() => (window as unknown as { __copied: string[] }).__copied.length);
  await consoleOf(page).getByTestId(testId).click();
  await expect
    .poll(() => page.evaluate(() => (window as unknown as { __copied: string[] }).__copied.length))
    .toBe(before + 1);
  return page.evaluate(() => {
    const c = (window as unknown as { __copied: string[] }).__copied;
    return c[c.length - 1];
  });
}

/** The request body inside a copied fetch snippet: `body: JSON.stringify(<body>),`. */
function fetchSnippetBody(snippet: string): Record<string, unknown> {
  const m = /body: JSON\.stringify\((.*)\),\n/.exec(snippet);
  expect(m, snippet).not.toBeNull();
  return JSON.parse(m![1]) as Record<string, unknown>;
}

test('API console: an endpoint that does not answer is named, with the request sent there', async ({
  page,
}) => {
  test.setTimeout(120_000);
  const dead = `http://127.0.0.1:${await freePort()}`;
  const dead2 = `http://127.0.0.1:${await freePort()}`;
  await openApp(page, `?models=0&backend=wasm&endpoint=${encodeURIComponent(dead)}`);
  await pickTestImage(page, 0);
  const c = consoleOf(page);
  await c.getByTestId('api-model-select').selectOption('0');
  await c.getByTestId('api-route-select').selectOption('decision');
  await expect(c.getByTestId('api-request-title')).toHaveText(`Request to send to ${dead}`);

  await c.getByTestId('api-send').click();
  await expect(c.getByTestId('api-error')).toHaveText(
    `${dead} did not answer (Failed to fetch): is the service running, and does it allow this page's origin (CORS)? \`npm run serve\` allows any origin unless started with --cors or --no-cors.`,
  );
  await expect(c.getByTestId('api-request-title')).toHaveText(`Request sent to ${dead}`);
  await expect(c.getByTestId('api-request-line')).toHaveText(`POST ${dead}/0/decision`);
  await expect(c.getByTestId('api-request')).toContainText('"image_size": [28, 28]');
  await expect(c.getByTestId('api-request')).toContainText('"channel": 1');

  // another endpoint: the old one's exchange is gone, and the new failure names the new endpoint
  await c.getByTestId('api-target-url').fill(dead2);
  await c.getByTestId('api-target-url').press('Enter');
  await expect(c.getByTestId('api-request-title')).toHaveText(`Request to send to ${dead2}`);
  await expect(c.getByTestId('api-error')).toHaveCount(0);
  await c.getByTestId('api-send').click();
  await expect(c.getByTestId('api-error')).toContainText(`${dead2} did not answer (Failed to fetch)`);
  await expect(c.getByTestId('api-request-line')).toHaveText(`POST ${dead2}/0/decision`);

  // back in the page: the shim's exchange, titled as such
  await c.getByTestId('api-target-page').check();
  await expect(c.getByTestId('api-status')).toHaveAttribute('data-status', '200');
  await expect(c.getByTestId('api-request-title')).toHaveText('Request the shim received');
  await expect(c.getByTestId('api-request-line')).toHaveText('POST /0/decision');
});

test('API console: snippets for a randomized model carry the X-Seed shown and reproduce the answer', async ({
  page,
}) => {
  test.setTimeout(120_000);
  await captureClipboard(page);
  await openApp(page, '?models=0&backend=wasm');
  await pickTestImage(page, 0);
  const c = consoleOf(page);
  await c.getByTestId('api-model-select').selectOption('0_3');
  await c.getByTestId('api-route-select').selectOption('score');
  await expect(c.getByTestId('api-request-line')).toHaveText('POST /0/3/score');
  await expect(c.getByTestId('api-status')).toHaveAttribute('data-status', '200');
  await expect(c.getByTestId('api-response')).toContainText(/x-seed: \d+/i);
  const seed = Number(/x-seed: (\d+)/i.exec((await c.getByTestId('api-response').textContent()) ?? '')![1]);
  const shown = JSON.parse((await c.getByTestId('api-response-body').textContent()) ?? '') as unknown;
  await expect(c.getByTestId('api-snippet-seed')).toHaveAttribute('data-seed', String(seed));
  await expect(c.getByTestId('api-snippet-seed')).toContainText(`"seed": ${seed}`);

  const body = fetchSnippetBody(await copied(page, 'copy-fetch'));
  expect(body.seed).toBe(seed);
  expect(await copied(page, 'copy-curl')).toContain(`"seed":${seed}`);
  // the snippet's request answers exactly what the console shows, twice
  for (let i = 0; i < 2; i++) {
    const res = await apiFetch(page, '/0/3/score', body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(shown);
  }

  // a deterministic model: no X-Seed, no seed in the snippets
  await c.getByTestId('api-model-select').selectOption('0');
  await expect(c.getByTestId('api-request-line')).toHaveText('POST /0/score');
  await expect(c.getByTestId('api-status')).toHaveAttribute('data-status', '200');
  await expect(c.getByTestId('api-snippet-seed')).toHaveCount(0);
  expect('seed' in fetchSnippetBody(await copied(page, 'copy-fetch'))).toBe(false);
});

async function runAttack(page: Page, model: string, seed: number): Promise<void> {
  const p = panel(page);
  await p.getByTestId('attack-model').selectOption(model);
  await p.getByTestId('attack-method').selectOption('square');
  await p.getByTestId('attack-norm').selectOption('linf');
  await p.getByTestId('attack-eps').fill('0.1');
  await p.getByTestId('attack-max-queries').fill('60');
  await p.getByTestId('attack-seed').fill(String(seed));
  if (await p.getByTestId('attack-targeted').isChecked()) await p.getByTestId('attack-targeted').uncheck();
  await p.getByTestId('attack-eot').fill('1');
  const run = Number(await p.getAttribute('data-run'));
  await p.getByTestId('attack-run').click();
  await expect(p).toHaveAttribute('data-run', String(run + 1));
  await expect(p).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  await expect(p.getByTestId('attack-adversarial-decision')).toHaveAttribute('data-class', /^\d$/);
}

async function download(page: Page, testId: string): Promise<Buffer> {
  const [dl] = await Promise.all([page.waitForEvent('download'), panel(page).getByTestId(testId).click()]);
  const path = await dl.path();
  expect(path).toBeTruthy();
  return readFileSync(path!);
}

test('attack lab: the JSON request of a randomized model has the run’s seed; the PNG is 8-bit gray', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await openApp(page, '?models=0&backend=wasm');
  await page.evaluate(() => window.__playground.engine.load('0'));
  await pickTestImage(page, 1);

  await runAttack(page, '0_3', 7);
  const body = JSON.parse((await download(page, 'attack-download-json')).toString('utf8'));
  expect(Object.keys(body).sort()).toEqual(['channel', 'image', 'image_size', 'seed']);
  expect(body.seed).toBe(7);
  const bytes = decodeBase64(body.image);
  expect(bytes.length).toBe(784);
  // one draw, the same every time
  const first = await apiFetch(page, '/0/3/score', body);
  expect(first.status).toBe(200);
  expect((await apiFetch(page, '/0/3/score', body)).body).toEqual(first.body);

  const png = await download(page, 'attack-download-png');
  expect(png[25]).toBe(0); // IHDR colour type: grayscale, no alpha (the canvas wrote 6, RGBA)
  const img = PNG.sync.read(png);
  expect([img.width, img.height, img.colorType, img.depth]).toEqual([28, 28, 0, 8]);
  expect(Array.from({ length: 784 }, (_, i) => img.data[4 * i])).toEqual(Array.from(bytes));

  // a deterministic model's request has no seed
  await runAttack(page, '0', 7);
  const plain = JSON.parse((await download(page, 'attack-download-json')).toString('utf8'));
  expect(Object.keys(plain).sort()).toEqual(['channel', 'image', 'image_size']);
});
