/**
 * `npm run serve` (server/cli.ts) as a process: every usage problem exits 2 with its reason (a bad
 * option value, an unknown option or model, a --models-dir from which no selected weight set can
 * load), --help exits 0 and states the exit codes, and a start where only some weight sets fail
 * keeps serving the others.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nothingLoaded } from '../../server/app';
import { encodeBase64 } from '../../src/core/base64';
import { freePort } from '../../tools/lib/serve-process';

const MODELS = join('public', 'models');
const live = new Set<ChildProcess>();
const temps: string[] = [];
afterAll(() => {
  for (const c of live) c.kill('SIGKILL');
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** Runs the CLI to its end: exit code and output. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'server/cli.ts', '--log-level', 'warn', ...args],
      { encoding: 'utf8', timeout: 60_000 },
      (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

/** A temporary models folder holding the manifest and the given files (name → bytes or a copy). */
function modelsDir(files: Record<string, string | 'copy'>): string {
  const dir = tempDir('serve-cli-');
  copyFileSync(join(MODELS, 'manifest.json'), join(dir, 'manifest.json'));
  for (const [name, content] of Object.entries(files)) {
    if (content === 'copy') copyFileSync(join(MODELS, name), join(dir, name));
    else writeFileSync(join(dir, name), content);
  }
  return dir;
}

describe('npm run serve: exit codes', () => {
  it('every usage problem exits 2 with its reason; --help exits 0 and states the exit codes', {
    timeout: 120_000,
  }, async () => {
    const cases: [string[], RegExp][] = [
      [['--port', 'abc'], /--port must be an integer from 0 to 65535/],
      [['--threads', '0'], /--threads must be an integer from 1 to 64/],
      [['--max-batch', '5000'], /--max-batch must be an integer from 1 to 4096/],
      [['--log-level', 'loud'], /--log-level.*Allowed choices/],
      [['--bogus'], /unknown option '--bogus'/],
      [['--models', '9'], /unknown model ID 9; the models are 0, 0_1/],
      [['--models', ','], /--models needs at least one model ID/],
    ];
    const [help, ...runs] = await Promise.all([
      cli(['--help']),
      ...cases.map(([args]) => cli(['--port', '0', ...args])),
    ]);
    cases.forEach(([args, pattern], i) => {
      expect(runs[i].code, `${args.join(' ')}: ${runs[i].stderr}`).toBe(2);
      expect(runs[i].stderr).toMatch(pattern);
    });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 after --help .*; 2 for a usage problem/s);
  });

  it('refuses to start, exit 2, when no weight file of the selected models is in --models-dir', {
    timeout: 60_000,
  }, async () => {
    const empty = tempDir('serve-empty-');
    const [all, some] = await Promise.all([
      cli(['--port', '0', '--models-dir', empty]),
      cli(['--port', '0', '--models-dir', empty, '--models', '0_3,2']),
    ]);
    expect(all.code).toBe(2);
    expect(all.stderr).toContain(
      `serve: no weight set of the selected models can be loaded from ${empty}: ` +
        '0.onnx, 0_1.onnx, 0_2.onnx, 2.onnx, 2_1.onnx, 2_2.onnx, 5.onnx, 5_1.onnx, 5_2.onnx are missing',
    );
    expect(all.stdout).not.toMatch(/serving/);
    expect(some.code).toBe(2);
    // 0_3 is the CNN's weights behind a randomized defense: its file is 0.onnx
    expect(some.stderr).toMatch(/from \S+: 0\.onnx, 2\.onnx are missing \(the folder \(--models-dir\) needs/);
  });

  it('exits 2 once loading shows that every selected weight set failed (files present but not the manifest’s)', {
    timeout: 60_000,
  }, async () => {
    const dir = modelsDir({ '0.onnx': 'not the shipped file' });
    const r = await cli(['--port', '0', '--models-dir', dir, '--models', '0,0_4,2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `no weight set of the selected models could be loaded from ${dir} \\(0: .*0\\.onnx has 20 bytes, ` +
          `manifest\\.json says \\d+; 2: .*2\\.onnx does not exist\\)`,
      ),
    );
  });

  it('keeps serving when only some weight sets fail: their models answer 503, the others 200', {
    timeout: 120_000,
  }, async () => {
    const dir = modelsDir({ '0.onnx': 'copy', '2.onnx': 'not the shipped file' });
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'server/cli.ts', '--port', String(port), '--models-dir', dir, '--models', '0,2'],
      { stdio: 'ignore' },
    );
    live.add(child);
    const url = `http://127.0.0.1:${port}`;
    let weights: Record<string, { state: string }> = {};
    for (let t = 0; t < 300 && Object.values(weights).filter((w) => w.state !== 'loading').length < 2; t++) {
      await new Promise((r) => setTimeout(r, 200));
      weights = await fetch(`${url}/`)
        .then(async (r) => ((await r.json()) as { weights: typeof weights }).weights)
        .catch(() => ({}));
    }
    expect(weights).toMatchObject({ '0': { state: 'ready' }, '2': { state: 'failed' } });
    const body = JSON.stringify({
      image: encodeBase64(new Uint8Array(784)),
      image_size: [28, 28],
      channel: 1,
    });
    // after the load has settled, the process is still up and serving
    await new Promise((r) => setTimeout(r, 500));
    expect(child.exitCode).toBeNull();
    expect((await fetch(`${url}/0/decision`, { method: 'POST', body })).status).toBe(200);
    const failed = await fetch(`${url}/2/decision`, { method: 'POST', body });
    expect(failed.status).toBe(503);
    expect(((await failed.json()) as { error: string }).error).toMatch(/model "2" is unavailable/);
    child.kill('SIGTERM');
  });
});

describe('nothingLoaded', () => {
  it('names every failure when all failed; null while any is ready or loading', () => {
    const failed = { state: 'failed' as const, error: 'x.onnx does not exist' };
    expect(nothingLoaded({ '0': failed, '2': failed }, '/m')).toMatch(
      /^no weight set of the selected models could be loaded from \/m \(0: x\.onnx does not exist; 2: x/,
    );
    expect(nothingLoaded({ '0': failed, '2': { state: 'ready', ms: 3 } }, '/m')).toBeNull();
    expect(nothingLoaded({ '0': failed, '2': { state: 'loading' } }, '/m')).toBeNull();
    expect(nothingLoaded({}, '/m')).toBeNull();
  });
});
