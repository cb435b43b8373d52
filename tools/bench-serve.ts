/**
 * npm run bench:serve — throughput and latency of `npm run serve` under a real load generator
 * (autocannon), next to onnxruntime-node's batch-64 throughput on the same files measured in the
 * same run, and optionally next to any other service with the contract (`--against <url>`, e.g.
 * the thesis' Flask service).
 *
 * For each server configuration (`--configs`: inference workers × onnxruntime threads; `0×2` is the
 * service before its worker pool, onnxruntime on the main thread) and each architecture (CNN `0`,
 * ResNet18 `2`, ViT `5`): single-image POST /<id>/decision with one real test image at 1 and 32
 * connections; req/s, p50/p99 latency, the resident memory and CPU of the server's process tree
 * (main process and workers). Ratios:
 * 32 connections ÷ native batch-64 images/s (target ≥ 0.5), 1 connection ÷ the thesis service's
 * req/s (target ≥ 5× on /0, ≥ 10× on /2; from --against when given, else SPEC §6's figures measured
 * on this kind of machine, which the table says).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { Command } from 'commander';
import { createNodeEngine } from '../server/node-engine';
import { imageRequestBody, modelRoute } from '../src/core/api';
import { imageAt } from '../src/data/idx';
import { rssMiB, startServeProcess } from './lib/serve-process';
import { loadTestSetNode } from './lib/test-set-node';

/** SPEC §6, remeasured 2026-11-30 with wrk, one connection, the thesis service run from its own code. */
const THESIS_REQ_S: Record<string, number> = { '0': 317, '2': 40 };

const program = new Command()
  .name('npm run bench:serve --')
  .option('--models <ids>', 'one model per architecture', '0,2,5')
  .option('--duration <s>', 'seconds per load', '10')
  .option(
    '--configs <list>',
    'server configurations, workers x threads (0x2: onnxruntime in the main process, as before the pool)',
    '0x2,1x2,2x1,4x1',
  )
  .option('--max-batch <n>', 'server dynamic-batching limit (1: off)', '64')
  .option(
    '--log-level <level>',
    'server log level (info: one access-log line per request, the default)',
    'info',
  )
  .option('--against <url>', 'also load this service (same contract) with the same requests')
  .parse();
const o = program.opts<{
  models: string;
  duration: string;
  configs: string;
  maxBatch: string;
  logLevel: string;
  against?: string;
}>();
const models = o.models.split(',').map((s) => s.trim());
const duration = Number(o.duration);
const configs = o.configs.split(',').map((c) => {
  const [workers, threads] = c.split('x').map(Number);
  if (!Number.isInteger(workers) || !Number.isInteger(threads) || workers < 0 || threads < 1)
    throw new Error(`--configs: "${c}" is not workers x threads, e.g. 2x1`);
  return { workers, threads };
});

const testSet = loadTestSetNode();
const body = JSON.stringify(imageRequestBody(imageAt(testSet, 0)));

/** A process and its descendants (Linux /proc: each thread's `children`). */
function processTree(pid: number): number[] {
  const out = [pid];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      for (const k of kids ? kids.split(' ') : []) out.push(...processTree(Number(k)));
    }
  } catch {
    // gone meanwhile
  }
  return out;
}

/** CPU seconds (user + system) a process tree has used so far (Linux /proc). */
function cpuSeconds(pid: number): number {
  let sum = 0;
  for (const p of processTree(pid)) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      sum += (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

/** Resident memory of a process tree, in MiB. */
function treeRssMiB(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + (Number.isNaN(rssMiB(p)) ? 0 : rssMiB(p)), 0);
}

interface Load {
  /** CPU used during the load, in cores: by the server, and by this process (the load generator) */
  serverCores: number | null;
  clientCores: number;
  reqPerS: number;
  p50: number;
  p99: number;
  non2xx: number;
  rss: number | null;
}

async function load(url: string, path: string, connections: number, pid?: number): Promise<Load> {
  // a short warm-up so the first runs' one-off costs are not in the numbers
  await autocannon({ url: `${url}${path}`, method: 'POST', body, connections, duration: 1 });
  const s0 = pid ? cpuSeconds(pid) : 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await autocannon({ url: `${url}${path}`, method: 'POST', body, connections, duration });
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return {
    serverCores: pid ? (cpuSeconds(pid) - s0) / wall : null,
    clientCores: (c.user + c.system) / 1e6 / wall,
    reqPerS: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx + r.errors,
    rss: pid ? treeRssMiB(pid) : null,
  };
}

async function nativeBatch64(weights: string, threads: number): Promise<number> {
  const engine = createNodeEngine({ threads });
  const n = 64;
  const inputs = new Float32Array(n * 784);
  for (let i = 0; i < n; i++)
    inputs.set(
      Float32Array.from(imageAt(testSet, i), (v) => v / 255),
      i * 784,
    );
  for (let i = 0; i < 5; i++) await engine.infer(weights, inputs, n);
  const t0 = performance.now();
  let images = 0;
  while (performance.now() - t0 < 3000) {
    await engine.infer(weights, inputs, n);
    images += n;
  }
  const rate = images / ((performance.now() - t0) / 1000);
  await engine.release();
  return rate;
}

const f0 = (v: number) => v.toFixed(0);
const f1 = (v: number) => v.toFixed(1);
console.log(
  `bench:serve — ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}, autocannon ${duration} s per load, ` +
    `one 28×28 test image per request, server --max-batch ${o.maxBatch} --log-level ${o.logLevel}\n`,
);
const rows: string[] = [];
for (const { workers, threads } of configs) {
  const serve = await startServeProcess([
    '--workers',
    String(workers),
    '--threads',
    String(threads),
    '--max-batch',
    o.maxBatch,
    '--log-level',
    o.logLevel,
  ]);
  const server = serve.child;
  const url = serve.url;
  try {
    for (const id of models) {
      const path = modelRoute(id, 'decision');
      const one = await load(url, path, 1, server.pid);
      const many = await load(url, path, 32, server.pid);
      const native = await nativeBatch64(id, 2);
      const thesis = THESIS_REQ_S[id];
      rows.push(
        `| \`${path}\` | ${workers} × ${threads} | ${f0(one.reqPerS)} | ${f1(one.p50)} / ${f1(one.p99)} | ${f0(many.reqPerS)} | ` +
          `${f1(many.p50)} / ${f1(many.p99)} | ${f0(many.rss ?? 0)} | ${f0(native)} | ${(many.reqPerS / native).toFixed(2)} | ` +
          `${thesis ? `${(one.reqPerS / thesis).toFixed(1)}× (SPEC ${thesis})` : '–'} | ` +
          `${many.serverCores?.toFixed(2)} / ${many.clientCores.toFixed(2)} | ${one.non2xx + many.non2xx} |`,
      );
      console.log(rows[rows.length - 1]);
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('close', r));
  }
}
if (o.against) {
  for (const id of models) {
    const path = modelRoute(id, 'decision');
    const one = await load(o.against, path, 1);
    const many = await load(o.against, path, 32);
    rows.push(
      `| ${o.against}${path} | – | ${f0(one.reqPerS)} | ${f1(one.p50)} / ${f1(one.p99)} | ${f0(many.reqPerS)} | ${f1(many.p50)} / ${f1(many.p99)} | – | – | – | – | – / ${many.clientCores.toFixed(2)} | ${one.non2xx + many.non2xx} |`,
    );
    console.log(rows[rows.length - 1]);
  }
}
console.log(
  '\n| route | workers × threads | 1 conn req/s | 1 conn p50 / p99 ms | 32 conn req/s | 32 conn p50 / p99 ms | RSS MiB (server + workers) | ORT-node batch-64 images/s (2 threads) | 32 conn ÷ batch-64 | 1 conn ÷ thesis | CPU cores at 32 conn: server / load generator | non-2xx |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
