/**
 * The gallery's adversarial sets in Chromium: choose a PGD set, see an adversarial image beside its
 * clean twin and the perturbation, get the model's decision on it (checked against
 * onnxruntime-node on the same bytes), go back to the twin; a set whose card names another weight
 * file is refused with a message.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { createNodeEngine } from '../server/node-engine';
import { CLASS_NAMES_EN } from '../src/core/labels';
import { getModel } from '../src/core/models';
import { classifyInputs } from '../src/core/router';
import { adversarialImageAt } from '../src/data/adversarial';
import { imageAt } from '../src/data/idx';
import { loadAdversarialSetNode } from '../tools/lib/adversarial-node';
import { canvasGray, openApp, testSet } from './helpers';

const SET = 'adversarial/pgd-eps0.1-from-0';
const set = loadAdversarialSetNode('public/data', 'public/models', SET);
const MODEL_LOAD_TIMEOUT = 240_000;

test('the gallery shows a PGD image beside its clean twin, and model 0 decides on it as onnxruntime-node does', async ({
  page,
}) => {
  test.setTimeout(300_000);
  const index = set.card.subset.indices[0];
  const adv = adversarialImageAt(set, index);
  const engine = createNodeEngine({ threads: 1 });
  const expected = (await classifyInputs(engine, getModel('0')!, [Float32Array.from(adv, (v) => v / 255)]))
    .preds[0];
  await engine.release();

  await openApp(page, '?models=0&backend=wasm');
  await expect(page.getByTestId('model-cell-0')).toHaveAttribute('data-state', 'ready', {
    timeout: MODEL_LOAD_TIMEOUT,
  });
  await page.getByTestId('tab-gallery').click();
  const source = page.getByTestId('gallery-source');
  await expect(source.locator('option')).toHaveCount(10);
  await source.selectOption(SET);
  await expect(page.getByTestId('gallery-source-note')).toContainText('crafted on 0');
  await expect(page.getByTestId('gallery-page')).toContainText('1,000 images');
  await page.getByTestId(`gallery-item-${index}`).click();

  await expect(page.getByTestId('current-image-source')).toHaveText(
    `PGD image of test #${index} (ε 0.1, crafted on model 0)`,
  );
  await expect(page.getByTestId('true-label')).toHaveText(CLASS_NAMES_EN[testSet.labels[index]]);
  const twin = page.getByTestId('adversarial-twin');
  await expect(twin).toBeVisible();
  // the canvases are painted after the twin appears
  await expect.poll(() => canvasGray(twin.getByTestId('twin-clean'))).toEqual([...imageAt(testSet, index)]);
  await expect.poll(() => canvasGray(twin.getByTestId('twin-adversarial'))).toEqual([...adv]);
  const levels = Number(await twin.getByTestId('twin-perturbation').getAttribute('data-levels'));
  expect(levels).toBeGreaterThan(0);
  expect(levels).toBeLessThanOrEqual(25);

  const card = page.getByTestId('result-card-0');
  await expect(card).toHaveAttribute('data-stale', 'false');
  await expect(card.getByTestId('result-decision')).toHaveText(CLASS_NAMES_EN[expected]);
  await expect(card.getByTestId('result-correct')).toHaveAttribute(
    'data-correct',
    String(expected === testSet.labels[index]),
  );

  await twin.getByTestId('twin-show-clean').click();
  await expect(page.getByTestId('current-image-source')).toHaveText(`Test image #${index}`);
  await expect(page.getByTestId('adversarial-twin')).toHaveCount(0);
});

test('a set whose card names another weight file is refused with a message', async ({ page }) => {
  test.setTimeout(120_000);
  const name = 'pgd-eps0.1-from-2';
  const card = JSON.parse(readFileSync(`public/data/adversarial/${name}.json`, 'utf8'));
  card.source.sha256 = 'b'.repeat(64);
  await page.route(`**/data/adversarial/${name}.json`, (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(card) }),
  );
  await openApp(page, '?models=0&backend=wasm');
  await page.getByTestId('tab-gallery').click();
  await page.getByTestId('gallery-source').selectOption(`adversarial/${name}`);
  await expect(page.getByTestId('gallery-source-error')).toContainText(
    'crafted on a different file of model 2 (card sha256 bbbbbbbbbbbb…',
  );
  await expect(page.locator('[data-testid^="gallery-item-"]')).toHaveCount(0);
  // the clean set is still there
  await page.getByTestId('gallery-source').selectOption('');
  await expect(page.getByTestId('gallery-item-0')).toBeVisible();
});
