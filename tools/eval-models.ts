/**
 * `npm run eval:models [-- --check] [--ids 0,0_3]`: measures clean accuracy (overall and per class)
 * of all fifteen models on the full 10,000-image test set with onnxruntime-node from the shipped
 * files, and writes it into `public/models/manifest.json` with the file hashes and training records.
 * `--check` recomputes and compares with the manifest instead of writing (exit 1 on a mismatch).
 * Randomized preprocessors (`_3`, `_4`) use one seeded draw per image (seed recorded).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { createNodeEngine } from '../server/node-engine';
import { MODELS } from '../src/core/models';
import { classifyInputs } from '../src/core/router';
import { availableWeights, buildManifest, type CleanMetrics, MODELS_DIR } from './lib/manifest';
import { loadTestSetNode } from './lib/test-set-node';

const EVAL_SEED = 0;
const BATCH = 500;

const program = new Command()
  .option('--check', 'compare with the manifest instead of writing it')
  .option('--ids <ids>', 'comma-separated model IDs (default: all with weights)')
  .parse();
const opts = program.opts<{ check?: boolean; ids?: string }>();

const manifestPath = join(MODELS_DIR, 'manifest.json');
const have = new Set(availableWeights());
const wanted = opts.ids ? new Set(opts.ids.split(',')) : null;
const models = MODELS.filter((m) => have.has(m.weights) && (!wanted || wanted.has(m.id)));

// hashes first, so the engine verifies the files against what we are about to publish
const previous = (() => {
  try {
    return JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    return null;
  }
})();
if (!opts.check) writeFileSync(manifestPath, `${JSON.stringify(buildManifest(), null, 2)}\n`);

const engine = createNodeEngine({ modelsDir: MODELS_DIR, verify: true });
const set = loadTestSetNode();
// keep earlier measurements of models not re-measured now, as long as their file is unchanged
const clean: Record<string, CleanMetrics> = {};
for (const e of previous?.models ?? []) {
  const current = buildManifest().weights[e.weights] as { sha256?: string } | undefined;
  if (
    e.metrics?.clean_accuracy !== undefined &&
    current?.sha256 === e.sha256 &&
    !models.some((m) => m.id === e.id)
  ) {
    const { pgd20_linf_0_1: _robust, ...rest } = e.metrics;
    clean[e.id] = rest as CleanMetrics;
  }
}
for (const m of models) {
  const t0 = performance.now();
  const correct = new Array(10).fill(0);
  const total = new Array(10).fill(0);
  for (let start = 0; start < set.count; start += BATCH) {
    const n = Math.min(BATCH, set.count - start);
    const inputs: Float32Array[] = [];
    for (let i = 0; i < n; i++) {
      const x = new Float32Array(784);
      const px = set.images.subarray((start + i) * 784, (start + i + 1) * 784);
      for (let j = 0; j < 784; j++) x[j] = px[j] / 255;
      inputs.push(x);
    }
    // one seed per batch, derived from the evaluation seed: reproducible draws
    const res = await classifyInputs(
      engine,
      m,
      inputs,
      m.preprocessor ? EVAL_SEED * 100003 + start : undefined,
    );
    for (let i = 0; i < n; i++) {
      const y = set.labels[start + i];
      total[y]++;
      if (res.preds[i] === y) correct[y]++;
    }
  }
  const acc = correct.reduce((a, b) => a + b, 0) / set.count;
  clean[m.id] = {
    clean_accuracy: acc,
    per_class_accuracy: correct.map((c, i) => c / total[i]),
    n: set.count,
    ...(m.preprocessor ? { eval_seed: EVAL_SEED } : {}),
    measured_with: 'onnxruntime-node 1.30, CPU, tools/eval-models.ts',
  };
  console.log(
    `${m.id.padEnd(4)} clean accuracy ${(acc * 100).toFixed(2)} %  (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
}
await engine.release();

if (opts.check) {
  let bad = 0;
  for (const id of models.map((m) => m.id)) {
    const c = clean[id];
    const m = previous?.models?.find((e: { id: string }) => e.id === id);
    const want = m?.metrics?.clean_accuracy;
    if (want !== c.clean_accuracy) {
      bad++;
      console.error(`${id}: manifest says ${want}, measured ${c.clean_accuracy}`);
    }
  }
  if (bad) process.exit(1);
  console.log('manifest accuracy figures reproduced');
} else {
  const manifest = buildManifest(clean);
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`wrote ${manifestPath}\n`);
  printTable(manifest);
}

/** "469 steps (1.00 ep.), 229.2 s", with the earlier stages in front when the weights had several. */
interface StageRecipe {
  steps: number;
  steps_per_epoch: number;
  light_augmentation?: unknown;
  base_recipe?: StageRecipe & { wall_time_s: number };
}
function stage(r: StageRecipe, wallS: unknown): string {
  const one = (x: StageRecipe, wall: unknown) =>
    `${x.steps} steps (${(x.steps / x.steps_per_epoch).toFixed(2)} ep.${x.light_augmentation ? ', shift & flip' : ''}), ${wall} s`;
  return r.base_recipe
    ? `${stage(r.base_recipe, r.base_recipe.wall_time_s)} + ${one(r, wallS)}`
    : one(r, wallS);
}

/** The fields of a manifest weights entry the table reads. */
interface WeightsEntry {
  bytes: number;
  param_count_exported?: number;
  robust?: { robust_accuracy?: number };
  recipe?: StageRecipe;
  training?: { wall_time_s?: number };
}

/** The README's metrics table, straight from the manifest. */
function printTable(manifest: ReturnType<typeof buildManifest>): void {
  const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(2)} %` : '–');
  console.log(
    '| ID | architecture | defense | clean accuracy (10k) | PGD-20 robust (ε 0.1, 1k) | params (exported graph) | file | training (CPU wall time) |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const m of manifest.models) {
    const w = manifest.weights[m.weights] as WeightsEntry | undefined;
    const robust = w?.robust?.robust_accuracy;
    const r = w?.recipe;
    const training = !r
      ? '–'
      : m.weights !== m.id
        ? `weights of \`${m.weights}\`, ${m.defense === 'resize_pad' ? 'resize & pad p=0.8' : 'noise σ=0.1'}, seed ${m.metrics.eval_seed}`
        : stage(r, w?.training?.wall_time_s);
    console.log(
      `| \`${m.id}\` | ${m.arch} | ${m.defense_label} | ${pct(m.metrics.clean_accuracy)} | ` +
        `${m.weights === m.id ? pct(robust) : `(${pct(robust)} undefended)`} | ${w?.param_count_exported ?? '–'} | ` +
        `${w ? `${(w.bytes / 1e6).toFixed(1)} MB` : 'missing'} | ${training} |`,
    );
  }
}
