/**
 * npm run bench:gradients — what one gradient evaluation costs, as a ratio to one forward pass, per
 * image, at batch 1 and 64, for the CNN `0`, ResNet18 `2` and ViT `5` on onnxruntime-node.
 *
 * The forward pass is the shipped file's session; the gradient evaluation is what the service and
 * the runner do for one step of an attack: a forward run for the logits, the loss's cotangent in
 * TypeScript, and a run of the gradient graph (src/gradients/build.ts), which recomputes the
 * forward pass and then the backward one. The gradient graph alone is printed too. Medians over
 * `--repeat` timed runs after `--warmup` untimed ones, both measured in the same process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { imageInput } from '../src/data/idx';
import { buildGradientModel } from '../src/gradients/build';
import { evaluateGradient } from '../src/gradients/evaluate';
import { loadTestSetNode } from './lib/test-set-node';

const o = new Command()
  .name('npm run bench:gradients --')
  .option('--threads <n>', 'onnxruntime intra-op threads', '2')
  .option('--repeat <n>', 'timed runs per case (median)', '20')
  .option('--warmup <n>', 'untimed runs first', '3')
  .option('--batches <list>', 'batch sizes', '1,64')
  .parse()
  .opts<{ threads: string; repeat: string; warmup: string; batches: string }>();

const ARCHS = [
  ['0', 'CNN'],
  ['2', 'ResNet18'],
  ['5', 'ViT'],
] as const;
const set = loadTestSetNode('public/data');
const options: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  intraOpNumThreads: Number(o.threads),
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
};
/** the gradient sessions as the engines open them (server/gradient-sessions.ts: no spinning) */
const gradientOptions = { ...options, extra: { session: { 'intra_op.allow_spinning': '0' } } };

async function median(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Number(o.warmup); i++) await run();
  const times: number[] = [];
  for (let i = 0; i < Number(o.repeat); i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

console.log(
  `onnxruntime-node ${ort.env.versions.common}, ${o.threads} threads, median of ${o.repeat} runs; ms per image`,
);
console.log(
  '| model | batch | forward | gradient graph | gradient evaluation | ratio (evaluation / forward) |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (const [weights, arch] of ARCHS) {
  const bytes = readFileSync(join('public', 'models', `${weights}.onnx`));
  const forward = await ort.InferenceSession.create(bytes, options);
  const gm = buildGradientModel(bytes);
  const backward = await ort.InferenceSession.create(gm.bytes, gradientOptions);
  for (const b of o.batches.split(',').map(Number)) {
    const x = new Float32Array(b * 784);
    for (let i = 0; i < b; i++) x.set(imageInput(set, i), i * 784);
    const dims = [b, 1, 28, 28];
    const specs = Array.from({ length: b }, (_, i) => ({ loss: 'ce' as const, label: set.labels[i] }));
    const cot = new Float32Array(b * 10).fill(0.1);
    const runs = {
      forward: async (xx: Float32Array, m: number) =>
        (await forward.run({ input: new ort.Tensor('float32', xx, [m, 1, 28, 28]) })).logits
          .data as Float32Array,
      backward: async (xx: Float32Array, m: number, c: Float32Array) =>
        (
          await backward.run({
            [gm.input]: new ort.Tensor('float32', xx, [m, 1, 28, 28]),
            [gm.gradLogits]: new ort.Tensor('float32', c, [m, 10]),
          })
        )[gm.gradInput].data as Float32Array,
    };
    const f = await median(() => runs.forward(x, b));
    const g = await median(() =>
      backward.run({
        [gm.input]: new ort.Tensor('float32', x, dims),
        [gm.gradLogits]: new ort.Tensor('float32', cot, [b, 10]),
      }),
    );
    const e = await median(() => evaluateGradient(runs, { probabilities: false, maxBatch: 64 }, x, b, specs));
    const per = (ms: number) => (ms / b).toFixed(3);
    console.log(
      `| ${weights} (${arch}) | ${b} | ${per(f)} | ${per(g)} | ${per(e)} | ${(e / f).toFixed(2)} |`,
    );
  }
  await forward.release();
  await backward.release();
}
