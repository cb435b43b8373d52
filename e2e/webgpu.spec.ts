/**
 * WebGPU correctness: Chromium's SwiftShader adapter (a CPU emulation, `isFallbackAdapter: true`) forced
 * with ?backend=webgpu must give the same logits as WASM. Correctness only: it is ~100× slower.
 */
import { expect, test } from '@playwright/test';
import { imageAt } from '../src/data/idx';
import { CHROMIUM_ARGS, findChromium } from '../tools/lib/browser';
import { openApp, testSet } from './helpers';

test.use({
  launchOptions: { executablePath: findChromium(), args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'] },
});

test.describe('WebGPU (SwiftShader, forced) matches WASM', () => {
  test('each architecture at batch 1 within 1e-3', async ({ page, browser }) => {
    test.setTimeout(300_000);
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
    await wasmPage.close();
  });
});
