/**
 * Training smoke test: PyTorch trains each architecture for a few batches (plain, augmented, PGD),
 * exports ONNX (ResNet18 with its small-map convs rewritten as batched MatMul), and onnxruntime-node
 * must reproduce PyTorch's logits within 1e-4.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

describe('training pipeline smoke test', () => {
  const out = mkdtempSync(join(tmpdir(), 'smoke-'));
  it('trains, exports and matches onnxruntime-node', { timeout: 300_000 }, async () => {
    const r = spawnSync(PYTHON, ['-m', 'training', 'smoke', '--out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const ref = JSON.parse(readFileSync(join(out, 'reference.json'), 'utf8'));
    const input = Float32Array.from(ref.input.flat() as number[]);
    for (const arch of ['cnn', 'resnet18', 'vit']) {
      const m = ref.models[arch];
      expect(m.losses.every((l: number) => Number.isFinite(l))).toBe(true);
      const session = await ort.InferenceSession.create(m.onnx);
      expect(session.inputNames).toEqual(['input']);
      expect(session.outputNames).toEqual(['logits']);
      const res = await session.run({ input: new ort.Tensor('float32', input, [8, 1, 28, 28]) });
      expect(res.logits.dims).toEqual([8, 10]);
      const got = res.logits.data as Float32Array;
      const want = (m.logits as number[][]).flat();
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
      expect(maxDiff, `${arch} max |onnx - torch|`).toBeLessThanOrEqual(1e-4);
      await session.release();
    }
    // ResNet18's layer3/layer4 convs are exported as batched MatMul (training/onnx_im2col.py)
    expect(ref.models.resnet18.export.im2col.convs).toHaveLength(10);
    expect(ref.models.cnn.export.im2col).toBeUndefined();
  });
});
