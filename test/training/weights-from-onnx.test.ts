/**
 * `python -m training weights-from-onnx` recovers the trained float32 weights of a shipped ViT file
 * (the first stage of `5` is restored this way on a fresh clone), and refuses when the PyTorch
 * logits of what it recovered do not reproduce the golden logits the file was exported with.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

function recover(onnx: string, golden: string, ckptDir: string) {
  return spawnSync(
    PYTHON,
    ['-m', 'training', 'weights-from-onnx', '--id', '5_pre', '--onnx', onnx, '--golden', golden],
    { encoding: 'utf8', env: { ...process.env, TRAIN_CKPT_DIR: ckptDir } },
  );
}

describe('weights-from-onnx', () => {
  it('recovers the shipped ViT weights exactly', { timeout: 120_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const r = recover('public/models/5.onnx', 'test/golden/logits/5.json', dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/golden logits reproduced within/);
    expect(existsSync(join(dir, '5_pre.final.pt'))).toBe(true);
  });

  it('refuses weights that do not reproduce the golden logits', { timeout: 120_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const r = recover('public/models/5.onnx', 'test/golden/logits/5_1.json', dir);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/away from test\/golden\/logits\/5_1\.json/);
    expect(existsSync(join(dir, '5_pre.final.pt'))).toBe(false);
  });
});
