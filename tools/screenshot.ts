/**
 * `npm run screenshot`: regenerates the README's screenshot (docs/playground.png) from the production
 * build, so the accuracies and decisions it shows are those of the shipped model files.
 * `npm run screenshot -- --custom test/fixtures/custom-models/tiny-mlp.onnx --out docs/your-models.png`
 * uploads that model, evaluates it on the test set and shows the model grid and "Your models".
 * Needs `npm run build`; serves dist/ with vite preview and drives headless Chromium.
 */
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { preview } from 'vite';
import { launchChromium } from './lib/browser';

const opts = new Command()
  .option('--out <file>', 'PNG to write', 'docs/playground.png')
  .option('--models <ids>', 'models selected in the grid', '0,0_1,0_3,2,2_1,5')
  .option('--port <n>', 'port for vite preview', '4178')
  .option('--custom <onnx>', 'upload this model, evaluate it and shoot the grid and "Your models"')
  .parse()
  .opts<{ out: string; models: string; port: string; custom?: string }>();

if (!existsSync('dist/index.html')) {
  console.error('no production build in dist/: run `npm run build` first');
  process.exit(1);
}
const port = Number(opts.port);
const server = await preview({ preview: { port, strictPort: true, host: '127.0.0.1' }, logLevel: 'error' });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  await page.goto(`http://127.0.0.1:${port}/?backend=wasm&models=${opts.models}`);
  await page.waitForFunction(() => Boolean(window.__playground));
  await page.evaluate(() => window.__playground.ready);
  // every selected model loaded, and every comparison card answered
  await page.waitForFunction(
    () => {
      const m = document
        .querySelector('[data-testid="status-button"]')
        ?.textContent?.match(/(\d+)\/(\d+) loaded/);
      return m !== null && m !== undefined && m[1] === m[2] && Number(m[2]) > 0;
    },
    undefined,
    { timeout: 180_000 },
  );
  await page.waitForFunction(
    () => document.querySelectorAll('.model-cell.is-selected .model-cell__decision.is-stale').length === 0,
    undefined,
    { timeout: 120_000 },
  );
  if (opts.custom) {
    await page.getByTestId('custom-file-input').setInputFiles(opts.custom);
    const item = page.locator('[data-testid^="custom-evaluate-"]').first();
    await item.click({ timeout: 60_000 });
    await page.locator('[data-testid^="custom-eval-accuracy-"]').first().waitFor({ timeout: 180_000 });
    await page.waitForFunction(
      () => document.querySelectorAll('.model-cell.is-selected .model-cell__decision.is-stale').length === 0,
      undefined,
      { timeout: 120_000 },
    );
  }
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(2000);
  if (opts.custom) {
    const grid = await page.locator('.models-panel').boundingBox();
    const mine = await page.getByTestId('your-models').boundingBox();
    if (!grid || !mine) throw new Error('the model grid or "Your models" is not on the page');
    const x = Math.min(grid.x, mine.x);
    const y = grid.y;
    await page.screenshot({
      path: opts.out,
      fullPage: true,
      clip: { x, y, width: Math.max(grid.width, mine.width), height: mine.y + mine.height - y },
    });
  } else {
    await page.screenshot({ path: opts.out });
  }
  console.log(`wrote ${opts.out}`);
} finally {
  await browser.close();
  await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
}
