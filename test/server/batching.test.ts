/**
 * server/batching.ts on onnxruntime-node: a large call is split into runs of at most maxBatch
 * images (onnxruntime keeps the memory of its largest run), and its answer equals the unsplit run's.
 */
import { describe, expect, it } from 'vitest';
import { createBatchingEngine } from '../../server/batching';
import { createNodeEngine } from '../../server/node-engine';
import type { InferenceEngine } from '../../src/core/engine';
import { imageInput } from '../../src/data/idx';
import { loadTestSetNode } from '../../tools/lib/test-set-node';

const testSet = loadTestSetNode('public/data');

function images(n: number): Float32Array {
  const out = new Float32Array(n * 784);
  for (let i = 0; i < n; i++) out.set(imageInput(testSet, i), i * 784);
  return out;
}

describe('dynamic batching', () => {
  it('splits a call of 200 images into runs of at most 64; the logits equal one 200-image run', async () => {
    const node = createNodeEngine({ threads: 1 });
    const runs: number[] = [];
    const recording: InferenceEngine = {
      infer: (weights, inputs, n) => {
        runs.push(n);
        return node.infer(weights, inputs, n);
      },
    };
    const batching = createBatchingEngine(recording, 64);
    const x = images(200);
    const split = await batching.infer('0', x, 200);
    expect(runs).toEqual([64, 64, 64, 8]);
    expect(batching.stats()).toMatchObject({ runs: 4, images: 200, calls: 1, maxRun: 64 });
    const whole = await node.infer('0', x, 200);
    expect(split.length).toBe(2000);
    let maxDiff = 0;
    for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(split[i] - whole[i]));
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it('small concurrent calls still share runs, and each gets the logits of its own image', async () => {
    const node = createNodeEngine({ threads: 1 });
    const runs: number[] = [];
    const batching = createBatchingEngine(
      {
        infer: (w, x, n) => {
          runs.push(n);
          return node.infer(w, x, n);
        },
      },
      64,
    );
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => batching.infer('0', imageInput(testSet, i), 1)),
    );
    expect(runs.reduce((a, b) => a + b, 0)).toBe(10);
    expect(runs.length).toBeLessThan(10);
    expect(batching.stats().calls).toBe(10);
    for (let i = 0; i < 10; i++) {
      const alone = await node.infer('0', imageInput(testSet, i), 1);
      const diff = Math.max(...Array.from(alone, (v, c) => Math.abs(v - answers[i][c])));
      expect(diff, `image ${i}`).toBeLessThan(1e-4);
    }
  });
});
