/**
 * The playground UI in a real Chromium against the production build: drawing, uploads, the test-set
 * gallery, model selection, score charts, sampling of randomized defenses, errors, the API console,
 * and screenshots of the main views (light and dark) into e2e-artifacts/.
 *
 * Written against models 0, 0_3 and 0_4 (one weight file), so it passes while other models train.
 * The tests share one page, as a user would: onnxruntime's WASM and the session are created once
 * (that alone can take minutes on a busy two-core machine), and each test starts from `reset()`.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, type Locator, type Page, test } from '@playwright/test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { toModelInput } from '../src/core/image';
import { CLASS_NAMES_DE, CLASS_NAMES_EN } from '../src/core/labels';
import { canvasGray, openApp, testSet } from './helpers';

const FIXTURES = join('e2e', 'fixtures');
const ARTIFACTS = 'e2e-artifacts';
const CNN_TRIO = ['0', '0_3', '0_4'];
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const ANY_CLASS = new RegExp(`^(${CLASS_NAMES_EN.map(escapeRe).join('|')})$`);
const ANY_CLASS_DE = new RegExp(CLASS_NAMES_DE.map(escapeRe).join('|'));
/** First model load: WASM compile + session creation, slow when training runs beside the tests. */
const MODEL_LOAD_TIMEOUT = 240_000;

mkdirSync(ARTIFACTS, { recursive: true });

let page: Page;

function card(p: Page, key: string): Locator {
  return p.getByTestId(`result-card-${key}`);
}

function allCards(p: Page): Locator {
  return p.locator('[data-testid^="result-card-"]');
}

/** Waits until a card shows a decision for the current image (not a stale one). */
async function expectFreshDecision(p: Page, key: string, name: RegExp | string = ANY_CLASS): Promise<void> {
  const c = card(p, key);
  await expect(c).toHaveAttribute('data-stale', 'false');
  await expect(c).toHaveAttribute('data-status', 'ready');
  await expect(c.getByTestId('result-decision')).toHaveText(name);
}

/** Opens the playground and waits until weights 0 are loaded. */
async function open(p: Page, query: string): Promise<void> {
  await openApp(p, `${query}&backend=wasm`);
  await expect(p.getByTestId('app-header')).toBeVisible();
  await expect(p.getByTestId('model-cell-0')).toHaveAttribute('data-state', 'ready', {
    timeout: MODEL_LOAD_TIMEOUT,
  });
}

async function selectModels(ids: string[]): Promise<void> {
  await page.getByTestId('preset-clear').click();
  for (const id of ids) await page.getByTestId(`model-cell-${id}`).click();
  await expect(allCards(page)).toHaveCount(ids.length);
}

async function showTestImage(index: number): Promise<void> {
  await page.getByTestId('tab-gallery').click();
  await page.getByTestId('gallery-index').fill(String(index));
  await page.getByTestId('gallery-go').click();
  await expect(page.getByTestId('current-image-source')).toHaveText(`Test image #${index}`);
}

/** Back to the start view: light theme, decisions, no sampling or seed, CNN trio, test image 0. */
async function reset(): Promise<void> {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1440, height: 1000 });
  await page.getByTestId('theme-system').click();
  const dismissAll = page.getByTestId('error-dismiss-all');
  if (await dismissAll.isVisible()) await dismissAll.click();
  const dismiss = page.getByTestId('error-dismiss');
  while ((await dismiss.count()) > 0) await dismiss.first().click();
  await page.getByTestId('mode-decision').click();
  await page.getByTestId('sample-toggle').uncheck();
  await page.getByTestId('seed-input').fill('');
  await selectModels(CNN_TRIO);
  await showTestImage(0);
  for (const id of CNN_TRIO) await expectFreshDecision(page, id);
}

/** The red channel of every pixel of a canvas, i.e. its gray values. */

const bright = (px: number[]) => px.filter((v) => v > 128).length;

/** What the API conversion gives for decoded RGBA pixels (the reference the page must match). */
function expectedConversion(rgba: Uint8Array, width: number, height: number): number[] {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgb[i] = rgba[j];
    rgb[i + 1] = rgba[j + 1];
    rgb[i + 2] = rgba[j + 2];
  }
  return Array.from(toModelInput(rgb, width, height, 3), (v) => Math.round(v * 255));
}

/** A mouse stroke through grid points (0–28 on both axes) of the drawing canvas. */
async function stroke(canvas: Locator, points: [number, number][]): Promise<void> {
  const box = (await canvas.boundingBox())!;
  const at = ([gx, gy]: [number, number]) =>
    [box.x + (gx / 28) * box.width, box.y + (gy / 28) * box.height] as const;
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 8 });
  await page.mouse.up();
}

test.describe('playground UI', () => {
  // tests run in order in one worker and share the page; after a failure the next worker opens a new one
  test.describe.configure({ timeout: 300_000 });

  test.beforeAll(async ({ browser }, testInfo) => {
    testInfo.setTimeout(MODEL_LOAD_TIMEOUT + 60_000);
    const use = testInfo.project.use;
    const context = await browser.newContext({
      baseURL: use.baseURL,
      viewport: { width: 1440, height: 1000 },
      permissions: ['clipboard-read', 'clipboard-write'],
    });
    page = await context.newPage();
    // the URL selects models and the image
    await open(page, `?models=${CNN_TRIO.join(',')}&img=test:0`);
    await expect(allCards(page)).toHaveCount(3);
    await expect(page.getByTestId('current-image-source')).toHaveText('Test image #0');
  });

  test.afterAll(async () => {
    // with tracing on, closing a hand-made context can race the trace writer: ignore that
    await page
      ?.context()
      .close()
      .catch(() => {});
  });

  test.beforeEach(async () => {
    await reset();
  });

  test('drawing a shape gives live decisions for every selected model', async () => {
    await page.getByTestId('tab-draw').click();
    await page.getByTestId('draw-clear').click();
    const canvas = page.getByTestId('draw-canvas');
    await expect(canvas).toBeVisible();
    // a pair of trousers: waistband and two legs
    await stroke(canvas, [
      [9, 4],
      [19, 4],
    ]);
    await stroke(canvas, [
      [10, 4],
      [9, 25],
    ]);
    await stroke(canvas, [
      [18, 4],
      [19, 25],
    ]);
    await expect(page.getByTestId('current-image-source')).toHaveAttribute('data-kind', 'draw');
    for (const id of CNN_TRIO) await expectFreshDecision(page, id);
    await expect(card(page, '0').getByTestId('result-decision-de')).toContainText(ANY_CLASS_DE);
    for (const id of CNN_TRIO) await expect(card(page, id).getByTestId('result-model-input')).toBeVisible();
    const current = page.getByTestId('current-image-pixels');
    await expect.poll(async () => bright(await canvasGray(current))).toBeGreaterThan(40);
    const drawn = bright(await canvasGray(current));
    // the drawing is in the URL, so the view can be shared
    await expect(page).toHaveURL(/img=px%3A/);

    // undo takes the last leg away; the keyboard paints too
    await page.getByTestId('draw-undo').click();
    await expect.poll(async () => bright(await canvasGray(current))).toBeLessThan(drawn);
    await canvas.focus();
    await page.keyboard.press('Space');
    await expect(card(page, '0')).toHaveAttribute('data-stale', 'false');

    // a shared link restores the same pixels in a new tab
    const sharedPixels = await canvasGray(current);
    const param = `px:${Buffer.from(sharedPixels).toString('base64url')}`;
    await expect.poll(() => new URL(page.url()).searchParams.get('img')).toBe(param);
    const second = await page.context().newPage();
    await second.goto(page.url());
    await expect(second.getByTestId('current-image-source')).toHaveAttribute('data-kind', 'link');
    await expect.poll(() => canvasGray(second.getByTestId('current-image-pixels'))).toEqual(sharedPixels);
    await expect(card(second, '0')).toHaveAttribute('data-stale', 'false', { timeout: MODEL_LOAD_TIMEOUT });
    await expectFreshDecision(second, '0');
    await second.close();
  });

  test('uploaded colour PNG and JPEG of odd sizes are converted exactly as the API does', async () => {
    await page.getByTestId('tab-upload').click();

    const pngPath = join(FIXTURES, 'tshirt-37x29.png');
    await page.getByTestId('upload-input').setInputFiles(pngPath);
    await expect(page.getByTestId('upload-info')).toContainText('37×29');
    await expect(page.getByTestId('upload-original')).toBeVisible();
    await expect(page.getByTestId('current-image-source')).toContainText('tshirt-37x29.png');
    const png = PNG.sync.read(readFileSync(pngPath));
    const pngExpected = expectedConversion(new Uint8Array(png.data), png.width, png.height);
    await expect.poll(() => canvasGray(page.getByTestId('upload-converted'))).toEqual(pngExpected);
    for (const id of CNN_TRIO) await expectFreshDecision(page, id);
    await page.screenshot({ path: `${ARTIFACTS}/upload-light.png` });

    const jpgPath = join(FIXTURES, 'boot-53x41.jpg');
    await page.getByTestId('upload-input').setInputFiles(jpgPath);
    await expect(page.getByTestId('upload-info')).toContainText('53×41');
    await expect(page.getByTestId('current-image-source')).toContainText('boot-53x41.jpg');
    const jpg = jpeg.decode(readFileSync(jpgPath), { useTArray: true });
    const jpgExpected = expectedConversion(jpg.data, jpg.width, jpg.height);
    // JPEG decoders may differ by a level or two before the resize averages them out
    await expect
      .poll(async () => {
        const actual = await canvasGray(page.getByTestId('upload-converted'));
        return Math.max(...actual.map((v, i) => Math.abs(v - jpgExpected[i])));
      })
      .toBeLessThanOrEqual(4);
    for (const id of CNN_TRIO) await expectFreshDecision(page, id);
    // every card shows the 28×28 its model actually received
    for (const id of CNN_TRIO) await expect(card(page, id).getByTestId('result-model-input')).toBeVisible();

    // a dark object on white, the opposite of Fashion-MNIST, is said to be so; the fixtures are not
    const mean = (g: number[]) => g.reduce((a, b) => a + b, 0) / g.length;
    const light = new PNG({ width: 28, height: 28 });
    light.data.fill(255);
    for (let y = 8; y < 20; y++)
      for (let x = 8; x < 20; x++) light.data.fill(20, 4 * (28 * y + x), 4 * (28 * y + x) + 3);
    await page.getByTestId('upload-input').setInputFiles({
      name: 'dark-on-white.png',
      mimeType: 'image/png',
      buffer: PNG.sync.write(light),
    });
    const note = page.getByTestId('upload-light-background');
    await expect(note).toContainText('Mostly light');
    const shown = Number(await note.getAttribute('data-mean'));
    expect(shown).toBeCloseTo(mean(await canvasGray(page.getByTestId('upload-converted'))), 0);
    await page.getByTestId('upload-input').setInputFiles(jpgPath);
    await expect(page.getByTestId('upload-info')).toContainText('53×41');
    expect(mean(jpgExpected)).toBeLessThan(128);
    await expect(note).toHaveCount(0);
  });

  test('a corrupt upload shows an error and keeps the previous image', async () => {
    await expectFreshDecision(page, '0', 'Ankle boot');
    const before = await canvasGray(page.getByTestId('current-image-pixels'));
    await page.getByTestId('tab-upload').click();
    await page.getByTestId('upload-input').setInputFiles(join(FIXTURES, 'corrupt.png'));
    const banner = page.getByTestId('error-banner').filter({ hasText: 'could not be decoded' });
    await expect(banner).toBeVisible();
    await expect(page.getByTestId('upload-error')).toContainText('corrupt.png');
    await expect(page.getByTestId('current-image-source')).toHaveText('Test image #0');
    expect(await canvasGray(page.getByTestId('current-image-pixels'))).toEqual(before);
    await expect(card(page, '0').getByTestId('result-decision')).toHaveText('Ankle boot');
    // banners stay until dismissed
    await page.waitForTimeout(1000);
    await expect(banner).toBeVisible();
    await banner.getByTestId('error-dismiss').click();
    await expect(banner).toHaveCount(0);
  });

  test('gallery: test image 0 is an ankle boot and the vanilla CNN says so', async () => {
    await page.getByTestId('tab-gallery').click();
    await page.getByTestId('gallery-item-1').click();
    await expect(page.getByTestId('true-label')).toHaveText(CLASS_NAMES_EN[testSet.labels[1]]);
    await page.getByTestId('gallery-item-0').click();
    await expect(page.getByTestId('true-label')).toHaveText('Ankle boot');
    await expectFreshDecision(page, '0', 'Ankle boot');
    await expect(card(page, '0').getByTestId('result-correct')).toHaveAttribute('data-correct', 'true');
    await expect(page.getByTestId('model-cell-0').getByTestId('model-cell-decision')).toContainText(
      'Ankle boot',
    );
    await expect(page).toHaveURL(/img=test%3A0(&|$)/);

    // filter by class, then a random pick of that class
    await page.getByTestId('gallery-class-filter').selectOption({ label: 'Sandal' });
    const thumbs = page.locator('[data-testid^="gallery-item-"]');
    await expect(thumbs.first()).toHaveAttribute('data-label', '5');
    const labels = await thumbs.evaluateAll((els) => els.map((e) => e.getAttribute('data-label')));
    expect(new Set(labels)).toEqual(new Set(['5']));
    await page.getByTestId('gallery-random').click();
    await expect(page.getByTestId('true-label')).toHaveText('Sandal');
    for (const id of CNN_TRIO) await expectFreshDecision(page, id);
    await expect(card(page, '0').getByTestId('result-correct')).toBeVisible();
    await page.getByTestId('gallery-class-filter').selectOption({ label: 'All classes' });
  });

  test('score mode shows ten bars per model with the true class marked', async () => {
    await page.getByTestId('mode-score').click();
    for (const id of CNN_TRIO) {
      const chart = card(page, id).getByTestId('score-chart');
      await expect(chart.locator('canvas')).toBeVisible();
      await expect(chart.getByTestId('score-row')).toHaveCount(10);
      await expect(chart.locator('[data-testid="score-row"][data-true]')).toHaveAttribute('data-class', '9');
    }
    await expect(page.getByTestId('score-chart')).toHaveCount(3);
  });

  test('sampling a randomized defense ×20 shows the distribution of decisions; a seed reproduces', async () => {
    await selectModels(['0_3', '0_4']);
    await expectFreshDecision(page, '0_3');
    await expect(card(page, '0_3').getByTestId('random-badge')).toBeVisible();
    await expect(page.getByTestId('sample-count')).toHaveValue('20');
    await page.getByTestId('sample-toggle').check();
    for (const id of ['0_3', '0_4']) {
      const dist = card(page, id).getByTestId('result-distribution');
      await expect(dist).toHaveAttribute('data-total', '20');
      await expect(dist).toContainText('Decisions over 20 draws');
      const counts = await dist
        .getByTestId('distribution-row')
        .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-count'))));
      expect(counts.reduce((a, b) => a + b, 0)).toBe(20);
    }

    // one seeded draw is reproducible
    await page.getByTestId('sample-toggle').uncheck();
    await page.getByTestId('seed-input').fill('42');
    await expect(card(page, '0_4').getByTestId('result-draw')).toContainText('seed 42');
    await expectFreshDecision(page, '0_4');
    const first = await card(page, '0_4').getByTestId('result-confidence').getAttribute('data-value');
    await page.getByTestId('seed-input').fill('7');
    await expect(card(page, '0_4').getByTestId('result-draw')).toContainText('seed 7');
    await page.getByTestId('seed-input').fill('42');
    await expect(card(page, '0_4').getByTestId('result-draw')).toContainText('seed 42');
    await expectFreshDecision(page, '0_4');
    await expect(card(page, '0_4').getByTestId('result-confidence')).toHaveAttribute('data-value', first!);
  });

  test('API console shows the exact exchange through the fetch shim and copies snippets', async () => {
    const apiConsole = page.getByTestId('api-console');
    await apiConsole.getByTestId('api-model-select').selectOption('0');
    await apiConsole.getByTestId('api-route-select').selectOption('decision');
    await expect(apiConsole.getByTestId('api-request-line')).toHaveText('POST /0/decision');
    await expect(apiConsole.getByTestId('api-status')).toHaveAttribute('data-status', '200');
    await expect(apiConsole.getByTestId('api-response-body')).toContainText('"data": "Ankle boot"');
    await expect(apiConsole.getByTestId('api-request')).toContainText('"image_size": [28, 28]');
    await expect(apiConsole.getByTestId('api-request')).toContainText('chars)');

    await apiConsole.getByTestId('api-model-select').selectOption('0_3');
    await apiConsole.getByTestId('api-route-select').selectOption('score');
    await expect(apiConsole.getByTestId('api-request-line')).toHaveText('POST /0/3/score');
    await expect(apiConsole.getByTestId('api-status')).toHaveAttribute('data-status', '200');
    await expect(apiConsole.getByTestId('api-response')).toContainText(/x-seed/i);

    await apiConsole.getByTestId('copy-fetch').click();
    await expect(apiConsole.getByTestId('copy-fetch')).toHaveText(/Copied/);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toContain("fetch('/0/3/score'");
    await apiConsole.getByTestId('copy-curl').click();
    await expect(apiConsole.getByTestId('copy-curl')).toHaveText(/Copied/);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toMatch(
      /^curl -s -X POST 'http:\/\/localhost:5000\/0\/3\/score'/,
    );
    await apiConsole.getByTestId('api-model-select').selectOption('0');
    await apiConsole.getByTestId('api-route-select').selectOption('decision');
  });

  test('header shows the backend and per-model timings', async () => {
    await expect(page.getByTestId('backend-status')).toContainText(/WASM · \d+ threads?/);
    await expect(page.getByTestId('model-cell-0')).toHaveAttribute('data-state', 'ready');
    await page.getByTestId('status-button').click();
    const row = page.getByTestId('status-popover').getByTestId('status-row-0');
    await expect(row).toContainText('ready');
    await expect(row).toContainText(/\d+(\.\d+)? (ms|s)/);
    await page.keyboard.press('Escape');
    await expect(page.getByTestId('status-popover')).toHaveCount(0);
    // the tab icon is served (no 404 in the console of every visit)
    const icon = await page.locator('link[rel="icon"]').getAttribute('href');
    expect((await page.request.get(new URL(icon!, page.url()).href)).status()).toBe(200);
  });

  test('screenshots of the main views, light and dark', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await expect
        .poll(() => page.evaluate(() => getComputedStyle(document.body).backgroundColor))
        .toBe(scheme === 'dark' ? 'rgb(13, 16, 22)' : 'rgb(244, 245, 248)');
      await showTestImage(0);
      // toggle off and on: in the second colour scheme sampling is still on from the first
      await page.getByTestId('sample-toggle').uncheck();
      await page.getByTestId('sample-toggle').check();
      await expect(card(page, '0_3').getByTestId('result-distribution')).toHaveAttribute('data-total', '20');
      await expect(card(page, '0_4').getByTestId('result-distribution')).toHaveAttribute('data-total', '20');
      await expect(page.locator('.thumb__marks').first()).toBeVisible();
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.waitForTimeout(300);
      await page.screenshot({
        path: `${ARTIFACTS}/${scheme === 'light' ? 'playground' : 'playground-dark'}.png`,
      });

      await page.getByTestId('mode-score').click();
      await expect(page.getByTestId('score-chart')).toHaveCount(3);
      await page.waitForTimeout(500); // let the bars finish animating
      await page.screenshot({ path: `${ARTIFACTS}/scores-${scheme}.png` });
      await page.getByTestId('mode-decision').click();
      await page.getByTestId('sample-toggle').uncheck();

      await page.getByTestId('send-to-canvas').click();
      await expect(page.getByTestId('draw-canvas')).toBeVisible();
      await stroke(page.getByTestId('draw-canvas'), [
        [3, 5],
        [11, 9],
      ]);
      for (const id of CNN_TRIO) await expectFreshDecision(page, id);
      await page.screenshot({ path: `${ARTIFACTS}/draw-${scheme}.png` });
      await page.getByTestId('api-console').screenshot({ path: `${ARTIFACTS}/api-console-${scheme}.png` });
    }
    // the explicit toggle overrides the system scheme
    await page.getByTestId('theme-light').click();
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
    await expect
      .poll(() => page.evaluate(() => getComputedStyle(document.body).backgroundColor))
      .toBe('rgb(244, 245, 248)');
    // tablet width: one column, everything still reachable
    await page.setViewportSize({ width: 834, height: 1112 });
    await page.getByTestId('tab-gallery').click();
    await expect(page.getByTestId('model-grid')).toBeVisible();
    await page.screenshot({ path: `${ARTIFACTS}/playground-tablet.png`, fullPage: true });
  });

  test('presets select the expected number of models', async () => {
    await expect(allCards(page)).toHaveCount(3);
    await page.getByTestId('preset-arch-cnn').click();
    await expect(allCards(page)).toHaveCount(5);
    await expect(page.getByTestId('selected-count')).toHaveText('5 selected');
    await page.getByTestId('preset-defense-resize_pad').click();
    await expect(allCards(page)).toHaveCount(3);
    for (const id of ['0_3', '2_3', '5_3']) await expect(card(page, id)).toBeVisible();
    await page.getByTestId('preset-all').click();
    await expect(allCards(page)).toHaveCount(15);
    await page.getByTestId('preset-clear').click();
    await expect(allCards(page)).toHaveCount(0);
    await expect(page.getByTestId('results-empty')).toBeVisible();
    // single cells toggle
    await page.getByTestId('model-cell-0').click();
    await page.getByTestId('model-cell-0_4').click();
    await expect(allCards(page)).toHaveCount(2);
    await expect(page.getByTestId('model-cell-0')).toHaveAttribute('aria-pressed', 'true');
  });
});
