/**
 * Builds `public/models/manifest.json` from the training records (`training/records/<id>.json`,
 * written by `python -m training train`), the robust-accuracy records (`<id>.robust.json`, from
 * `python -m training robust`) and the shipped files themselves (sha256, size).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLASS_NAMES_DE, CLASS_NAMES_EN } from '../../src/core/labels';
import { DEFENSE_LABEL, MODELS, type ModelInfo } from '../../src/core/models';

export interface CleanMetrics {
  clean_accuracy: number;
  per_class_accuracy: number[];
  n: number;
  /** For randomized preprocessors: the seed of the single draw per image. */
  eval_seed?: number;
  measured_with: string;
}

export const ROOT = process.cwd();
export const MODELS_DIR = join(ROOT, 'public', 'models');
export const RECORDS_DIR = join(ROOT, 'training', 'records');

function readJson(path: string): Record<string, unknown> | null {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : null;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function weightFile(weights: string): string {
  return join(MODELS_DIR, `${weights}.onnx`);
}

export function availableWeights(): string[] {
  return readdirSync(MODELS_DIR)
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => f.replace(/\.onnx$/, ''));
}

function preprocessorCard(m: ModelInfo) {
  if (!m.preprocessor) return null;
  if (m.preprocessor.kind === 'resize_pad') {
    return {
      ...m.preprocessor,
      description:
        'with probability 0.8: side s = floor((1-r)*28) for r uniform in ratios, bicubic resize 28->s (PyTorch ' +
        'interpolate semantics), zero-pad to 28x28 at left floor(a*(28-s)), top floor(b*(28-s)), a,b uniform in offsets; ' +
        'else unchanged (Xie et al. 2018). Fresh randomness per query unless the request carries a seed.',
    };
  }
  if (m.preprocessor.kind === 'noise') {
    return {
      ...m.preprocessor,
      description: 'x + N(0, sigma^2) per pixel, clipped to [0,1], fresh per query',
    };
  }
  return { ...m.preprocessor };
}

export function buildManifest(clean: Record<string, CleanMetrics> = {}) {
  const weights: Record<string, unknown> = {};
  for (const w of new Set(MODELS.map((m) => m.weights))) {
    const file = weightFile(w);
    if (!existsSync(file)) continue;
    const record = readJson(join(RECORDS_DIR, `${w}.json`));
    const robust = readJson(join(RECORDS_DIR, `${w}.robust.json`));
    const bytes = readFileSync(file).byteLength;
    const exp = (record?.export ?? {}) as Record<string, unknown>;
    weights[w] = {
      file: `${w}.onnx`,
      sha256: sha256File(file),
      bytes,
      param_count: record?.param_count_trained ?? null,
      param_count_exported: exp.param_count_exported ?? null,
      specialised_to_28x28: exp.specialised_to_28x28 ?? false,
      opset: exp.opset ?? null,
      recipe: record?.recipe ?? null,
      training: record
        ? {
            wall_time_s: record.wall_time_s,
            torch_version: record.torch_version,
            device: record.device,
            cpu_threads: record.cpu_threads,
            pytorch_test_accuracy: record.pytorch_test_accuracy,
          }
        : null,
      robust: robust ?? null,
    };
  }
  const models = MODELS.map((m) => {
    const w = weights[m.weights] as Record<string, unknown> | undefined;
    return {
      id: m.id,
      arch: m.arch,
      defense: m.defense,
      defense_label: DEFENSE_LABEL[m.defense],
      randomized: m.preprocessor !== null,
      weights: m.weights,
      file: w ? w.file : null,
      sha256: w ? w.sha256 : null,
      bytes: w ? w.bytes : null,
      param_count: w ? w.param_count : null,
      preprocessor: preprocessorCard(m),
      recipe: w ? w.recipe : null,
      metrics: {
        ...(clean[m.id] ?? {}),
        pgd20_linf_0_1: w?.robust
          ? {
              ...(w.robust as object),
              note:
                m.preprocessor === null
                  ? 'white-box, on these exact weights'
                  : 'white-box on the undefended weights; the randomized preprocessor was not part of the attack',
            }
          : null,
      },
    };
  });
  return {
    format: 1,
    description:
      'Fashion-MNIST classifiers of the robustness playground (SPEC §2). Figures measured on these files.',
    input: { name: 'input', dtype: 'float32', shape: ['N', 1, 28, 28], range: [0, 1], normalisation: 'none' },
    output: { name: 'logits', dtype: 'float32', shape: ['N', 10] },
    labels: { de: CLASS_NAMES_DE, en: CLASS_NAMES_EN },
    test_set: {
      name: 'Fashion-MNIST t10k',
      count: 10000,
      files: ['data/t10k-images-idx3-ubyte.gz', 'data/t10k-labels-idx1-ubyte.gz'],
    },
    weights,
    models,
  };
}
