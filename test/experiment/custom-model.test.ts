/**
 * Experiments with a model of your own: `"models": ["0", "custom:<path>.onnx"]` resolves
 * to `custom/<file stem>`; the CLI reads the file, checks it, runs it (here --native, on
 * onnxruntime-node) and writes its rows, summary and report; a refused file stops the run with the
 * refusal. Uses the committed fixtures of test/fixtures/custom-models/.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { NativeBackend } from '../../tools/experiment/backends';
import { ConfigError, resolveConfig } from '../../tools/experiment/config';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TMP = mkdtempSync(join(tmpdir(), 'experiment-custom-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const MLP = 'test/fixtures/custom-models/tiny-mlp.onnx';
const base = {
  name: 'custom-model',
  images: { count: 6, seed: 3 },
  attacks: [{ type: 'none' }, { type: 'square', norm: 'linf', eps: 0.1, max_queries: 100 }],
  seed: 0,
};

function runCli(config: unknown): { code: number | null; stdout: string; stderr: string; out: string } {
  const dir = mkdtempSync(join(TMP, 'run-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const out = join(dir, 'out');
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'tools', 'experiment', 'main.ts'),
      '--config',
      file,
      '--out',
      out,
      '--native',
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, out };
}

describe('custom:<path> in an experiment config', () => {
  it('resolves to custom/<file stem>, with a suffix on a clash', () => {
    const r = resolveConfig({
      ...base,
      models: ['0', `custom:${MLP}`, 'custom:elsewhere/tiny-mlp.onnx'],
    });
    expect(r.models).toEqual(['0', 'custom/tiny-mlp', 'custom/tiny-mlp-2']);
    expect(r.custom).toEqual([
      { ref: `custom:${MLP}`, path: MLP, id: 'tiny-mlp', model: 'custom/tiny-mlp', outputs: 'logits' },
      {
        ref: 'custom:elsewhere/tiny-mlp.onnx',
        path: 'elsewhere/tiny-mlp.onnx',
        id: 'tiny-mlp-2',
        model: 'custom/tiny-mlp-2',
        outputs: 'logits',
      },
    ]);
    expect(resolveConfig({ ...base, models: ['0'] }).custom).toEqual([]);
    expect(() => resolveConfig({ ...base, models: ['custom:model.pt'] })).toThrow(ConfigError);
    expect(() => resolveConfig({ ...base, models: ['custom:model.pt'] })).toThrow(/custom:<path>\.onnx/);
  });

  it('the CLI reads the file and runs it beside model 0 (--native), rows, summary and report included', () => {
    const r = runCli({ ...base, models: ['0', `custom:${MLP}`] });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(
      /custom:test\/fixtures\/custom-models\/tiny-mlp\.onnx: runs as custom\/tiny-mlp/,
    );
    const rows = readFileSync(join(r.out, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const mine = rows.filter((row) => row.model === 'custom/tiny-mlp');
    expect(mine).toHaveLength(12);
    expect(mine.every((row) => row.error === null || row.error === undefined)).toBe(true);
    expect(mine.filter((row) => row.attack === 'none').some((row) => row.clean_pred === row.label)).toBe(
      true,
    );
    const config = JSON.parse(readFileSync(join(r.out, 'config.json'), 'utf8'));
    const sha256 = createHash('sha256')
      .update(readFileSync(join(ROOT, MLP)))
      .digest('hex');
    expect(JSON.stringify(config)).toContain(sha256);
    expect(readFileSync(join(r.out, 'summary.md'), 'utf8')).toMatch(
      /custom\/tiny-mlp \(your model \(vanilla\)\)/,
    );
    expect(readFileSync(join(r.out, 'report.html'), 'utf8')).toContain('custom/tiny-mlp');
  });

  it('a refused file stops the run with the refusal', () => {
    const r = runCli({ ...base, models: ['0', 'custom:test/fixtures/custom-models/five-class.onnx'] });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /"five-class\.onnx" was refused: output "y" has shape \[batch,5\], not \[N,10\]/,
    );
    const missing = runCli({ ...base, models: ['custom:no/such/model.onnx'] });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read no\/such\/model\.onnx \(ENOENT\)/);
  });
});

describe('custom:<path>.onnx#probabilities', () => {
  const PROBS = 'test/fixtures/custom-models/linear-probs.onnx';

  it('resolves the outputs kind from the ref', () => {
    const r = resolveConfig({ ...base, models: [`custom:${PROBS}#probabilities`, `custom:${MLP}`] });
    expect(r.custom.map((c) => c.outputs)).toEqual(['probabilities', 'logits']);
  });

  it('serves a probability model as it is, not softmaxed twice', async () => {
    const bytes = new Uint8Array(readFileSync(join(ROOT, PROBS)));
    const file = (outputs: 'logits' | 'probabilities') => ({
      id: 'linear-probs',
      path: PROBS,
      fileName: 'linear-probs.onnx',
      bytes,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      outputs,
    });
    const image = Buffer.from(Uint8Array.from({ length: 784 }, (_, i) => (i * 31) % 256)).toString('base64');
    const scores = async (outputs: 'logits' | 'probabilities') => {
      const backend = new NativeBackend(false, 1, join(ROOT, 'public', 'models'));
      try {
        await backend.addCustomModel(file(outputs));
        return (await backend.score('custom/linear-probs', [{ image, seed: 0 }]))[0];
      } finally {
        await backend.close();
      }
    };
    const asIs = await scores('probabilities');
    const twice = await scores('logits');
    // the model's own probabilities sum to 1 and are sharper than their softmax
    expect(asIs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(Math.max(...asIs)).toBeGreaterThan(Math.max(...twice));
    const e = asIs.map(Math.exp);
    const z = e.reduce((a, b) => a + b, 0);
    for (const [i, p] of twice.entries()) expect(p).toBeCloseTo(e[i] / z, 5);
  });
});
