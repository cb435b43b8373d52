/**
 * Bring your own model in Chromium against the production build: a small MLP with its
 * own tensor names (test/fixtures/custom-models/tiny-mlp.onnx: "pixels" → "class_scores") is
 * uploaded; /custom/tiny-mlp/score matches onnxruntime-node's softmax on the same file within 1e-4;
 * GET / lists it with sha256, size and spec; it survives a reload, is evaluated on the test set,
 * attacked with Square in the lab, paired with a preprocessor, used as a transfer target and served
 * again by a restarted worker; then removed. A 16 MB file shows its load progress. A 5-class model
 * and a non-ONNX file (dropped) are refused with messages naming the file, and nothing else changes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import * as ort from 'onnxruntime-node';
import { CLASS_NAMES_DE } from '../src/core/labels';
import { apiFetch, grayRequest, openApp, softmax, testSet } from './helpers';

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'custom-models');
const HOSTILE = join(process.cwd(), 'test', 'fixtures', 'hostile');
const MLP = join(FIXTURES, 'tiny-mlp.onnx');
const INDICES = [0, 1, 2, 3, 4, 5, 6, 7];

interface RootBody {
  models: {
    id: string;
    routes: { score: string };
    custom?: {
      file: string;
      sha256: string;
      bytes: number;
      input: { name: string; shape: unknown[] };
      output: { name: string; shape: unknown[] };
    };
  }[];
}

/** onnxruntime-node's softmax of the file's own outputs for test images `indices`. */
async function nodeReference(indices: number[]): Promise<number[][]> {
  const session = await ort.InferenceSession.create(MLP);
  const x = new Float32Array(indices.length * 784);
  indices.forEach((idx, i) => {
    for (let p = 0; p < 784; p++) x[i * 784 + p] = testSet.images[idx * 784 + p] / 255;
  });
  const out = await session.run({ pixels: new ort.Tensor('float32', x, [indices.length, 1, 28, 28]) });
  const logits = out.class_scores.data as Float32Array;
  await session.release();
  return indices.map((_, i) => softmax(logits.subarray(i * 10, (i + 1) * 10)));
}

/** Correct predictions of the file on the whole test set, in onnxruntime-node. */
async function nodeCorrect(): Promise<number> {
  const session = await ort.InferenceSession.create(MLP);
  const x = Float32Array.from(testSet.images.subarray(0, testSet.count * 784), (v) => v / 255);
  const out = await session.run({ pixels: new ort.Tensor('float32', x, [testSet.count, 1, 28, 28]) });
  const logits = out.class_scores.data as Float32Array;
  await session.release();
  let correct = 0;
  for (let i = 0; i < testSet.count; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (logits[i * 10 + c] > logits[i * 10 + best]) best = c;
    if (best === testSet.labels[i]) correct++;
  }
  return correct;
}

async function upload(page: Page, files: Parameters<Page['setInputFiles']>[1]): Promise<void> {
  await page.getByTestId('custom-file-input').setInputFiles(files);
}

async function scoresMatch(page: Page, reference: number[][]): Promise<void> {
  const res = await apiFetch(page, '/custom/tiny-mlp/score', { batch: INDICES.map((i) => grayRequest(i)) });
  expect(res.status).toBe(200);
  expect(res.headers['x-model-id']).toBe('custom/tiny-mlp');
  const data = (res.body as { data: number[][] }).data;
  expect(data).toHaveLength(INDICES.length);
  let worst = 0;
  data.forEach((row, i) => {
    row.forEach((p, c) => {
      worst = Math.max(worst, Math.abs(p - reference[i][c]));
    });
  });
  expect(worst).toBeLessThan(1e-4);
}

test.describe('bring your own model', () => {
  test.beforeEach(async ({ page }) => {
    // start from an empty IndexedDB: uploads from another test must not leak in
    await openApp(page, '?models=0&backend=wasm');
    await page.evaluate(
      () =>
        new Promise<void>((resolve) => {
          const req = indexedDB.deleteDatabase('playground-custom-models');
          req.onsuccess = req.onerror = req.onblocked = () => resolve();
        }),
    );
    await openApp(page, '?models=0&backend=wasm');
  });

  test('an MLP with its own tensor names: served, listed, kept across a reload, evaluated, attacked, removed', async ({
    page,
  }) => {
    test.setTimeout(360_000);
    const bytes = readFileSync(MLP);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const reference = await nodeReference(INDICES);

    await expect(page.getByTestId('custom-expected')).toContainText('[N,1,28,28]');
    await upload(page, MLP);
    const item = page.getByTestId('custom-model-tiny-mlp');
    await expect(item).toBeVisible();
    await expect(item).toContainText('tiny-mlp.onnx');
    await expect(item).toContainText('pixels');
    await expect(item).toContainText('class_scores');
    await expect(page.getByTestId('custom-refusal')).toHaveCount(0);

    // the contract through the shim: softmax scores as onnxruntime-node's, German decisions, errors
    await scoresMatch(page, reference);
    const decision = await apiFetch(page, '/custom/tiny-mlp/decision', grayRequest(0));
    expect(decision.status).toBe(200);
    const argmax = reference[0].indexOf(Math.max(...reference[0]));
    expect(decision.body).toEqual({ data: CLASS_NAMES_DE[argmax] });
    const defended = await apiFetch(page, '/custom/tiny-mlp/3/score', grayRequest(0, { seed: 7 }));
    expect(defended.status).toBe(200);
    expect(defended.headers['x-seed']).toBe('7');
    const again = await apiFetch(page, '/custom/tiny-mlp/3/score', grayRequest(0, { seed: 7 }));
    expect(again.body).toEqual(defended.body);
    expect((await apiFetch(page, '/custom/tiny-mlp/score', { image: 'x' })).status).toBe(400);
    expect((await apiFetch(page, '/custom/tiny-mlp/score')).status).toBe(405);
    expect((await apiFetch(page, '/custom/nobody/score', grayRequest(0))).status).toBe(404);

    // GET / lists it with checksum, size and input/output spec
    const root = (await apiFetch(page, '/')).body as RootBody;
    const listed = root.models.find((m) => m.id === 'custom/tiny-mlp');
    expect(listed?.routes.score).toBe('/custom/tiny-mlp/score');
    expect(listed?.custom).toMatchObject({
      file: 'tiny-mlp.onnx',
      sha256,
      bytes: bytes.byteLength,
      input: { name: 'pixels', shape: ['batch', 1, 28, 28] },
      output: { name: 'class_scores', shape: ['batch', 10] },
    });
    expect(root.models.map((m) => m.id)).toContain('custom/tiny-mlp/4');

    // in the model grid, selected beside model 0, with a decision
    const cell = page.getByTestId('model-cell-custom/tiny-mlp');
    await expect(cell).toHaveAttribute('aria-pressed', 'true');
    await expect(cell.getByTestId('model-cell-decision')).not.toContainText('…');

    // a second upload of the same name gets a suffix
    await upload(page, { name: 'tiny-mlp.onnx', mimeType: 'application/octet-stream', buffer: bytes });
    await expect(page.getByTestId('custom-model-tiny-mlp-2')).toBeVisible();
    await page.getByTestId('custom-remove-tiny-mlp-2').click();
    await expect(page.getByTestId('custom-model-tiny-mlp-2')).toHaveCount(0);
    await expect.poll(() => new URL(page.url()).searchParams.get('models')).toBe('0,custom/tiny-mlp');

    // survives a reload (IndexedDB); the route answers as soon as the page has restored it
    await page.reload();
    await page.waitForFunction(() => Boolean(window.__playground));
    await scoresMatch(page, reference);
    await expect(page.getByTestId('custom-model-tiny-mlp')).toBeVisible();
    await expect(page.getByTestId('custom-model-tiny-mlp-2')).toHaveCount(0);
    // the link kept it selected, and it is selected again once restored (no "unknown model" warning)
    await expect(page.getByTestId('model-cell-custom/tiny-mlp')).toHaveAttribute('aria-pressed', 'true');
    await expect.poll(() => new URL(page.url()).searchParams.get('models')).toBe('0,custom/tiny-mlp');
    await expect(page.getByText('Unknown models in the link')).toHaveCount(0);
    await expect(page.getByText('Models in the link are not uploaded')).toHaveCount(0);

    // accuracy on the 10,000 test images, as onnxruntime-node counts it
    const correct = await nodeCorrect();
    await page.getByTestId('custom-evaluate-tiny-mlp').click();
    const acc = page.getByTestId('custom-eval-accuracy-tiny-mlp');
    await expect(acc).toBeVisible({ timeout: 120_000 });
    const measured = Number(await acc.getAttribute('data-value'));
    expect(Math.abs(measured * 10_000 - correct)).toBeLessThanOrEqual(2);
    await expect(page.getByTestId('custom-eval-tiny-mlp').locator('tbody tr')).toHaveCount(10);

    // the attack lab: Square L∞ against it
    const lab = page.getByTestId('attack-panel');
    await page.getByTestId('tab-gallery').click();
    let fooled = false;
    for (const index of [0, 1, 2, 4]) {
      await page.getByTestId(`gallery-item-${index}`).click();
      await expect(page.getByTestId('current-image-source')).toHaveText(`Test image #${index}`);
      await lab.getByTestId('attack-model').selectOption('custom/tiny-mlp');
      await lab.getByTestId('attack-method').selectOption('square');
      await lab.getByTestId('attack-norm').selectOption('linf');
      await lab.getByTestId('attack-eps').fill('0.1');
      await lab.getByTestId('attack-max-queries').fill('300');
      const run = Number(await lab.getAttribute('data-run'));
      await lab.getByTestId('attack-run').click();
      await expect(lab).toHaveAttribute('data-run', String(run + 1));
      await expect(lab).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
      // the adversarial verdict arrives after "done"
      await expect(lab.getByTestId('attack-adversarial-decision')).toHaveAttribute('data-class', /^\d$/);
      const original = Number(await lab.getByTestId('attack-original-decision').getAttribute('data-class'));
      const adversarial = Number(
        await lab.getByTestId('attack-adversarial-decision').getAttribute('data-class'),
      );
      const success = (await lab.getByTestId('attack-success').getAttribute('data-value')) === 'true';
      if (original === testSet.labels[index] && success && adversarial !== original) {
        fooled = true;
        break;
      }
    }
    expect(fooled, 'Square (L∞ 0.1, ≤ 300 queries) fooled the uploaded MLP on one of the images').toBe(true);

    // removed: gone from the list, the grid, the API, and after a reload
    await page.getByTestId('custom-remove-tiny-mlp').click();
    await expect(page.getByTestId('custom-model-tiny-mlp')).toHaveCount(0);
    await expect(page.getByTestId('model-cell-custom/tiny-mlp')).toHaveCount(0);
    expect((await apiFetch(page, '/custom/tiny-mlp/score', grayRequest(0))).status).toBe(404);
    await page.reload();
    await page.waitForFunction(() => Boolean(window.__playground));
    expect((await apiFetch(page, '/custom/tiny-mlp/score', grayRequest(0))).status).toBe(404);
    await expect(page.getByTestId('custom-model-tiny-mlp')).toHaveCount(0);
  });

  test('paired with a preprocessor, a transfer target, and served again by a restarted worker', async ({
    page,
  }) => {
    test.setTimeout(480_000);
    // a short heartbeat, so that the crashed worker is noticed quickly (but not so short that a
    // worker busy checking the upload, or opening a session, on a slow or loaded machine is taken for
    // dead: session creation took 6.4 s on 2026-12-07, against 1.1 s a week before)
    await openApp(page, '?models=0&backend=wasm&heartbeat=20000');
    await upload(page, MLP);
    await expect(page.getByTestId('custom-model-tiny-mlp')).toBeVisible();

    // custom pairs: the uploaded weights with the thesis code's Gaussian blur
    const pairs = page.getByTestId('custom-pairs');
    if ((await pairs.getAttribute('open')) === null) await pairs.locator('summary').click();
    await page.getByTestId('custom-weights').selectOption('custom/tiny-mlp');
    await page.getByTestId('custom-preprocessor').selectOption('blur');
    await page.getByTestId('custom-add').click();
    const chip = page.locator('[data-testid^="custom-pair-custom-"]');
    await expect(chip).toHaveCount(1);
    await expect(chip).toContainText('custom/tiny-mlp + blur');
    const key = (await chip.getAttribute('data-testid'))!.replace('custom-pair-', '');
    const card = page.getByTestId(`result-card-${key}`);
    await expect(card).toHaveAttribute('data-status', 'ready');
    await expect(card.getByTestId('result-decision')).toHaveAttribute('data-class', /^\d$/);
    // the named defended routes of the same weights
    for (const v of ['3', '4', 'blur']) {
      const r = await apiFetch(page, `/custom/tiny-mlp/${v}/decision`, grayRequest(1, { seed: 1 }));
      expect(r.status, v).toBe(200);
      expect(CLASS_NAMES_DE).toContain((r.body as { data: string }).data);
    }

    // a transfer target in the attack lab: the fifteen, then the uploaded model and its variants
    const lab = page.getByTestId('attack-panel');
    await page.getByTestId('tab-gallery').click();
    await page.getByTestId('gallery-item-1').click();
    await lab.getByTestId('attack-model').selectOption('0');
    await lab.getByTestId('attack-method').selectOption('square');
    await lab.getByTestId('attack-norm').selectOption('linf');
    await lab.getByTestId('attack-eps').fill('0.1');
    await lab.getByTestId('attack-max-queries').fill('100');
    await lab.getByTestId('attack-run').click();
    await expect(lab).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
    await lab.getByTestId('attack-transfer-run').click();
    const transfer = lab.getByTestId('attack-transfer-card-custom/tiny-mlp');
    await expect(transfer.getByTestId('attack-transfer-verdict')).toBeVisible({ timeout: 180_000 });
    await expect(lab.getByTestId('attack-transfer-card-custom/tiny-mlp/4')).toBeVisible();

    // the worker dies: the new one serves the uploaded model again before it answers
    const reference = await nodeReference(INDICES);
    const generation = await page.evaluate(() => window.__playground.engine.generation);
    await page.evaluate(() => window.__playground.engine.crashForTest());
    await page.waitForFunction((g) => window.__playground.engine.generation > g, generation, {
      timeout: 30_000,
    });
    await scoresMatch(page, reference);
  });

  test('a 16 MB file shows its load progress; the shipped ResNet18 uploaded answers as /2 does', async ({
    page,
  }) => {
    test.setTimeout(180_000);
    await page.evaluate(() => {
      const w = window as unknown as { __progress: string[] };
      w.__progress = [];
      new MutationObserver(() => {
        const el = document.querySelector('[data-testid="custom-upload-progress"]');
        if (el?.textContent) w.__progress.push(el.textContent);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await upload(page, join('public', 'models', '2.onnx'));
    await expect(page.getByTestId('custom-model-2')).toBeVisible({ timeout: 120_000 });
    const seen = [
      ...new Set(await page.evaluate(() => (window as unknown as { __progress: string[] }).__progress)),
    ];
    const reading = seen.filter((t) => /^Reading 2\.onnx: [\d.]+ (KiB|MiB) of 16\.\d MiB$/.test(t));
    expect(reading.length, seen.join(' | ')).toBeGreaterThanOrEqual(3);
    expect(seen).toContain('Checking 2.onnx in onnxruntime…');
    await expect(page.getByTestId('custom-upload-progress')).toHaveCount(0);

    const body = { batch: [0, 1, 2].map((i) => grayRequest(i)) };
    const mine = await apiFetch(page, '/custom/2/score', body);
    const shipped = await apiFetch(page, '/2/score', body);
    expect(mine.status).toBe(200);
    const a = (mine.body as { data: number[][] }).data.flat();
    const b = (shipped.body as { data: number[][] }).data.flat();
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-6);
  });

  test('a 5-class model, a non-ONNX file and a model with external data are refused, naming the file; nothing else changes', async ({
    page,
  }) => {
    const before = (await apiFetch(page, '/')).body as RootBody;
    const selectedBefore = await page.getByTestId('selected-count').textContent();

    await upload(page, join(FIXTURES, 'five-class.onnx'));
    const refusals = page.getByTestId('custom-refusal');
    await expect(refusals).toHaveCount(1);
    await expect(refusals.first()).toContainText('"five-class.onnx" was refused');
    await expect(refusals.first()).toContainText('output "y" has shape [batch,5], not [N,10]');
    await expect(refusals.first()).toContainText('1 input: "x" float32 [batch,1,28,28]');

    // dropped on the drop zone this time
    const dropped = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['These are my notes, not a model.\n'], 'my-notes.onnx'));
      return dt;
    });
    await page.getByTestId('custom-dropzone').dispatchEvent('drop', { dataTransfer: dropped });
    await expect(refusals).toHaveCount(2);
    await expect(refusals.nth(1)).toContainText('"my-notes.onnx" was refused');
    await expect(refusals.nth(1)).toContainText('is not a well-formed ONNX file');

    // a model whose tensor would be read from a file where it is served (external data)
    await upload(page, join(HOSTILE, 'exfil-dupgraph.onnx'));
    await expect(refusals).toHaveCount(3);
    await expect(refusals.nth(2)).toContainText('"exfil-dupgraph.onnx" was refused');
    await expect(refusals.nth(2)).toContainText('a tensor stores its data outside the file (external_data)');

    // nothing listed, nothing served, the selection and the other models as before
    await expect(page.locator('[data-testid^="custom-model-"]')).toHaveCount(0);
    const after = (await apiFetch(page, '/')).body as RootBody;
    expect(after.models.map((m) => m.id)).toEqual(before.models.map((m) => m.id));
    expect(after.models.some((m) => m.id.startsWith('custom/'))).toBe(false);
    expect((await apiFetch(page, '/custom/five-class/score', grayRequest(0))).status).toBe(404);
    expect((await apiFetch(page, '/custom/my-notes/score', grayRequest(0))).status).toBe(404);
    expect((await apiFetch(page, '/custom/exfil-dupgraph/score', grayRequest(0))).status).toBe(404);
    await expect(page.getByTestId('selected-count')).toHaveText(selectedBefore ?? '');
    const zero = await apiFetch(page, '/0/score', grayRequest(0));
    expect(zero.status).toBe(200);

    // and nothing was kept for the next visit
    await page.reload();
    await page.waitForFunction(() => Boolean(window.__playground));
    await page.evaluate(() => window.__playground.ready);
    await expect(page.getByTestId('your-models')).toBeVisible();
    await expect(page.locator('[data-testid^="custom-model-"]')).toHaveCount(0);
    expect(((await apiFetch(page, '/')).body as RootBody).models.length).toBe(before.models.length);
  });
});
