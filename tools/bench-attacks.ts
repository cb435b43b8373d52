/**
 * npm run bench:attacks — attack strength on the real models.
 *
 * Every attack and norm with its defaults, on the first 20 images of the defense-comparison sample,
 * against `0` and `0_1` on onnxruntime-node through the API router (8-bit requests), for several
 * attack seeds. Prints success rate, median distances and queries per configuration and writes
 * test/golden/attack-strength.json, the reference that test/unit/attacks/strength.test.ts guards:
 * it reruns a few images of `0` with seed 0 and fails when an attack is weaker than this file by more
 * than the spread between the seeds measured here.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Command } from 'commander';
import { createNodeEngine } from '../server/node-engine';
import { ATTACKS } from '../src/attacks/index';
import {
  guardEntry,
  type ImageOutcome,
  runStrength,
  STRENGTH_CONFIGS,
  type StrengthSummary,
  strengthIndices,
  summarizeOutcomes,
} from './lib/attack-strength';
import { loadTestSetNode } from './lib/test-set-node';

/** The guard test's share: the first 5 images, attack seed 0, each config on its guardModel. */
export const GUARD = { images: 5, seed: 0 } as const;
export const REFERENCE_PATH = 'test/golden/attack-strength.json';

const program = new Command()
  .name('npm run bench:attacks --')
  .description('Attack strength with default parameters on the real models (native path, 8-bit queries)')
  .option('--models <ids>', 'comma-separated deterministic model IDs', '0,0_1')
  .option('--images <n>', 'test images (the first n of the defense-comparison sample)', '20')
  .option('--seeds <n>', 'attack seeds per configuration (the spread between them is the seed noise)', '3')
  .option('--configs <names>', `subset of: ${STRENGTH_CONFIGS.map((c) => c.name).join(', ')}`)
  .option('--out <file>', 'reference JSON to write', REFERENCE_PATH)
  .option('--no-write', 'print only')
  .parse();

const opts = program.opts<{
  models: string;
  images: string;
  seeds: string;
  configs?: string;
  out: string;
  write: boolean;
}>();

const positive = (name: string, v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) program.error(`--${name} must be a positive integer, got ${v}`);
  return n;
};
const nImages = positive('images', opts.images);
const nSeeds = positive('seeds', opts.seeds);
const models = opts.models.split(',').map((s) => s.trim());
const wanted = opts.configs?.split(',').map((s) => s.trim());
const unknown = wanted?.filter((w) => !STRENGTH_CONFIGS.some((c) => c.name === w)) ?? [];
if (unknown.length) program.error(`unknown --configs ${unknown.join(', ')}`);
const configs = STRENGTH_CONFIGS.filter((c) => !wanted || wanted.includes(c.name));

const seedOf = (s: number) => s * 1000;
const engine = createNodeEngine({ threads: 1 });
const testSet = loadTestSetNode();
const indices = strengthIndices(nImages);
const t0 = performance.now();
const fmt = (v: number | null, digits = 3) => (v === null ? '–' : v.toFixed(digits));

const result: Record<string, unknown> = {};
const guard: Record<string, unknown> = {};
console.log(
  `${indices.length} images × models ${models.join(', ')} × ${nSeeds} seeds, onnxruntime-node (1 thread) through the API router, 8-bit queries\n`,
);
console.log(
  'config            model  seed  success      median L2  median L∞  median queries    mean loss   s',
);
for (const config of configs) {
  const perModel: Record<string, unknown> = {};
  for (const model of models) {
    const seeds: { seed: number; summary: StrengthSummary; outcomes: ImageOutcome[] }[] = [];
    for (let s = 0; s < nSeeds; s++) {
      const t = performance.now();
      const outcomes = await runStrength(engine, testSet, model, config, indices, seedOf(s));
      const summary = summarizeOutcomes(outcomes);
      seeds.push({ seed: seedOf(s), summary, outcomes });
      console.log(
        `${config.name.padEnd(17)} ${model.padEnd(6)} ${String(seedOf(s)).padEnd(5)} ` +
          `${`${summary.successes}/${summary.attacked}`.padEnd(6)} ${(summary.successRate * 100).toFixed(0).padStart(3)} %  ` +
          `${fmt(summary.medianL2).padStart(9)}  ${fmt(summary.medianLinf).padStart(9)}  ${fmt(summary.medianQueries, 0).padStart(14)}  ` +
          `${fmt(summary.meanLoss).padStart(11)}  ${((performance.now() - t) / 1000).toFixed(0).padStart(3)}`,
      );
    }
    perModel[model] = { seeds };
    if (model === config.guardModel && nImages >= GUARD.images) {
      guard[config.name] = guardEntry(config, seeds, GUARD.images, GUARD.seed);
    }
  }
  result[config.name] = {
    attack: config.attack,
    options: config.options,
    measure: config.measure,
    params: ATTACKS[config.attack].resolve({ ...config.options, quantize: true, d: 784 }),
    models: perModel,
  };
}
await engine.release();
const seconds = (performance.now() - t0) / 1000;
console.log(`\n${seconds.toFixed(0)} s`);

if (opts.write) {
  const file = {
    generated: new Date().toISOString(),
    command: `npm run bench:attacks -- --models ${models.join(',')} --images ${nImages} --seeds ${nSeeds}`,
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    indices,
    seeds: Array.from({ length: nSeeds }, (_, s) => seedOf(s)),
    seconds: Math.round(seconds),
    guard: { ...GUARD, configs: guard },
    configs: result,
  };
  writeFileSync(opts.out, `${JSON.stringify(file, null, 1)}\n`);
  console.log(`wrote ${opts.out}`);
}
