/**
 * `npm run bench:shim`: the API through `fetch` in the page (fetch shim → worker → onnxruntime-web
 * WASM), per architecture: single-request latency with a breakdown, batch-64 throughput with
 * several requests in flight (through the page's worker, and through a prototype pool of 1-thread
 * workers), and the time the default five-CNN comparison takes from an image change to its last
 * card; with onnxruntime-node on the same model files measured in the same run as the native
 * reference. Needs a production build (`npm run build`); prints Markdown tables.
 * The page side is `window.__playground.bench` (src/app/bench-api.ts).
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import type { Page } from 'playwright-core';
import { batchRequestBody, imageRequestBody } from '../src/core/api';
import { imageAt } from '../src/data/idx';
import { median } from './experiment/summary';
import { startPreviewBrowser } from './lib/browser';
import { loadTestSetNode } from './lib/test-set-node';

const opts = new Command()
  .option('--n <n>', 'sequential requests per model', '300')
  .option('--batches <n>', 'batch-64 requests per model and design', '12')
  .option('--in-flight <n>', 'batch requests in flight', '4')
  .option('--backend <b>', 'wasm | webgpu | auto', 'wasm')
  .option('--models <ids>', 'weight sets', '0,2,5')
  .option('--threads <n>', 'WASM threads in the page (default: navigator.hardwareConcurrency)')
  .option('--comparisons <n>', 'image changes timed for the five-CNN comparison', '20')
  .option('--comparison-only', 'only the five-CNN comparison timing')
  .parse()
  .opts<{
    n: string;
    batches: string;
    inFlight: string;
    backend: string;
    models: string;
    threads?: string;
    comparisons: string;
    comparisonOnly?: boolean;
  }>();

const THESIS_P50: Record<string, number> = { '0': 2.97, '2': 36.7 };
const N = Number(opts.n);
const BATCHES = Number(opts.batches);
const IN_FLIGHT = Number(opts.inFlight);
const COMPARISONS = Number(opts.comparisons);
for (const [k, v] of Object.entries({
  n: N,
  batches: BATCHES,
  'in-flight': IN_FLIGHT,
  comparisons: COMPARISONS,
}))
  if (!Number.isInteger(v) || v < 1) {
    console.error(`--${k} must be a positive integer`);
    process.exit(2);
  }

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** onnxruntime-node on the same file: single-image latencies and batch-64 images/s (2 threads). */
async function native(id: string, x1: Float32Array): Promise<{ single: number[]; batch: number }> {
  const session = await ort.InferenceSession.create(join('public', 'models', `${id}.onnx`), {
    intraOpNumThreads: 2,
    graphOptimizationLevel: 'all',
  });
  const t1 = new ort.Tensor('float32', x1, [1, 1, 28, 28]);
  const t64 = new ort.Tensor('float32', new Float32Array(64 * 784).fill(0.5), [64, 1, 28, 28]);
  for (let i = 0; i < 30; i++) await session.run({ input: t1 });
  const single: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await session.run({ input: t1 });
    single.push(performance.now() - t0);
  }
  await session.run({ input: t64 });
  const t0 = performance.now();
  for (let i = 0; i < BATCHES; i++) await session.run({ input: t64 });
  const batch = (64 * 1000 * BATCHES) / (performance.now() - t0);
  await session.release();
  return { single, batch };
}

/**
 * The default view (the five CNN models): ms from the click that changes the image (the gallery's
 * Go) until every comparison card shows a fresh answer for it, over COMPARISONS test images.
 */
async function comparisonTimes(page: Page): Promise<number[]> {
  await page.getByTestId('tab-gallery').click();
  const cards = page.locator('[data-testid^="result-card-"]');
  await page.waitForFunction(
    () => {
      const cs = [...document.querySelectorAll('[data-testid^="result-card-"]')];
      return cs.length === 5 && cs.every((c) => c.getAttribute('data-status') === 'ready');
    },
    undefined,
    { timeout: 240_000 },
  );
  if ((await cards.count()) !== 5) throw new Error('the default view does not show five cards');
  const out: number[] = [];
  for (let k = 0; k < COMPARISONS; k++) {
    await page.getByTestId('gallery-index').fill(String(100 + k));
    const ms = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const go = document.querySelector<HTMLButtonElement>('[data-testid="gallery-go"]')!;
          const version = () =>
            document.querySelector('[data-testid="current-image"]')?.getAttribute('data-version');
          const before = version();
          let t0 = 0;
          // the new image is current, and every card answered for it
          const done = () =>
            version() !== before &&
            [...document.querySelectorAll('[data-testid^="result-card-"]')].every(
              (c) => c.getAttribute('data-stale') === 'false' && c.getAttribute('data-status') === 'ready',
            );
          const obs = new MutationObserver(() => {
            if (t0 && done()) {
              obs.disconnect();
              resolve(performance.now() - t0);
            }
          });
          obs.observe(document.body, { attributes: true, subtree: true, childList: true });
          t0 = performance.now();
          go.click();
        }),
    );
    out.push(ms);
  }
  return out;
}

const set = loadTestSetNode();
const pb = await startPreviewBrowser({ webgpu: true, port: 4179 }).catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
const { browser } = pb;
const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
// tsx (esbuild keepNames) wraps functions in __name(); functions sent to page.evaluate need it there
await context.addInitScript('window.__name = (f) => f;');
const threadsParam = opts.threads ? `&threads=${opts.threads}` : '';
const page = await context.newPage();
// no models selected in the UI, so the playground itself does not compete for the worker
await page.goto(`${pb.url}?backend=${opts.backend}&models=${threadsParam}`);
await page.waitForFunction(() => Boolean(window.__playground));
const backend = await page.evaluate(() => window.__playground.ready);
const ua = await browser.version();

const rows: string[] = [];
const breakdown: string[] = [];
const pool: string[] = [];
for (const id of opts.comparisonOnly ? [] : opts.models.split(',')) {
  const body = JSON.stringify(imageRequestBody(imageAt(set, 0)));
  const batchBody = JSON.stringify(
    batchRequestBody(Array.from({ length: 64 }, (_, i) => imageRequestBody(imageAt(set, i)))),
  );
  const web = await page.evaluate((a) => window.__playground.bench.latency(a), { id, body, n: N });
  const tp = (engines?: number, threads?: number) =>
    page.evaluate((a) => window.__playground.bench.throughput(a), {
      id,
      batchBody,
      batchSize: 64,
      requests: BATCHES,
      inFlight: IN_FLIGHT,
      engines,
      threads,
    });
  const page1 = await tp();
  const twoByOne = await tp(2, 1);
  const oneByTwo = await tp(1, 2);
  const nat = await native(
    id,
    Float32Array.from(imageAt(set, 0), (v) => v / 255),
  );

  const p50 = pct(web.single, 50);
  const thesis = THESIS_P50[id];
  rows.push(
    `| \`/${id}/decision\` | ${pct(web.cold, 50).toFixed(2)} | ${p50.toFixed(2)} | ${pct(web.single, 95).toFixed(2)} | ${(1000 / p50).toFixed(0)} | ` +
      `${page1.imagesPerSecond.toFixed(0)} | ${pct(nat.single, 50).toFixed(2)} | ${nat.batch.toFixed(0)} | ` +
      `${(nat.batch / page1.imagesPerSecond).toFixed(1)}× | ${thesis ? `${thesis} ms (${(thesis / p50).toFixed(1)}× faster)` : '–'} |`,
  );
  breakdown.push(
    `| ${id} | ${p50.toFixed(2)} | ${pct(web.handle, 50).toFixed(2)} | ${pct(web.workerInference, 50).toFixed(2)} | ${pct(web.infer, 50).toFixed(2)} | ` +
      `${pct(web.ping, 50).toFixed(2)} | ${pct(nat.single, 50).toFixed(2)} |`,
  );
  pool.push(
    `| ${id} | ${page1.imagesPerSecond.toFixed(0)} | ${oneByTwo.imagesPerSecond.toFixed(0)} | ${twoByOne.imagesPerSecond.toFixed(0)} | ` +
      `${(twoByOne.imagesPerSecond / oneByTwo.imagesPerSecond).toFixed(2)}× | ${nat.batch.toFixed(0)} | ${(nat.batch / Math.max(page1.imagesPerSecond, twoByOne.imagesPerSecond)).toFixed(1)}× |`,
  );
  console.error(`measured ${id}`);
}
await page.close();

// the default view: five CNN models selected, as a user first sees it
const ui = await context.newPage();
await ui.goto(`${pb.url}?backend=${opts.backend}${threadsParam}`);
await ui.waitForFunction(() => Boolean(window.__playground));
const comparisons = await comparisonTimes(ui);
await ui.close();

console.log(`\nMachine: ${cpus().length} × ${cpus()[0]?.model}; ${ua}; backend ${JSON.stringify(backend)}`);
console.log(
  `${N} sequential requests per model, measured after the first 100 (cold: the model just loaded, V8 still tiering up ORT's WASM) and a warm-up of >= 300 requests and >= 3 s; ` +
    `batch = ${BATCHES} requests of 64 images ({"batch": [...]}), ${IN_FLIGHT} in flight.\n`,
);
console.log(
  '| route | cold p50 ms (first 100) | p50 ms (page fetch) | p95 ms | req/s | batch-64 images/s | ORT-node p50 ms (2 thr) | ORT-node batch-64 images/s | native / page | thesis Flask p50 |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log('\nWhere the time goes (p50 ms): the whole fetch; the same request handed to the worker without');
console.log(
  'fetch (engine.handle: postMessage + JSON/base64/router + run); onnxruntime-web session.run inside',
);
console.log(
  'the worker (X-Inference-Ms); a typed engine.infer round trip (postMessage + run, no JSON/base64);',
);
console.log('a no-op worker round trip (comlink ping); onnxruntime-node for the same model.\n');
console.log(
  '| model | fetch | engine.handle | ORT-web run in worker | engine.infer round trip | worker ping | ORT-node |',
);
console.log('|---|---|---|---|---|---|---|');
for (const r of breakdown) console.log(r);
console.log(
  `\nWorker pool prototype: batch-64 images/s with ${IN_FLIGHT} requests in flight, through the page's fetch and worker, through one fresh worker with 2 ORT threads, and through two fresh workers with 1 thread each (requests to the less busy one).\n`,
);
console.log(
  '| model | page (fetch) | 1 worker × 2 threads | 2 workers × 1 thread | pool / single | ORT-node batch-64 | native / best page |',
);
console.log('|---|---|---|---|---|---|---|');
for (const r of pool) console.log(r);
console.log(
  `\nDefault five-CNN comparison, from the click that changes the image to the last fresh card (${COMPARISONS} images): ` +
    `median ${median(comparisons)!.toFixed(0)} ms, p90 ${pct(comparisons, 90).toFixed(0)} ms, min ${Math.min(...comparisons).toFixed(0)} ms.`,
);
await pb.close();
