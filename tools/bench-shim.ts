/**
 * `npm run bench:shim`: end-to-end latency of the API through `fetch` in the page (fetch shim →
 * worker → onnxruntime-web WASM), per architecture, single requests and batch-64 throughput, with
 * onnxruntime-node on the same model files measured in the same run as the native reference.
 * Needs a production build (`npm run build`); prints a Markdown table.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { chromium } from 'playwright-core';
import { preview } from 'vite';
import { batchRequestBody, imageRequestBody } from '../src/core/api';
import { imageAt } from '../src/data/idx';
import { CHROMIUM_ARGS } from './lib/browser';
import { loadTestSetNode } from './lib/test-set-node';

const opts = new Command()
  .option('--n <n>', 'sequential requests per model', '300')
  .option('--batches <n>', 'batch-64 requests per model', '10')
  .option('--backend <b>', 'wasm | webgpu | auto', 'wasm')
  .option('--models <ids>', 'weight sets', '0,2,5')
  .option('--threads <n>', 'WASM threads in the page (default: navigator.hardwareConcurrency)')
  .parse()
  .opts<{ n: string; batches: string; backend: string; models: string; threads?: string }>();

const THESIS_P50: Record<string, number> = { '0': 2.97, '2': 36.7 };
const N = Number(opts.n);
const BATCHES = Number(opts.batches);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

if (!existsSync('dist/index.html')) {
  console.error('no production build in dist/: run `npm run build` first');
  process.exit(1);
}
const set = loadTestSetNode();
const server = await preview({
  preview: { port: 4179, strictPort: true, host: '127.0.0.1' },
  logLevel: 'error',
});
const executablePath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium'].find((p) => p && existsSync(p));
const browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'] });
const page = await browser.newPage();
// tsx (esbuild keepNames) wraps functions in __name(); functions sent to page.evaluate need it there
await page.addInitScript('window.__name = (f) => f;');
// no models selected in the UI, so the playground itself does not compete for the worker
const threadsParam = opts.threads ? `&threads=${opts.threads}` : '';
await page.goto(`http://127.0.0.1:4179/?backend=${opts.backend}&models=${threadsParam}`);
await page.waitForFunction(() => Boolean(window.__playground));
const backend = await page.evaluate(() => window.__playground.ready);
const ua = await browser.version();

const rows: string[] = [];
const breakdown: string[] = [];
for (const id of opts.models.split(',')) {
  const body = JSON.stringify(imageRequestBody(imageAt(set, 0)));
  const batchBody = JSON.stringify(
    batchRequestBody(Array.from({ length: 64 }, (_, i) => imageRequestBody(imageAt(set, i)))),
  );
  const web = await page.evaluate(
    async ({ id, body, batchBody, n, batches }) => {
      const inferenceMs: number[] = [];
      const call = async (b: string) => {
        const t0 = performance.now();
        const r = await fetch(`/${id}/decision`, { method: 'POST', body: b });
        await r.json();
        if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
        inferenceMs.push(Number(r.headers.get('X-Inference-Ms')));
        return performance.now() - t0;
      };
      // cold: the first requests after the model loaded run while V8 still executes ORT's WASM in
      // its baseline tier (Liftoff) and tiers hot functions up to TurboFan in the background
      const cold: number[] = [];
      for (let i = 0; i < 100; i++) cold.push(await call(body));
      // then warm up for at least 3 s (and 300 requests) so the numbers are the steady state
      const tw = performance.now();
      for (let i = 0; i < 300 || performance.now() - tw < 3000; i++) await call(body);
      // The same n requests, and in round-robin (so each path sees the same machine state): the
      // fetch; the request handed to the worker directly; a typed engine.infer; a no-op round trip.
      const engine = window.__playground.engine;
      const x = new Float32Array(784).fill(0.5);
      const single: number[] = [];
      const handle: number[] = [];
      const infer: number[] = [];
      const ping: number[] = [];
      const time = async (into: number[], f: () => Promise<unknown>) => {
        const t0 = performance.now();
        await f();
        into.push(performance.now() - t0);
      };
      inferenceMs.length = 0;
      for (let i = 0; i < n; i++) {
        single.push(await call(body));
        await time(handle, () => engine.handle({ method: 'POST', path: `/${id}/decision`, body }));
        await time(infer, () => engine.infer(id, x, 1));
        await time(ping, () => engine.ping());
      }
      const workerInference = [...inferenceMs];
      await call(batchBody);
      const t0 = performance.now();
      for (let i = 0; i < batches; i++) await call(batchBody);
      const batchMs = (performance.now() - t0) / batches;
      return { single, cold, batchMs, workerInference, ping, infer, handle };
    },
    { id, body, batchBody, n: N, batches: BATCHES },
  );

  const session = await ort.InferenceSession.create(join('public', 'models', `${id}.onnx`), {
    intraOpNumThreads: 2,
    graphOptimizationLevel: 'all',
  });
  const x1 = new ort.Tensor(
    'float32',
    Float32Array.from(imageAt(set, 0), (v) => v / 255),
    [1, 1, 28, 28],
  );
  const x64 = new ort.Tensor('float32', new Float32Array(64 * 784).fill(0.5), [64, 1, 28, 28]);
  for (let i = 0; i < 30; i++) await session.run({ input: x1 });
  const native: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await session.run({ input: x1 });
    native.push(performance.now() - t0);
  }
  await session.run({ input: x64 });
  const t0 = performance.now();
  for (let i = 0; i < BATCHES; i++) await session.run({ input: x64 });
  const nativeBatch = (performance.now() - t0) / BATCHES;
  await session.release();

  const p50 = pct(web.single, 50);
  const thesis = THESIS_P50[id];
  rows.push(
    `| \`/${id}/decision\` | ${pct(web.cold, 50).toFixed(2)} | ${p50.toFixed(2)} | ${pct(web.single, 95).toFixed(2)} | ${(1000 / p50).toFixed(0)} | ` +
      `${((64 * 1000) / web.batchMs).toFixed(0)} | ${pct(native, 50).toFixed(2)} | ${((64 * 1000) / nativeBatch).toFixed(0)} | ` +
      `${(p50 / pct(native, 50)).toFixed(1)}× | ${thesis ? `${thesis} ms (${(thesis / p50).toFixed(1)}× faster)` : '–'} |`,
  );
  breakdown.push(
    `| ${id} | ${p50.toFixed(2)} | ${pct(web.handle, 50).toFixed(2)} | ${pct(web.workerInference, 50).toFixed(2)} | ${pct(web.infer, 50).toFixed(2)} | ` +
      `${pct(web.ping, 50).toFixed(2)} | ${pct(native, 50).toFixed(2)} |`,
  );
  console.error(`measured ${id}`);
}
console.log(`\nMachine: ${cpus().length} × ${cpus()[0]?.model}; ${ua}; backend ${JSON.stringify(backend)}`);
console.log(
  `${N} sequential requests per model, measured after the first 100 (cold: the model just loaded, V8 still tiering up ORT's WASM) and a warm-up of >= 300 requests and >= 3 s; batch = 64 images in one {"batch": [...]} request.\n`,
);
console.log(
  '| route | cold p50 ms (first 100) | p50 ms (page fetch) | p95 ms | req/s | batch-64 images/s | ORT-node p50 ms (2 thr) | ORT-node batch-64 images/s | page / native | thesis Flask p50 |',
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
await browser.close();
await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
