/**
 * `npm run bench:shim`: the API through `fetch` in the page (fetch shim → worker pool →
 * onnxruntime-web WASM), per architecture: single-request latency with a breakdown, batch-64
 * throughput with several requests in flight, and the time the default five-CNN comparison takes
 * from an image change to its last card. Two designs in the same run: the page's worker pool as
 * shipped (src/engine/pool.ts; on 2 cores 2 workers × 1 thread) and one worker with all the
 * threads (`?workers=1`, the design before the pool); onnxruntime-node on the same model files is
 * the native reference. Needs a production build (`npm run build`); prints Markdown tables.
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
  .option('--threads <n>', 'WASM threads per worker, both designs (default: cores ÷ workers)')
  .option('--pool-query <q>', 'extra URL parameters of the pool design, e.g. "&first-threads=2"', '')
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
    poolQuery: string;
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

const pb = await startPreviewBrowser({ webgpu: true, port: 4179 }).catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
const { browser } = pb;
const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
// tsx (esbuild keepNames) wraps functions in __name(); functions sent to page.evaluate need it there
await context.addInitScript('window.__name = (f) => f;');
const threadsParam = opts.threads ? `&threads=${opts.threads}` : '';
/** The two designs: the pool as shipped, and one worker with every thread. */
const DESIGNS = [
  { name: 'pool', query: `${threadsParam}${opts.poolQuery}` },
  { name: 'single', query: `&workers=1${threadsParam}` },
] as const;

/** A page of one design with no models selected, so the playground itself does not compete. */
async function openBenchPage(query: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${pb.url}?backend=${opts.backend}&models=${query}`);
  await page.waitForFunction(() => Boolean(window.__playground));
  await page.evaluate(() => window.__playground.ready);
  return page;
}

const ua = await browser.version();
const set = loadTestSetNode();
const body = JSON.stringify(imageRequestBody(imageAt(set, 0)));
const batchBody = JSON.stringify(
  batchRequestBody(Array.from({ length: 64 }, (_, i) => imageRequestBody(imageAt(set, i)))),
);
const ids = opts.comparisonOnly ? [] : opts.models.split(',');
type Latency = Awaited<ReturnType<typeof window.__playground.bench.latency>>;
const measured: Record<
  string,
  {
    design: { workers: number; threads: number; wasmHeapBytes: number };
    latency: Record<string, Latency>;
    tp: Record<string, number>;
    comparisons: number[];
  }
> = {};
for (const d of DESIGNS) {
  const page = await openBenchPage(d.query);
  const latency: Record<string, Latency> = {};
  const tp: Record<string, number> = {};
  for (const id of ids) {
    latency[id] = await page.evaluate((a) => window.__playground.bench.latency(a), { id, body, n: N });
    tp[id] = (
      await page.evaluate((a) => window.__playground.bench.throughput(a), {
        id,
        batchBody,
        batchSize: 64,
        requests: BATCHES,
        inFlight: IN_FLIGHT,
      })
    ).imagesPerSecond;
    console.error(`measured ${id} (${d.name})`);
  }
  // the memory cost of the design: every worker holds its own session of each model measured
  const design = await page.evaluate(() => window.__playground.bench.design());
  await page.close();
  // the default view: five CNN models selected, as a user first sees it
  const ui = await context.newPage();
  await ui.goto(`${pb.url}?backend=${opts.backend}${d.query}`);
  await ui.waitForFunction(() => Boolean(window.__playground));
  const comparisons = await comparisonTimes(ui);
  await ui.close();
  measured[d.name] = { design, latency, tp, comparisons };
}
// one after another: onnxruntime-node runs on this thread, and the page is idle now
const natives: Record<string, Awaited<ReturnType<typeof native>>> = {};
for (const id of ids)
  natives[id] = await native(
    id,
    Float32Array.from(imageAt(set, 0), (v) => v / 255),
  );

const pool = measured.pool;
const single = measured.single;
const label = (m: typeof pool) => `${m.design.workers} worker(s) × ${m.design.threads} thread(s)`;
console.log(`\nMachine: ${cpus().length} × ${cpus()[0]?.model}; ${ua}; backend ${opts.backend}`);
console.log(
  `Designs: pool = ${label(pool)} (as shipped), single = ${label(single)}. ${N} sequential requests per model, measured after the first 100 (cold: the model just loaded, V8 still tiering up ORT's WASM) and a warm-up of >= 300 requests and >= 3 s; ` +
    `batch = ${BATCHES} requests of 64 images ({"batch": [...]}), ${IN_FLIGHT} in flight, after a 3 s warm-up.\n`,
);
console.log(
  '| route | cold p50 ms (first 100) | p50 ms (page fetch) | p95 ms | req/s | single-worker p50 ms | ORT-node p50 ms (2 thr) | thesis Flask p50 |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const id of ids) {
  const web = pool.latency[id];
  const p50 = pct(web.single, 50);
  const thesis = THESIS_P50[id];
  console.log(
    `| \`/${id}/decision\` | ${pct(web.cold, 50).toFixed(2)} | ${p50.toFixed(2)} | ${pct(web.single, 95).toFixed(2)} | ${(1000 / p50).toFixed(0)} | ` +
      `${pct(single.latency[id].single, 50).toFixed(2)} | ${pct(natives[id].single, 50).toFixed(2)} | ${thesis ? `${thesis} ms (${(thesis / p50).toFixed(1)}× faster)` : '–'} |`,
  );
}
console.log(
  '\nWhere the time goes in the pool (p50 ms): the whole fetch; the same request handed to the engine',
);
console.log(
  'without fetch (engine.handle: postMessage + JSON/base64/router + run); onnxruntime-web session.run',
);
console.log('inside the worker (X-Inference-Ms); a typed engine.infer round trip (postMessage + run, no');
console.log('JSON/base64); a no-op worker round trip (comlink ping); onnxruntime-node for the same model.\n');
console.log(
  '| model | fetch | engine.handle | ORT-web run in worker | engine.infer round trip | worker ping | ORT-node |',
);
console.log('|---|---|---|---|---|---|---|');
for (const id of ids) {
  const web = pool.latency[id];
  console.log(
    `| ${id} | ${pct(web.single, 50).toFixed(2)} | ${pct(web.handle, 50).toFixed(2)} | ${pct(web.workerInference, 50).toFixed(2)} | ${pct(web.infer, 50).toFixed(2)} | ` +
      `${pct(web.ping, 50).toFixed(2)} | ${pct(natives[id].single, 50).toFixed(2)} |`,
  );
}
console.log(
  `\nBatch-64 images/s through the page's fetch, ${IN_FLIGHT} requests in flight (target: within 4× of onnxruntime-node).\n`,
);
console.log('| model | single worker | pool | pool / single | ORT-node batch-64 (2 thr) | native / pool |');
console.log('|---|---|---|---|---|---|');
for (const id of ids) {
  console.log(
    `| ${id} | ${single.tp[id].toFixed(0)} | ${pool.tp[id].toFixed(0)} | ${(pool.tp[id] / single.tp[id]).toFixed(2)}× | ` +
      `${natives[id].batch.toFixed(0)} | ${(natives[id].batch / pool.tp[id]).toFixed(1)}× |`,
  );
}
const mib = (m: typeof pool) => (m.design.wasmHeapBytes / 2 ** 20).toFixed(0);
console.log(
  `\nWASM heap of all workers after the models ${ids.join(', ')} ran: pool ${mib(pool)} MiB, single worker ${mib(single)} MiB.`,
);
const cmp = (m: typeof pool) =>
  `median ${median(m.comparisons)!.toFixed(0)} ms, p90 ${pct(m.comparisons, 90).toFixed(0)} ms, min ${Math.min(...m.comparisons).toFixed(0)} ms`;
console.log(
  `\nDefault five-CNN comparison, from the click that changes the image to the last fresh card (${COMPARISONS} images): ` +
    `pool ${cmp(pool)}; single worker ${cmp(single)}.`,
);
await pb.close();
