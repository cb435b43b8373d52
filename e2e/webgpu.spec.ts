/**
 * WebGPU correctness: Chromium's SwiftShader adapter (a CPU emulation, `isFallbackAdapter: true`) forced
 * with ?backend=webgpu must give the same logits as WASM. Correctness only: it is ~100× slower.
 */
import { expect, test } from '@playwright/test';
import { imageAt } from '../src/data/idx';
import { CHROMIUM_ARGS, findChromium } from '../tools/lib/browser';
import { apiFetch, grayRequest, openApp, testSet } from './helpers';

test.use({
  launchOptions: { executablePath: findChromium(), args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'] },
});

test.describe('WebGPU (SwiftShader, forced) matches WASM', () => {
  test('each architecture at batch 1 within 1e-3; gradients within 1e-3 of their norm', async ({
    page,
    browser,
  }) => {
    test.setTimeout(480_000);
    await openApp(page, '?backend=webgpu');
    const wasmPage = await browser.newPage();
    await openApp(wasmPage, '?backend=wasm');
    const x = Array.from(imageAt(testSet, 11), (v) => v / 255);
    const infer = (p: typeof page, weights: string) =>
      p.evaluate(
        async ({ weights, x }) =>
          Array.from(await window.__playground.engine.infer(weights, Float32Array.from(x), 1)),
        { weights, x },
      );
    for (const weights of ['0', '2', '5']) {
      const gpu = await infer(page, weights);
      const cpu = await infer(wasmPage, weights);
      const status = await page.evaluate(
        (w) => window.__playground.engine.status().then((s) => s.weights.find((e) => e.weights === w)),
        weights,
      );
      expect(status?.backend, `${weights} ran on`).toBe('webgpu');
      for (let i = 0; i < 10; i++)
        expect(Math.abs(gpu[i] - cpu[i]), `${weights} logit ${i}`).toBeLessThan(1e-3);
    }
    // gradients (the reverse pass's graph) on the same pages: the CNN and the ViT in npm test
    // (SwiftShader takes minutes per ResNet18 gradient), all three with `npm run test:webgpu`
    const models = process.env.WEBGPU_ALL === '1' ? ['0', '2', '5'] : ['0', '5'];
    // the margin loss's cotangent is exactly ±1, so the comparison is of the two backward passes
    // (cross-entropy's 1 − p_y of a confident image would compare the logits' last digits instead)
    const body = grayRequest(11, { label: testSet.labels[11], loss: 'margin' });
    for (const model of models) {
      const gpu = await apiFetch(page, `/${model}/gradient`, body);
      const cpu = await apiFetch(wasmPage, `/${model}/gradient`, body);
      expect(gpu.status, JSON.stringify(gpu.body)).toBe(200);
      expect(cpu.status).toBe(200);
      const g = (gpu.body as { data: { gradient: number[] } }).data.gradient;
      const c = (cpu.body as { data: { gradient: number[] } }).data.gradient;
      const norm = Math.hypot(...c);
      const diff = Math.hypot(...g.map((v, i) => v - c[i]));
      expect(norm, `${model} gradient norm`).toBeGreaterThan(0);
      expect(diff, `${model}: ‖gpu − wasm‖ against ‖wasm‖ ${norm}`).toBeLessThanOrEqual(1e-3 * norm);
    }
    await wasmPage.close();
  });
});
