/**
 * The shipped model files against their manifest and against PyTorch: sha256 and size match, every
 * SPEC §2 ID is listed, and onnxruntime-node reproduces the golden logits PyTorch computed from the
 * same weights (test/golden/logits/<id>.json) within 1e-3.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { MODELS, WEIGHT_IDS } from '../../../src/core/models';
import { imageAt } from '../../../src/data/idx';
import { loadTestSetNode } from '../../../tools/lib/test-set-node';

const MODELS_DIR = join('public', 'models');
const manifest = JSON.parse(readFileSync(join(MODELS_DIR, 'manifest.json'), 'utf8'));

describe('model manifest', () => {
  it('lists every model ID of SPEC §2 with its weights', () => {
    const ids = manifest.models.map((m: { id: string }) => m.id).sort();
    expect(ids).toEqual(MODELS.map((m) => m.id).sort());
    for (const m of MODELS) {
      const entry = manifest.models.find((e: { id: string }) => e.id === m.id);
      expect(entry.weights, m.id).toBe(m.weights);
      expect(entry.arch).toBe(m.arch);
      expect(entry.defense).toBe(m.defense);
      expect(entry.randomized).toBe(m.preprocessor !== null);
      if (m.preprocessor) expect(entry.preprocessor.kind).toBe(m.preprocessor.kind);
    }
  });

  it.each(WEIGHT_IDS)('weights %s: file, sha256 and size match the manifest', (w) => {
    const entry = manifest.weights[w];
    expect(entry, `manifest.weights[${w}]`).toBeDefined();
    const bytes = readFileSync(join(MODELS_DIR, entry.file));
    expect(bytes.byteLength).toBe(entry.bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(entry.sha256);
    for (const m of manifest.models.filter((e: { weights: string }) => e.weights === w)) {
      expect(m.sha256).toBe(entry.sha256);
    }
  });

  it('keeps public/models under 100 MB', () => {
    const total = WEIGHT_IDS.reduce((s, w) => s + manifest.weights[w].bytes, 0);
    expect(total).toBeLessThanOrEqual(100 * 1024 * 1024);
  });

  it('records measured metrics and the training recipe for every model', () => {
    for (const m of manifest.models) {
      expect(m.metrics.clean_accuracy, m.id).toBeGreaterThan(0.5);
      expect(m.metrics.per_class_accuracy).toHaveLength(10);
      expect(m.recipe.seed, m.id).toBeTypeOf('number');
      expect(manifest.weights[m.weights].robust?.robust_accuracy, `${m.weights} PGD-20`).toBeTypeOf('number');
    }
  });
});

describe('golden logits (PyTorch) reproduced by onnxruntime-node', () => {
  const set = loadTestSetNode();
  it.each(WEIGHT_IDS)('weights %s within 1e-3', async (w) => {
    const golden = JSON.parse(readFileSync(join('test', 'golden', 'logits', `${w}.json`), 'utf8'));
    const n = golden.test_indices.length;
    expect(n).toBe(16);
    const x = new Float32Array(n * 784);
    golden.test_indices.forEach((idx: number, i: number) => {
      x.set(
        Float32Array.from(imageAt(set, idx), (v) => v / 255),
        i * 784,
      );
    });
    const session = await ort.InferenceSession.create(join(MODELS_DIR, `${w}.onnx`));
    const out = await session.run({ input: new ort.Tensor('float32', x, [n, 1, 28, 28]) });
    const got = out.logits.data as Float32Array;
    const want = (golden.logits as number[][]).flat();
    let maxDiff = 0;
    for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    expect(maxDiff).toBeLessThanOrEqual(1e-3);
    await session.release();
  });
});
