/**
 * The black-box attack lab against the production build: a short Square attack (L∞) on the vanilla
 * CNN `0` for a test-set image, its verdict in the UI (and, through the API, on the downloaded
 * request), the three downloads (PNG, API JSON, .npy), transferability to model 0, and Stop on a
 * long HopSkipJump run whose progress streams into the page while it runs.
 *
 * Needs only model 0's weights.
 */
import { readFileSync } from 'node:fs';
import { expect, type Locator, type Page, test } from '@playwright/test';
import { PNG } from 'pngjs';
import { decodeBase64 } from '../src/core/base64';
import { CLASS_NAMES_DE, CLASS_NAMES_EN } from '../src/core/labels';
import { parseNpy } from '../src/ui/attack/export';
import { apiFetch, openApp, testSet } from './helpers';

const panel = (page: Page): Locator => page.getByTestId('attack-panel');

async function open(page: Page): Promise<void> {
  await openApp(page, '?models=0&backend=wasm');
  // load model 0's weights up front, so that the first run does not wait for them
  await page.evaluate(() => window.__playground.engine.load('0'));
  await expect(panel(page)).toBeVisible();
}

async function pickTestImage(page: Page, index: number): Promise<void> {
  await page.getByTestId('tab-gallery').click();
  await page.getByTestId(`gallery-item-${index}`).click();
  await expect(page.getByTestId('current-image-source')).toHaveText(`Test image #${index}`);
}

interface SetupOptions {
  model?: string;
  attack: string;
  norm: string;
  eps?: number;
  maxQueries: number;
  seed?: number;
  /** Attack-specific parameters, set in the "Attack parameters" section. */
  params?: Record<string, string>;
}

async function configure(page: Page, o: SetupOptions): Promise<void> {
  const p = panel(page);
  await p.getByTestId('attack-model').selectOption(o.model ?? '0');
  await p.getByTestId('attack-method').selectOption(o.attack);
  await p.getByTestId('attack-norm').selectOption(o.norm);
  if (o.eps !== undefined) await p.getByTestId('attack-eps').fill(String(o.eps));
  await p.getByTestId('attack-max-queries').fill(String(o.maxQueries));
  await p.getByTestId('attack-seed').fill(String(o.seed ?? 1));
  if (await p.getByTestId('attack-targeted').isChecked()) await p.getByTestId('attack-targeted').uncheck();
  await p.getByTestId('attack-eot').fill('1');
  if (o.params) {
    const advanced = p.getByTestId('attack-advanced');
    if ((await advanced.getAttribute('open')) === null) await advanced.locator('summary').click();
    for (const [k, v] of Object.entries(o.params)) await p.getByTestId(`attack-param-${k}`).fill(v);
  }
}

/** Runs the configured attack and waits for the adversarial image's verdict. */
async function runToEnd(page: Page): Promise<{ success: boolean; original: number; adversarial: number }> {
  const p = panel(page);
  const run = Number(await p.getAttribute('data-run'));
  await p.getByTestId('attack-run').click();
  await expect(p).toHaveAttribute('data-run', String(run + 1));
  await expect(p).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  await expect(p.getByTestId('attack-result')).toBeVisible();
  const adv = p.getByTestId('attack-adversarial-decision');
  await expect(adv).toHaveAttribute('data-class', /^\d$/);
  const original = Number(await p.getByTestId('attack-original-decision').getAttribute('data-class'));
  const adversarial = Number(await adv.getAttribute('data-class'));
  const success = (await p.getByTestId('attack-success').getAttribute('data-value')) === 'true';
  return { success, original, adversarial };
}

async function download(page: Page, testId: string): Promise<{ name: string; bytes: Buffer }> {
  const [dl] = await Promise.all([page.waitForEvent('download'), panel(page).getByTestId(testId).click()]);
  const path = await dl.path();
  expect(path).toBeTruthy();
  return { name: dl.suggestedFilename(), bytes: readFileSync(path!) };
}

test.describe('attack lab', () => {
  test('Square L∞ on the vanilla CNN flips its decision; downloads are valid', async ({ page }) => {
    test.setTimeout(360_000);
    await open(page);

    // A few correctly classified test images, ε = 0.1 first; a larger ε only if none falls in 300 queries.
    const tries: { index: number; eps: number }[] = [
      { index: 1, eps: 0.1 },
      { index: 4, eps: 0.1 },
      { index: 6, eps: 0.1 },
      { index: 0, eps: 0.1 },
      { index: 1, eps: 0.2 },
      { index: 4, eps: 0.2 },
    ];
    let found: { index: number; eps: number; original: number; adversarial: number } | null = null;
    for (const t of tries) {
      await pickTestImage(page, t.index);
      const label = testSet.labels[t.index];
      await expect(panel(page).getByTestId('attack-label-info')).toContainText(
        `label: ${CLASS_NAMES_EN[label]} (true class)`,
      );
      await configure(page, { attack: 'square', norm: 'linf', eps: t.eps, maxQueries: 300 });
      const r = await runToEnd(page);
      if (r.success && r.original === label && r.adversarial !== r.original) {
        found = { ...t, ...r };
        break;
      }
    }
    expect(found, 'Square (L∞, ≤ 300 queries) fooled model 0 on one of the candidate images').not.toBeNull();
    const { original, adversarial } = found!;
    const p = panel(page);

    // the numbers of the run
    expect(adversarial).not.toBe(original);
    const queries = Number(await p.getByTestId('attack-metric-queries').getAttribute('data-value'));
    expect(queries).toBeGreaterThan(0);
    expect(queries).toBeLessThanOrEqual(300);
    const linf = Number(await p.getByTestId('attack-metric-linf').getAttribute('data-value'));
    expect(linf).toBeGreaterThan(0);
    expect(linf).toBeLessThanOrEqual(found!.eps + 1e-6);
    await expect(p.getByTestId('attack-chart')).toHaveAttribute('data-metric', 'loss');
    expect(Number(await p.getByTestId('attack-chart').getAttribute('data-points'))).toBeGreaterThan(0);
    for (const id of ['attack-canvas-original', 'attack-canvas-adversarial', 'attack-canvas-perturbation']) {
      await expect(p.getByTestId(id)).toBeVisible();
    }
    const legend = p.getByTestId('attack-perturbation-legend');
    expect(Number(await legend.getAttribute('data-max'))).toBeGreaterThan(0);
    await expect(p.getByTestId('attack-adversarial-scores').getByTestId('attack-score-row')).toHaveCount(10);

    // downloads: JSON request, .npy, PNG — all the same 784 bytes
    const json = await download(page, 'attack-download-json');
    expect(json.name).toMatch(/\.json$/);
    const body = JSON.parse(json.bytes.toString('utf8'));
    expect(Object.keys(body).sort()).toEqual(['channel', 'image', 'image_size']);
    expect(body.image_size).toEqual([28, 28]);
    expect(body.channel).toBe(1);
    const bytes = decodeBase64(body.image);
    expect(bytes.length).toBe(784);

    const npy = await download(page, 'attack-download-npy');
    expect(npy.name).toMatch(/\.npy$/);
    const parsed = parseNpy(new Uint8Array(npy.bytes));
    expect(parsed.version).toEqual([1, 0]);
    expect(parsed.descr).toBe('<f4');
    expect(parsed.fortranOrder).toBe(false);
    expect(parsed.shape).toEqual([28, 28]);
    expect(parsed.data.length).toBe(784);
    expect((10 + parsed.headerLength) % 64).toBe(0);
    for (let i = 0; i < 784; i++) {
      expect(parsed.data[i]).toBeGreaterThanOrEqual(0);
      expect(parsed.data[i]).toBeLessThanOrEqual(1);
    }
    expect(Array.from(parsed.data, (v) => Math.round(v * 255))).toEqual(Array.from(bytes));

    const png = await download(page, 'attack-download-png');
    expect(png.name).toMatch(/\.png$/);
    const img = PNG.sync.read(png.bytes);
    expect([img.width, img.height]).toEqual([28, 28]);
    const gray: number[] = [];
    for (let i = 0; i < 784; i++) {
      const [r, g, b] = [img.data[4 * i], img.data[4 * i + 1], img.data[4 * i + 2]];
      expect(r === g && g === b).toBe(true);
      gray.push(r);
    }
    expect(gray).toEqual(Array.from(bytes));

    // the API agrees with the panel on the downloaded request
    const res = await apiFetch(page, '/0/decision', body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: CLASS_NAMES_DE[adversarial] });

    // transferability: model 0's card says fooled
    await p.getByTestId('attack-transfer-run').click();
    const card0 = p.getByTestId('attack-transfer-card-0');
    await expect(card0).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
    await expect(card0).toHaveAttribute('data-fooled', 'true');
    await expect(card0).toHaveAttribute('data-class', String(adversarial));
    await expect(
      p.getByTestId('attack-transfer-grid').locator('[data-testid^="attack-transfer-card-"]'),
    ).toHaveCount(15);
  });

  test('Stop ends a long HopSkipJump run with its best result; progress streams while it runs', async ({
    page,
  }) => {
    test.setTimeout(300_000);
    await open(page);
    await pickTestImage(page, 1);
    // enough iterations that only the budget (or Stop) ends it
    await configure(page, {
      attack: 'hopskipjump',
      norm: 'l2',
      maxQueries: 200_000,
      params: { maxIterations: '10000' },
    });
    const p = panel(page);
    await p.getByTestId('attack-run').click();
    await expect(p).toHaveAttribute('data-status', 'running', { timeout: 60_000 });
    await expect(p.getByTestId('attack-progress')).toBeVisible();
    const counter = p.getByTestId('attack-queries');
    await expect
      .poll(async () => Number(await counter.getAttribute('data-value')), { timeout: 60_000 })
      .toBeGreaterThan(0);

    // the attack runs in the worker: while it runs, the page keeps updating the counter (an attack on
    // the main thread would show nothing until it ended)
    const seen = new Set<number>();
    await expect
      .poll(
        async () => {
          seen.add(Number(await counter.getAttribute('data-value')));
          return seen.size;
        },
        { timeout: 60_000, intervals: [100] },
      )
      .toBeGreaterThanOrEqual(3);
    await expect(p).toHaveAttribute('data-status', 'running');
    const queriesSeen = Math.max(...seen);
    expect(queriesSeen).toBeLessThan(200_000);

    await p.getByTestId('attack-stop').click();
    await expect(p).toHaveAttribute('data-status', 'done', { timeout: 30_000 });
    const queries = Number(await p.getByTestId('attack-metric-queries').getAttribute('data-value'));
    expect(queries).toBeGreaterThanOrEqual(queriesSeen);
    expect(queries).toBeLessThan(200_000);
    await expect(p.getByTestId('attack-stopped')).toContainText(
      `stopped by you after ${queries} of 200000 queries`,
    );
    await expect(p.getByTestId('attack-chart')).toHaveAttribute('data-metric', 'distance');
    await expect(p.getByTestId('attack-adversarial-decision')).toHaveAttribute('data-class', /^\d$/);
    await expect(p.getByTestId('attack-run')).toBeEnabled();
  });

  test('on a randomized defense the headline is the success rate over fresh draws with its 95 % interval, from the sample the tile shows', async ({
    page,
  }) => {
    test.setTimeout(180_000);
    await open(page);
    await pickTestImage(page, 0);
    await configure(page, { model: '0_3', attack: 'square', norm: 'linf', eps: 0.1, maxQueries: 200 });
    await panel(page).getByTestId('attack-eot').fill('2');
    await runToEnd(page);
    const p = panel(page);
    await expect(p.getByTestId('attack-success')).toHaveText(
      /^· on its own EOT queries: attack (succeeded|failed)$/,
    );
    // one sample of 100 fresh draws behind the headline, the rate note and the tile
    const fresh = p.getByTestId('attack-fresh-draws');
    await expect(fresh).toContainText(
      /Fools 0_3 in \d+\.\d% of 100 fresh draws \(95 % CI \d+\.\d%–\d+\.\d%\)/,
    );
    const rate = Number(await fresh.getAttribute('data-value'));
    expect(rate).toBeGreaterThanOrEqual(0);
    expect(rate).toBeLessThanOrEqual(1);
    const note = p.getByTestId('attack-eot-rate');
    await expect(note).toHaveAttribute('data-draws', '100');
    expect(Number(await note.getAttribute('data-value'))).toBe(rate);
    // the tile's most frequent class and the headline's share agree: a fooled plurality class means at
    // least its votes were fooled; the true class as plurality leaves at most the other votes fooled
    const tile = p.getByTestId('attack-adversarial-decision');
    await expect(tile).toContainText(/most frequent, \d+\/100 draws/);
    const votes = Number(/(\d+)\/100 draws/.exec((await tile.textContent()) ?? '')![1]);
    const tileClass = Number(await tile.getAttribute('data-class'));
    if (tileClass !== testSet.labels[0]) expect(rate).toBeGreaterThanOrEqual(votes / 100);
    else expect(rate).toBeLessThanOrEqual(1 - votes / 100);
  });

  test('a setting outside its declared range is named with the range, and Run waits until it is fixed', async ({
    page,
  }) => {
    await open(page);
    const p = panel(page);
    await p.getByTestId('attack-method').selectOption('square');
    const advanced = p.getByTestId('attack-advanced');
    if ((await advanced.getAttribute('open')) === null) await advanced.locator('summary').click();
    const pInit = p.getByTestId('attack-param-pInit');
    const run = p.getByTestId('attack-run');
    await expect(run).toBeEnabled();
    await pInit.fill('0');
    await expect(pInit).toHaveAttribute('aria-invalid', 'true');
    await expect(p.getByTestId('attack-param-pInit-error')).toContainText(
      'pInit must be a number in (0, 1] (last valid: 0.8); Run waits until it is fixed',
    );
    await expect(run).toBeDisabled();
    await expect(p.getByTestId('attack-label-info')).toHaveText('Fix the settings marked in red first.');
    // leaving the field keeps what was typed (it used to snap back and run with the old value)
    await p.getByTestId('attack-seed').focus();
    await expect(pInit).toHaveValue('0');
    await pInit.fill('0.5');
    await expect(p.getByTestId('attack-param-pInit-error')).toHaveCount(0);
    await expect(run).toBeEnabled();
    // "Reset" also clears a typed value that was never valid (it never reached the settings)
    await pInit.fill('2');
    await expect(run).toBeDisabled();
    await p.getByTestId('attack-param-reset').click();
    await expect(p.getByTestId('attack-param-pInit')).toHaveValue('0.8');
    await expect(run).toBeEnabled();
    await p.getByTestId('attack-method').selectOption('hopskipjump');
    // each attack brings its own default norm: Square's L∞ is not carried over to HopSkipJump
    await expect(p.getByTestId('attack-norm')).toHaveValue('l2');
    await p.getByTestId('attack-param-maxNumEvals').fill('1.5');
    await expect(p.getByTestId('attack-param-maxNumEvals-error')).toContainText('a whole number ≥ 1');
    await expect(run).toBeDisabled();

    // the main fields: the default budget is a valid value of its input, 0 is named, ε is bounded
    const budget = p.getByTestId('attack-max-queries');
    expect(await budget.evaluate((el: HTMLInputElement) => el.validity.valid)).toBe(true);
    await budget.fill('0');
    await expect(p.getByTestId('attack-max-queries-error')).toContainText(
      'The query budget must be a whole number ≥ 1 (last valid:',
    );
    await budget.fill('300');
    await expect(p.getByTestId('attack-max-queries-error')).toHaveCount(0);
    await p.getByTestId('attack-method').selectOption('square');
    await p.getByTestId('attack-norm').selectOption('linf');
    const eps = p.getByTestId('attack-eps');
    await eps.fill('5');
    await expect(p.getByTestId('attack-eps-error')).toContainText('ε must be a number in (0, 1] for L∞');
    await eps.fill('0');
    await expect(p.getByTestId('attack-eps-error')).toContainText('ε must be a number in (0, 1] for L∞');
    await eps.fill('0.1');
    await expect(p.getByTestId('attack-eps-error')).toHaveCount(0);
    // the HopSkipJump field left with the attack: nothing invalid is on screen, so Run is back
    await expect(run).toBeEnabled();
  });
});
