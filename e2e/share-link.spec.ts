/**
 * "Copy link" and the address bar reproduce the view in a fresh page: scores vs decisions, the
 * sampling switch with its draw count and seed, the gallery image — a test image on a later page,
 * or an image of an adversarial set, shared by reference with its true label and source note —;
 * and a bad link stays in the address bar as given, with a warning naming what was wrong and the
 * default shown instead, until the user changes the view.
 *
 * Written against models 0 and 0_4 (one weight file), decisions on the wasm backend.
 */
import { expect, type Page, test } from '@playwright/test';
import { CLASS_NAMES_EN } from '../src/core/labels';
import { loadAdversarialSetNode } from '../tools/lib/adversarial-node';
import { openApp, testSet } from './helpers';

const MODEL_LOAD_TIMEOUT = 240_000;
const SET_STEM = 'pgd-eps0.1-from-0';
const SET = `adversarial/${SET_STEM}`;
const set = loadAdversarialSetNode('public/data', 'public/models', SET);

test.use({ permissions: ['clipboard-read', 'clipboard-write'] });
test.describe.configure({ timeout: 600_000 });

async function waitForModel(p: Page, id: string): Promise<void> {
  await expect(p.getByTestId(`model-cell-${id}`)).toHaveAttribute('data-state', 'ready', {
    timeout: MODEL_LOAD_TIMEOUT,
  });
}

/** Clicks "Copy link" and returns what it put on the clipboard. */
async function copyLink(p: Page): Promise<string> {
  await p.getByTestId('copy-link').click();
  await expect(p.getByTestId('copy-link')).toHaveText(/Link copied/);
  return p.evaluate(() => navigator.clipboard.readText());
}

/** A new tab of the same browser, opened on `url` as a user pasting the link would. */
async function openFresh(from: Page, url: string): Promise<Page> {
  const fresh = await from.context().newPage();
  await fresh.goto(url);
  await fresh.waitForFunction(() => Boolean(window.__playground));
  return fresh;
}

function banner(p: Page, key: string) {
  return p.locator(`[data-testid="error-banner"][data-key="${key}"]`);
}

test('scores, sampling ×7 with seed 1234 and test image #1234 (page 42) survive the link', async ({
  page,
}) => {
  const index = 1234;
  const label = testSet.labels[index];
  await openApp(page, '?models=0,0_4&backend=wasm');
  await waitForModel(page, '0');

  await page.getByTestId('mode-score').click();
  await page.getByTestId('sample-toggle').check();
  await page.getByTestId('sample-count').fill('7');
  await page.getByTestId('seed-input').fill('1234');
  await page.getByTestId('tab-gallery').click();
  await page.getByTestId('gallery-index').fill(String(index));
  await page.getByTestId('gallery-go').click();
  await expect(page.getByTestId('current-image-source')).toHaveText(`Test image #${index}`);
  await expect(page.getByTestId('gallery-page')).toContainText('Page 42 / 334');

  const link = await copyLink(page);
  const params = new URL(link).searchParams;
  expect(Object.fromEntries(params)).toMatchObject({
    img: `test:${index}`,
    mode: 'score',
    sample: 'on',
    draws: '7',
    seed: '1234',
    models: '0,0_4',
  });
  // the address bar is the same link
  await expect.poll(() => page.url()).toBe(link);

  const fresh = await openFresh(page, link);
  await expect(fresh.getByTestId('mode-score')).toHaveAttribute('aria-pressed', 'true');
  await expect(fresh.getByTestId('sample-toggle')).toBeChecked();
  await expect(fresh.getByTestId('sample-count')).toHaveValue('7');
  await expect(fresh.getByTestId('seed-input')).toHaveValue('1234');
  await expect(fresh.getByTestId('current-image-source')).toHaveText(`Test image #${index}`);
  await expect(fresh.getByTestId('true-label')).toHaveText(CLASS_NAMES_EN[label]);
  // the gallery opens on the page holding the image, the image selected
  await expect(fresh.getByTestId('gallery-page')).toContainText('Page 42 / 334');
  await expect(fresh.getByTestId(`gallery-item-${index}`)).toHaveAttribute('aria-pressed', 'true');
  await expect(fresh.locator('[data-testid^="gallery-item-"][aria-pressed="true"]')).toHaveCount(1);
  // and the results are asked for as shared: scores, the randomized model sampled 7 times
  await waitForModel(fresh, '0');
  const cnn = fresh.getByTestId('result-card-0');
  await expect(cnn).toHaveAttribute('data-status', 'ready');
  await expect(cnn.locator('[data-testid="score-row"][data-true]')).toHaveAttribute(
    'data-class',
    String(label),
  );
  await expect(fresh.getByTestId('result-card-0_4')).toContainText('mean of 7 draws', {
    timeout: MODEL_LOAD_TIMEOUT,
  });
  expect(fresh.url()).toBe(link);
  await fresh.close();
});

test('an adversarial-set image is shared by reference and reopens in its set with its true label', async ({
  page,
}) => {
  const index = set.card.subset.indices[100]; // on page 4 of the set's 34
  const label = testSet.labels[index];
  const source = `PGD image of test #${index} (ε ${set.card.attack.eps}, crafted on model 0)`;
  await openApp(page, '?models=0&backend=wasm');
  await page.getByTestId('tab-gallery').click();
  await page.getByTestId('gallery-source').selectOption(SET);
  await expect(page.getByTestId('gallery-source-note')).toContainText('crafted on');
  await page.getByTestId('gallery-index').fill(String(index));
  await page.getByTestId('gallery-go').click();
  await expect(page.getByTestId('current-image-source')).toHaveText(source);

  const link = await copyLink(page);
  expect(new URL(link).searchParams.get('img')).toBe(`set:${SET_STEM}:${index}`);

  const fresh = await openFresh(page, link);
  await expect(fresh.getByTestId('current-image-source')).toHaveText(source);
  await expect(fresh.getByTestId('true-label')).toHaveText(CLASS_NAMES_EN[label]);
  await expect(fresh.getByTestId('gallery-source')).toHaveValue(SET);
  await expect(fresh.getByTestId('gallery-source-note')).toContainText('crafted on');
  await expect(fresh.getByTestId('adversarial-twin')).toBeVisible();
  await expect(fresh.getByTestId('gallery-page')).toContainText('Page 4 / 34');
  await expect(fresh.getByTestId(`gallery-item-${index}`)).toHaveAttribute('aria-pressed', 'true');
  // the verdict is back: the true label is known
  await waitForModel(fresh, '0');
  await expect(fresh.getByTestId('result-card-0').getByTestId('result-correct')).toBeVisible();

  // an image drawn from it is no longer the set's: it is shared as pixels
  await fresh.getByTestId('send-to-canvas').click();
  await fresh.getByTestId('draw-canvas').focus();
  await fresh.keyboard.press('Space'); // paints a dot: the drawing becomes the current image
  await expect(fresh.getByTestId('current-image-source')).toHaveAttribute('data-kind', 'draw');
  await expect.poll(() => new URL(fresh.url()).searchParams.get('img')).toMatch(/^px:/);
  await fresh.close();
});

test('a bad link stays as given, with warnings naming each parameter and the default, until the view changes', async ({
  page,
}) => {
  const query = '?models=0&backend=wasm&img=test:99999&mode=scores&sample=yes&draws=0&seed=-3';
  await openApp(page, query);
  await expect(page.getByTestId('current-image-source')).toHaveText('Test image #0');
  await expect(banner(page, 'url-img')).toContainText('index 99999 is outside 0..9999');
  await expect(banner(page, 'url-img')).toContainText('showing test image #0 (the default) instead');
  await expect(banner(page, 'url-mode')).toContainText('mode=scores is not decision or score');
  await expect(banner(page, 'url-mode')).toContainText('the default, decision');
  await expect(banner(page, 'url-sample')).toContainText('sample=yes');
  await expect(banner(page, 'url-draws')).toContainText('the default, 20');
  await expect(banner(page, 'url-seed')).toContainText('seed=-3');
  await expect(page.getByTestId('mode-decision')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('sample-toggle')).not.toBeChecked();
  await expect(page.getByTestId('sample-count')).toHaveValue('20');
  await expect(page.getByTestId('seed-input')).toHaveValue('');
  await expect(page.getByTestId('gallery-item-0')).toHaveAttribute('aria-pressed', 'true');
  // the URL's image is written 300 ms after a change: wait past that, the typo is still there
  await page.waitForTimeout(1000);
  expect(new URL(page.url()).search).toBe(new URL(`http://x/${query}`).search);

  // the user changes the view: now the URL shows it
  await page.getByTestId('mode-score').click();
  await expect
    .poll(() => Object.fromEntries(new URL(page.url()).searchParams))
    .toEqual({ models: '0', backend: 'wasm', img: 'test:0', mode: 'score' });

  await page.goto('/?models=0&img=test:1.5');
  await expect(page.getByTestId('current-image-source')).toHaveText('Test image #0');
  await expect(banner(page, 'url-img')).toContainText('index “1.5” is not a whole number');
  await expect(banner(page, 'url-img')).not.toContainText('outside');
  await page.waitForTimeout(1000);
  expect(new URL(page.url()).searchParams.get('img')).toBe('test:1.5');

  // a set the gallery does not offer, and an index the set does not hold
  await page.goto('/?models=0&img=set:no-such-set:5');
  await expect(banner(page, 'url-img')).toContainText('there is no adversarial set “no-such-set”');
  await expect(page.getByTestId('current-image-source')).toHaveText('Test image #0');
  const missing = [...Array(10_000).keys()].find((i) => !set.position.has(i))!;
  await page.goto(`/?models=0&img=set:${SET_STEM}:${missing}`);
  await expect(banner(page, 'url-img')).toContainText(`has no image of test index ${missing}`);
  await expect(page.getByTestId('gallery-source')).toHaveValue('');
  expect(new URL(page.url()).searchParams.get('img')).toBe(`set:${SET_STEM}:${missing}`);
});
