/**
 * The reverse pass against PyTorch autograd on every shipped weight set: the gradient of each loss
 * (ce, margin, dlr, dlr_targeted) with respect to the input on the first 20 test images, run by
 * onnxruntime-node on the built gradient graph, agrees with `python -m training golden-gradients`
 * (autograd through training/onnx_torch.py on the same file).
 *
 * Tolerance: ‖g − g_ref‖ ≤ 1e-4·‖g_ref‖ per image, relative to the gradient's norm because the
 * norms span 1e-9 (confident images under CE) to 1e2. Both sides compute the network in float32
 * with different summation orders (onnxruntime's ConvTranspose and MatMul against PyTorch's conv
 * backward): measured up to 2e-6 relative on these 9 × 4 × 20 gradients, so 1e-4 leaves a 50×
 * margin, while a wrong rule (a transposed kernel, a missed branch, a dropped cotangent) shows as
 * 1e-1 and more. The losses are computed in float64 on both sides (see golden_gradients.py).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { WEIGHT_IDS } from '../../../src/core/models';
import { imageAt } from '../../../src/data/idx';
import { buildGradientModel } from '../../../src/gradients/build';
import { batchLoss, LOSSES, type LossSpec } from '../../../src/gradients/losses';
import { loadTestSetNode } from '../../../tools/lib/test-set-node';

const TOLERANCE = 1e-4;

function f32(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

const CASES = [
  ...WEIGHT_IDS.map((w) => [`weights ${w}`, join('public', 'models', `${w}.onnx`), w] as const),
  // BatchNormalization, AveragePool, LeakyRelu, Sigmoid, Tanh; input "pixels", output "scores"
  [
    'upload ops (torch.onnx.export)',
    join('test', 'fixtures', 'custom-models', 'upload-ops.onnx'),
    'upload-ops',
  ] as const,
];

describe('input gradients agree with PyTorch autograd', () => {
  const set = loadTestSetNode();
  it.each(CASES)('%s: ce, margin, dlr, dlr_targeted on 20 images', async (_name, file, w) => {
    const golden = JSON.parse(readFileSync(join('test', 'golden', 'gradients', `${w}.json`), 'utf8'));
    const labels: number[] = golden.labels;
    const n = labels.length;
    expect(n).toBe(20);
    const x = new Float32Array(n * 784);
    for (let i = 0; i < n; i++)
      x.set(
        Float32Array.from(imageAt(set, i), (v) => v / 255),
        i * 784,
      );
    const gm = buildGradientModel(readFileSync(file));
    const session = await ort.InferenceSession.create(gm.bytes);
    const xt = new ort.Tensor('float32', x, [n, 1, 28, 28]);
    const zeros = new ort.Tensor('float32', new Float32Array(n * 10), [n, 10]);
    const logits = (await session.run({ [gm.input]: xt, [gm.gradLogits]: zeros }))[gm.logits]
      .data as Float32Array;
    const goldenLogits = f32(golden.logits);
    for (let i = 0; i < logits.length; i++) expect(Math.abs(logits[i] - goldenLogits[i])).toBeLessThan(1e-3);
    for (const loss of LOSSES) {
      const specs: LossSpec[] = labels.map((label, i) => ({ loss, label, target: golden.targets[i] }));
      const { losses, cotangent } = batchLoss(logits, 10, specs);
      const out = await session.run({
        [gm.input]: xt,
        [gm.gradLogits]: new ort.Tensor('float32', cotangent, [n, 10]),
      });
      const grad = out[gm.gradInput].data as Float32Array;
      // logit_diff towards the golden target (the highest other logit at the clean image) is the
      // margin loss there: z_t − z_y with t = argmax_{j≠y} z_j
      const ref = golden.losses[loss === 'logit_diff' ? 'margin' : loss];
      const want = f32(ref.gradient);
      for (let i = 0; i < n; i++) {
        expect(losses[i], `${loss} loss image ${i}`).toBeCloseTo(ref.loss[i], 3);
        const g = grad.subarray(i * 784, (i + 1) * 784);
        const r = want.subarray(i * 784, (i + 1) * 784);
        const diff = norm(g.map((v, k) => v - r[k]));
        expect(diff, `${loss} image ${i}: relative error`).toBeLessThanOrEqual(TOLERANCE * norm(r) + 1e-12);
      }
    }
    await session.release();
  });
});
