/**
 * White-box attacks in the page (production build, WASM): the worker's engine differentiates the
 * models, so the fetch shim answers POST /<model>/gradient like `npm run serve -- --gradients`, and
 * the attack lab runs PGD on an uploaded model, with its loss and margin charted per step. An
 * upload whose graph has an op without a gradient rule is served, and its row says it is
 * black-box only, naming the op.
 */
import { expect, type Page, test } from '@playwright/test';
import { softplusModel } from '../test/helpers/onnx-models';
import { apiFetch, grayRequest, openApp } from './helpers';

const FIXTURES = 'test/fixtures/custom-models';

async function freshPage(page: Page): Promise<void> {
  await openApp(page, '?models=0&backend=wasm');
  await page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        const req = indexedDB.deleteDatabase('playground-custom-models');
        req.onsuccess = req.onerror = req.onblocked = () => resolve();
      }),
  );
  await openApp(page, '?models=0&backend=wasm');
}

test.describe('white-box attacks in the page', () => {
  test('the fetch shim answers /gradient with the loss, logits and 784 gradient values', async ({ page }) => {
    await freshPage(page);
    const res = await apiFetch(page, '/0/gradient', grayRequest(0, { label: 9, loss: 'margin' }));
    expect(res.status).toBe(200);
    const data = (res.body as { data: { loss: number; logits: number[]; gradient: number[] } }).data;
    expect(data.logits).toHaveLength(10);
    expect(data.gradient).toHaveLength(784);
    expect(Math.max(...data.gradient.map(Math.abs))).toBeGreaterThan(0);
    // the margin loss of a correctly classified image is negative
    expect(data.loss).toBeLessThan(0);
    const bad = await apiFetch(page, '/0/gradient', grayRequest(0, { label: 12 }));
    expect(bad.status).toBe(400);
    expect((bad.body as { error: string }).error).toMatch(/field "label"/);
  });

  test('PGD in the lab on an uploaded MLP; a model without a gradient rule says black-box only', async ({
    page,
  }) => {
    test.setTimeout(180_000);
    await freshPage(page);
    await page.getByTestId('custom-file-input').setInputFiles(`${FIXTURES}/tiny-mlp.onnx`);
    await expect(page.getByTestId('custom-model-tiny-mlp')).toBeVisible();
    await expect(page.getByTestId('custom-whitebox-tiny-mlp')).toHaveAttribute('data-value', 'yes');
    await page.getByTestId('custom-file-input').setInputFiles({
      name: 'softplus.onnx',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(softplusModel()),
    });
    const refused = page.getByTestId('custom-whitebox-softplus');
    await expect(refused).toHaveAttribute('data-value', 'no');
    await expect(refused).toContainText('no gradient rule for op Softplus');

    await page.getByTestId('tab-gallery').click();
    await page.getByTestId('gallery-item-0').click();
    const p = page.getByTestId('attack-panel');
    await p.getByTestId('attack-model').selectOption('custom/tiny-mlp');
    await p.getByTestId('attack-method').selectOption('pgd');
    await p.getByTestId('attack-norm').selectOption('linf');
    await p.getByTestId('attack-eps').fill('0.1');
    await expect(p.getByTestId('attack-max-queries')).toHaveCount(0);
    await expect(p.getByTestId('attack-about')).toContainText('white-box');
    const advanced = p.getByTestId('attack-advanced');
    if ((await advanced.getAttribute('open')) === null) await advanced.locator('summary').click();
    await p.getByTestId('attack-param-steps').fill('10');
    const run = Number(await p.getAttribute('data-run'));
    await p.getByTestId('attack-run').click();
    await expect(p).toHaveAttribute('data-run', String(run + 1));
    await expect(p).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
    await expect(p.getByTestId('attack-success')).toHaveAttribute('data-value', 'true');
    await expect(p.getByTestId('attack-metric-gradients')).toHaveAttribute('data-value', '10');
    const chart = p.getByTestId('attack-chart');
    await expect(chart).toHaveAttribute('data-metric', 'whitebox');
    await expect(chart).toHaveAttribute('data-points', '10');
    // the last step's mean margin is below 0: the image is misclassified
    expect(Number(await chart.getAttribute('data-margin'))).toBeLessThan(0);
    const linf = Number(await p.getByTestId('attack-metric-linf').getAttribute('data-value'));
    expect(linf).toBeLessThanOrEqual(0.1);

    // AutoAttack on the same image: APGD-CE breaks the MLP, the later stages do not run
    await p.getByTestId('attack-method').selectOption('autoattack');
    await p.getByTestId('attack-eps').fill('0.1');
    await p.getByTestId('attack-run').click();
    await expect(p).toHaveAttribute('data-run', String(run + 2));
    await expect(p).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
    const stages = p.getByTestId('autoattack-stages');
    await expect(stages).toHaveAttribute('data-version', 'standard');
    await expect(p.getByTestId('autoattack-stage-apgd-ce')).toHaveAttribute('data-value', 'broken');
    await expect(p.getByTestId('autoattack-stage-square')).toHaveAttribute('data-value', 'not run');
    await expect(p.getByTestId('attack-success')).toHaveAttribute('data-value', 'true');
    expect(Number(await p.getByTestId('attack-metric-linf').getAttribute('data-value'))).toBeLessThanOrEqual(
      0.1,
    );
  });
});
