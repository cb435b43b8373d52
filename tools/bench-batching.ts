/**
 * npm run bench:batching — what a large batch costs `npm run serve`: one 4096-item batch per
 * architecture (CNN `0`, ResNet18 `2`, ViT `5`), sent `--repeat` times, to a server that splits it
 * into runs of `--max-batch` images (the default, 64) and, as the reference measured in the same
 * run, to one that runs it whole (`--max-batch 4096`). Prints images/s per architecture and the
 * server's resident memory afterwards (onnxruntime keeps the arena of its largest run), with ratios.
 */
import { Command } from 'commander';
import { batchRequestBody, imageRequestBody, MAX_BATCH } from '../src/core/api';
import { imageAt } from '../src/data/idx';
import { rssMiB, startServeProcess } from './lib/serve-process';
import { loadTestSetNode } from './lib/test-set-node';

const o = new Command()
  .name('npm run bench:batching --')
  .option('--max-batch <n>', 'the split design: images per onnxruntime run', '64')
  .option('--repeat <n>', '4096-item batches per architecture and server', '3')
  .option('--threads <n>', 'server onnxruntime threads', '2')
  .parse()
  .opts<{ maxBatch: string; repeat: string; threads: string }>();

const MODELS = ['0', '2', '5'];
const set = loadTestSetNode('public/data');
const body = JSON.stringify(
  batchRequestBody(Array.from({ length: MAX_BATCH }, (_, i) => imageRequestBody(imageAt(set, i)))),
);

async function measure(maxBatch: number): Promise<{ rate: Record<string, number>; rss: number }> {
  const server = await startServeProcess([
    '--models',
    MODELS.join(','),
    '--threads',
    o.threads,
    '--max-batch',
    String(maxBatch),
    '--log-level',
    'warn',
  ]);
  try {
    const rate: Record<string, number> = {};
    for (const id of MODELS) {
      let ms = 0;
      for (let r = 0; r < Number(o.repeat); r++) {
        const t = performance.now();
        const res = await fetch(`${server.url}/${id}/decision`, { method: 'POST', body });
        if (res.status !== 200)
          throw new Error(`/${id}/decision answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
        ms += performance.now() - t;
      }
      rate[id] = (MAX_BATCH * Number(o.repeat)) / (ms / 1000);
    }
    return { rate, rss: rssMiB(server.child.pid!) };
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
}

const split = await measure(Number(o.maxBatch));
const whole = await measure(MAX_BATCH);
console.log(`| | runs of ${o.maxBatch} | one run of ${MAX_BATCH} | split / whole |`);
console.log('|---|---|---|---|');
for (const id of MODELS)
  console.log(
    `| /${id} images/s | ${split.rate[id].toFixed(0)} | ${whole.rate[id].toFixed(0)} | ×${(split.rate[id] / whole.rate[id]).toFixed(2)} |`,
  );
console.log(
  `| server RSS after, MiB | ${split.rss.toFixed(0)} | ${whole.rss.toFixed(0)} | ×${(split.rss / whole.rss).toFixed(2)} |`,
);
