/**
 * `npm run profile:ort [-- --models 0,2,5 --batches 1,64 --runs 8]`: per-operator profile of the
 * shipped files in onnxruntime-web's WASM backend (the same .wasm the page's worker runs, here in
 * Node, one thread), beside the wall time of onnxruntime-node on the same file and batch. Prints
 * Markdown: per model and batch, the time per run, the share of each op type, and the slowest
 * nodes with their shapes (docs/profile-ort-web.md holds a reading).
 *
 * The profile is onnxruntime's own (session option `enableProfiling`): the WASM build writes the
 * trace to stdout at `endProfiling()`, so each profile runs in a child process whose output this
 * parses.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { MAX_BATCH } from '../src/core/api';
import { getModel } from '../src/core/models';
import { median } from './experiment/summary';
import { MODELS_DIR } from './lib/manifest';

interface TraceEvent {
  cat: string;
  name: string;
  dur: number;
  args: {
    op_name?: string;
    input_type_shape?: Record<string, number[]>[];
    output_type_shape?: Record<string, number[]>[];
  };
}

const program = new Command()
  .name('npm run profile:ort --')
  .description(
    'Per-operator profile of the shipped models in onnxruntime-web (WASM, Node), beside onnxruntime-node',
  )
  .option('--models <ids>', 'comma-separated model (weight set) IDs or .onnx paths', '0,2,5')
  .option('--batches <sizes>', 'comma-separated batch sizes', '1,64')
  .option('--runs <n>', 'timed runs per model and batch (after 3 warm-up runs)', '8')
  .option('--top <n>', 'slowest nodes listed per profile', '6')
  .option('--child <file:batch>', '(internal) profile one file and batch, trace to stdout')
  .parse();
const opts = program.opts<{ models: string; batches: string; runs: string; top: string; child?: string }>();
const runs = Number(opts.runs);
const top = Number(opts.top);
const batches = opts.batches.split(',').map(Number);
if (batches.some((b) => !Number.isInteger(b) || b < 1 || b > MAX_BATCH)) {
  process.stderr.write(
    `profile-ort: --batches must be positive integers (at most ${MAX_BATCH}), e.g. 1,64\n`,
  );
  process.exit(2);
}
for (const id of opts.models.split(',')) {
  if (!id.endsWith('.onnx') && !getModel(id)) {
    process.stderr.write(
      `profile-ort: unknown model ${JSON.stringify(id)}: give a weight set (0, 0_1, 2, 5, …) or an .onnx path\n`,
    );
    process.exit(2);
  }
}
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(top) || top < 1) {
  process.stderr.write('profile-ort: --runs and --top must be positive integers\n');
  process.exit(2);
}

function input(batch: number): Float32Array {
  const x = new Float32Array(batch * 784);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 7919) % 256) / 255;
  return x;
}

/**
 * Child: times `runs` runs of one file and batch in onnxruntime-web (a session without profiling),
 * then runs a profiling session the same way and writes its trace to stdout.
 */
async function child(file: string, batch: number): Promise<void> {
  ortWeb.env.wasm.numThreads = 1;
  const bytes = readFileSync(file);
  const x = input(batch);
  const tensor = () => new ortWeb.Tensor('float32', x, [batch, 1, 28, 28]);
  const plain = await ortWeb.InferenceSession.create(bytes);
  const ms = await timeRuns(() => plain.run({ [plain.inputNames[0]]: tensor() }));
  await plain.release();
  process.stderr.write(`WEB_MS ${ms}\n`);
  const web = await ortWeb.InferenceSession.create(bytes, { enableProfiling: true });
  await timeRuns(() => web.run({ [web.inputNames[0]]: tensor() }));
  web.endProfiling();
  await web.release();
}

/** onnxruntime-web's trace and median run time for one file and batch (a child process). */
function profileWeb(file: string, batch: number): { ms: number; events: TraceEvent[] } {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--child',
      `${file}:${batch}`,
      '--runs',
      String(runs),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  const ms = /WEB_MS ([\d.]+)/.exec(r.stderr ?? '');
  const start = r.stdout.indexOf('[');
  if (r.status !== 0 || !ms || start < 0)
    throw new Error(`profiling ${file} at batch ${batch} failed (exit ${r.status}): ${r.stderr}`);
  return { ms: Number(ms[1]), events: JSON.parse(r.stdout.slice(start, r.stdout.lastIndexOf(']') + 1)) };
}

const WARMUP = 3;

async function timeRuns(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await run();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await run();
    ms.push(performance.now() - t);
  }
  return median(ms)!;
}

const shape = (s: Record<string, number[]>[] | undefined) =>
  (s ?? []).map((t) => `[${Object.values(t)[0]?.join(',')}]`).join(' ');

async function main() {
  if (opts.child) {
    const k = opts.child.lastIndexOf(':');
    return child(opts.child.slice(0, k), Number(opts.child.slice(k + 1)));
  }
  const out: string[] = [
    `onnxruntime-web ${ortWeb.env.versions.web} (WASM, 1 thread, in Node ${process.version}) vs onnxruntime-node (1 thread); ${runs} timed runs, median.`,
    '',
  ];
  for (const id of opts.models.split(',')) {
    // a shipped weight set, or the path of any .onnx file (e.g. an earlier export to compare)
    const weights = id.endsWith('.onnx') ? id : (getModel(id)?.weights ?? id);
    const file = id.endsWith('.onnx') ? id : join(MODELS_DIR, `${weights}.onnx`);
    for (const batch of batches) {
      const { ms: webMs, events: trace } = profileWeb(file, batch);
      const native = await ortNode.InferenceSession.create(file, { intraOpNumThreads: 1 });
      const x = input(batch);
      const nativeMs = await timeRuns(() =>
        native.run({ [native.inputNames[0]]: new ortNode.Tensor('float32', x, [batch, 1, 28, 28]) }),
      );
      const events = trace.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
      await native.release();
      // per node, without its warm-up runs (the first run prepacks weights)
      const perNode = new Map<string, { us: number; ev: TraceEvent; n: number; seen: number }>();
      for (const e of events) {
        const p = perNode.get(e.name) ?? { us: 0, ev: e, n: 0, seen: 0 };
        if (++p.seen > WARMUP) {
          p.us += e.dur;
          p.n++;
        }
        perNode.set(e.name, p);
      }
      const nRuns = Math.max(...[...perNode.values()].map((p) => p.n));
      const total = [...perNode.values()].reduce((a, p) => a + p.us, 0);
      const byOp = new Map<string, number>();
      for (const p of perNode.values()) {
        const op = p.ev.args.op_name ?? '?';
        byOp.set(op, (byOp.get(op) ?? 0) + p.us);
      }
      out.push(
        `### ${weights} (${getModel(weights)?.arch ?? 'file'}), batch ${batch}`,
        '',
        `onnxruntime-web ${webMs.toFixed(2)} ms/run (${((batch * 1000) / webMs).toFixed(0)} images/s); ` +
          `onnxruntime-node ${nativeMs.toFixed(2)} ms/run (${((batch * 1000) / nativeMs).toFixed(0)} images/s); ` +
          `ratio ${(webMs / nativeMs).toFixed(1)}×. Kernel time in the profile: ${(total / nRuns / 1000).toFixed(2)} ms/run.`,
        '',
        '| op | ms/run | share |',
        '|---|---:|---:|',
        ...[...byOp.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 8)
          .map(
            ([op, us]) =>
              `| ${op} | ${(us / nRuns / 1000).toFixed(2)} | ${((100 * us) / total).toFixed(1)} % |`,
          ),
        '',
        '| slowest nodes | kernel | ms/run | share | input → output |',
        '|---|---|---:|---:|---|',
        ...[...perNode.entries()]
          .sort((a, b) => b[1].us - a[1].us)
          .slice(0, top)
          .map(
            ([name, p]) =>
              `| \`${name.replace(/_kernel_time$/, '')}\` | ${p.ev.args.op_name} | ${(p.us / p.n / 1000).toFixed(2)} | ` +
              `${((100 * p.us) / total).toFixed(1)} % | ${shape(p.ev.args.input_type_shape?.slice(0, 2))} → ${shape(p.ev.args.output_type_shape)} |`,
          ),
        '',
      );
      process.stderr.write(
        `${weights} batch ${batch}: web ${webMs.toFixed(1)} ms, native ${nativeMs.toFixed(1)} ms\n`,
      );
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((e) => {
  process.stderr.write(`profile-ort: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
