/** tools/lib/node-engine.ts: lazy sessions, sha256 verification, serialised runs, 503-style errors. */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeEngine } from '../../server/node-engine';
import { ModelUnavailableError } from '../../src/core/engine';

const MODELS_DIR = process.env.PLAYGROUND_MODELS_DIR ?? join(process.cwd(), 'public', 'models');
const MODEL_0 = join(MODELS_DIR, '0.onnx');
const HAVE_MODEL = existsSync(MODEL_0);
if (!HAVE_MODEL) console.warn(`node-engine tests with a real model skipped: ${MODEL_0} does not exist yet`);

const tmp = mkdtempSync(join(tmpdir(), 'node-engine-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ramp(n: number): Float32Array {
  return new Float32Array(n * 784).map((_, i) => ((i * 37) % 256) / 255);
}

describe('node engine without a usable model', () => {
  it('a missing file is a ModelUnavailableError naming the weights', async () => {
    const engine = createNodeEngine({ modelsDir: tmp });
    const err = await engine.infer('0', ramp(1), 1).catch((e) => e);
    expect(err).toBeInstanceOf(ModelUnavailableError);
    expect(err.message).toMatch(/'0'.*does not exist/);
  });

  it('a corrupt file is a ModelUnavailableError from onnxruntime', async () => {
    const dir = mkdtempSync(join(tmp, 'corrupt-'));
    writeFileSync(join(dir, '2.onnx'), 'not an onnx model');
    const err = await createNodeEngine({ modelsDir: dir })
      .infer('2', ramp(1), 1)
      .catch((e) => e);
    expect(err).toBeInstanceOf(ModelUnavailableError);
    expect(err.message).toMatch(/onnxruntime could not load/);
  });

  it('refuses weight IDs that are not plain names', async () => {
    const err = await createNodeEngine({ modelsDir: tmp })
      .infer('../0', ramp(1), 1)
      .catch((e) => e);
    expect(err).toBeInstanceOf(ModelUnavailableError);
  });

  it('checks the input size', async () => {
    await expect(createNodeEngine({ modelsDir: tmp }).infer('0', ramp(2), 1)).rejects.toThrow(/784/);
  });
});

describe.skipIf(!HAVE_MODEL)('node engine with public/models/0.onnx', () => {
  const bytes = HAVE_MODEL ? readFileSync(MODEL_0) : Buffer.alloc(0);
  const sha = createHash('sha256').update(bytes).digest('hex');

  function dirWith(manifest: unknown): string {
    const dir = mkdtempSync(join(tmp, 'm-'));
    copyFileSync(MODEL_0, join(dir, '0.onnx'));
    if (manifest !== undefined) writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    return dir;
  }

  it('runs a batch: N×10 finite logits, same as one by one', async () => {
    const engine = createNodeEngine({ modelsDir: dirWith(undefined) });
    const x = ramp(3);
    const all = await engine.infer('0', x, 3);
    expect(all).toHaveLength(30);
    expect(all.every(Number.isFinite)).toBe(true);
    const second = await engine.infer('0', x.slice(784, 1568), 1);
    for (let i = 0; i < 10; i++) expect(second[i]).toBeCloseTo(all[10 + i], 4);
    expect(engine.loaded()).toEqual(['0']);
    await engine.release();
    expect(engine.loaded()).toEqual([]);
    // released sessions are created again on demand
    expect(await engine.infer('0', x, 3)).toHaveLength(30);
    await engine.release();
  });

  it('serialises concurrent runs on one session without mixing results', async () => {
    const engine = createNodeEngine({ modelsDir: dirWith(undefined) });
    const inputs = Array.from({ length: 12 }, (_, k) => new Float32Array(784).fill(k / 11));
    const solo: Float32Array[] = [];
    for (const x of inputs) solo.push(await engine.infer('0', x, 1));
    const together = await Promise.all(inputs.map((x) => engine.infer('0', x, 1)));
    expect(together.map((r) => Array.from(r))).toEqual(solo.map((r) => Array.from(r)));
    await engine.release();
  });

  it('accepts a file whose sha256 matches manifest.json', async () => {
    const dir = dirWith({ weights: { '0': { file: '0.onnx', sha256: sha, bytes: bytes.byteLength } } });
    await expect(createNodeEngine({ modelsDir: dir }).infer('0', ramp(1), 1)).resolves.toHaveLength(10);
  });

  it('rejects a checksum mismatch, a size mismatch and a missing manifest entry; verify:false skips the check', async () => {
    const bad = dirWith({ weights: { '0': { file: '0.onnx', sha256: '0'.repeat(64) } } });
    const err = await createNodeEngine({ modelsDir: bad })
      .infer('0', ramp(1), 1)
      .catch((e) => e);
    expect(err).toBeInstanceOf(ModelUnavailableError);
    expect(err.message).toMatch(/fails its checksum \(sha256 [0-9a-f]{12}…, manifest.json [0-9a-f]{12}…\)/);

    const size = dirWith({ weights: { '0': { file: '0.onnx', sha256: sha, bytes: 12 } } });
    await expect(createNodeEngine({ modelsDir: size }).infer('0', ramp(1), 1)).rejects.toThrow(
      /manifest.json says 12/,
    );

    const none = dirWith({ weights: {} });
    await expect(createNodeEngine({ modelsDir: none }).infer('0', ramp(1), 1)).rejects.toThrow(
      /lists no sha256/,
    );

    await expect(
      createNodeEngine({ modelsDir: bad, verify: false }).infer('0', ramp(1), 1),
    ).resolves.toHaveLength(10);
  });
});
