/**
 * The experiment runner end to end, through its CLI:
 * - config errors fail before any work, naming the field (no browser needed);
 * - --endpoint mode against a local service with the same contract;
 * - the smoke config in headless Chromium on the production build (dist/), with the clean
 *   predictions checked against onnxruntime-node on the same model files;
 * - a run stopped midway (SIGINT in --endpoint mode, SIGKILL in the browser) and resumed equals an
 *   uninterrupted run;
 * - two shards merged equal the unsharded run.
 * The browser tests need `npm run build` first and skip (saying so) when dist/ is missing.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildService } from '../../server/app';
import { createNodeEngine } from '../../server/node-engine';
import { standardNormalQuantile } from '../../src/core/intervals';
import { getModel } from '../../src/core/models';
import { classifyInputs } from '../../src/core/router';
import { imageInput } from '../../src/data/idx';
import { cleanSeed, enumerateWork, resolveConfig, shardWork } from '../../tools/experiment/config';
import type { ResultRow } from '../../tools/experiment/rows';
import { loadTestSetNode } from '../../tools/lib/test-set-node';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SMOKE = join(ROOT, 'experiments', 'smoke.json');
const TMP = mkdtempSync(join(tmpdir(), 'experiment-test-'));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Children still running (killed in afterAll, so a timed-out test leaves no browser behind). */
const live = new Set<ChildProcess>();
afterAll(() => {
  for (const c of live) c.kill('SIGKILL');
});

function start(args: string[]): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'tools', 'experiment', 'main.ts'), ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

const cli = (args: string[]) => start(args).done;

function merge(args: string[]): Promise<Run> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'tools', 'experiment', 'merge.ts'), ...args],
    { cwd: ROOT },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

function rows(dir: string): ResultRow[] {
  const text = readFileSync(join(dir, 'results.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ResultRow);
}

/** The rows without their timings, in a canonical order. */
function comparable(dir: string): string[] {
  return rows(dir)
    .map(({ ms: _ms, ...rest }) => JSON.stringify(rest))
    .sort();
}

function lineCount(dir: string): number {
  const p = join(dir, 'results.jsonl');
  if (!existsSync(p)) return 0;
  return readFileSync(p, 'utf8')
    .split('\n')
    .filter((l) => l.trim()).length;
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const explain = (r: Run) => `exit ${r.code} ${r.signal ?? ''}\n${r.stderr}\n${r.stdout}`;

describe('experiment CLI: config errors', () => {
  it('rejects a bad config before any work, naming the field', async () => {
    const bad = join(TMP, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        name: 'bad',
        models: ['0'],
        images: { count: 2, seed: 1 },
        attacks: [{ type: 'none' }, { type: 'noise', eps: 'x' }],
        typo: 1,
      }),
    );
    const out = join(TMP, 'bad-out');
    const r = await cli(['--config', bad, '--out', out]);
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toMatch(/attacks\[1\]\.eps: expected number, received string/);
    expect(r.stderr).toMatch(/typo: unknown field/);
    expect(existsSync(out)).toBe(false); // nothing was started or written

    const r2 = await cli(['--config', SMOKE, '--out', out, '--shard', '3/2']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/--shard/);
  });

  it("exits 2 on the usage errors commander catches, with commander's message; --help exits 0", async () => {
    const out = join(TMP, 'usage-out');
    const unknown = await cli(['--config', SMOKE, '--out', out, '--bogus']);
    expect(unknown.code, explain(unknown)).toBe(2);
    expect(unknown.stderr).toMatch(/error: unknown option '--bogus'/);
    const noOut = await cli(['--config', SMOKE]);
    expect(noOut.code, explain(noOut)).toBe(2);
    expect(noOut.stderr).toMatch(/error: required option '-o, --out <dir>' not specified/);
    const choice = await cli(['--config', SMOKE, '--out', out, '--backend', 'foo']);
    expect(choice.code, explain(choice)).toBe(2);
    expect(choice.stderr).toMatch(/argument 'foo' is invalid\. Allowed choices are wasm, webgpu/);
    expect(existsSync(out)).toBe(false);
    const help = await cli(['--help']);
    expect(help.code, explain(help)).toBe(0);
    // the description names all three modes
    expect(help.stdout.replace(/\s+/g, ' ')).toMatch(
      /headless Chromium.*--native.*onnxruntime-node.*--endpoint/,
    );
    const mergeUnknown = await merge([TMP, '--out', join(TMP, 'merge-usage'), '--bogus']);
    expect(mergeUnknown.code, explain(mergeUnknown)).toBe(2);
    expect(mergeUnknown.stderr).toMatch(/error: unknown option '--bogus'/);
  });
});

const WEIGHTS_0 = join(ROOT, 'public', 'models', '0.onnx');

describe.skipIf(!existsSync(WEIGHTS_0))('experiment CLI: --native', () => {
  it('runs the smoke config on onnxruntime-node in process, with the same rows as --endpoint', {
    timeout: 120_000,
  }, async () => {
    const out = join(TMP, 'native');
    const r = await cli(['--config', SMOKE, '--out', out, '--native', '--no-progress']);
    expect(r.code, explain(r)).toBe(0);
    const rs = rows(out);
    expect(rs).toHaveLength(20);
    expect(rs.filter((x) => x.error)).toEqual([]);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.environment.mode).toBe('native');
    expect(cfg.environment.runtime.name).toBe('onnxruntime-node');
    // the clean predictions are the models' own (checked against the engine directly)
    const engine = createNodeEngine({ threads: 1 });
    const set = loadTestSetNode();
    const clean = rs.filter((q) => q.attack === 'none' && q.model === '0');
    const res = await classifyInputs(
      engine,
      getModel('0')!,
      clean.map((q) => imageInput(set, q.index)),
    );
    expect(clean.map((q) => q.clean_pred)).toEqual(res.preds);
    await engine.release();
    const both = await cli(['--config', SMOKE, '--out', out, '--native', '--endpoint', 'http://127.0.0.1:9']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--endpoint and --native exclude each other/);

    // browser mode into these native rows: refused from the command line alone, before vite and
    // Chromium start, with the ways out that fit (--redo-changed only reruns changed weight files)
    for (const extra of [[], ['--redo-changed']]) {
      const t0 = Date.now();
      const browser = await cli(['--config', SMOKE, '--out', out, ...extra]);
      expect(browser.code, explain(browser)).toBe(2);
      expect(browser.stderr).toMatch(
        /the mode differs \(native vs browser\)\. Use --redo-all to rerun it here/,
      );
      expect(browser.stderr).toMatch(/--force to resume anyway/);
      expect(browser.stderr).not.toMatch(/--redo-changed/);
      expect(browser.stderr).not.toMatch(/starting vite preview|Chromium/);
      // a browser start alone takes longer; this is the CLI's own start-up on a busy machine
      expect(Date.now() - t0).toBeLessThan(20_000);
    }
    expect(rows(out)).toHaveLength(20);
  });
});

describe.skipIf(!existsSync(WEIGHTS_0))('experiment CLI: white-box attacks', () => {
  it('runs FGSM and PGD with --native and against a service with --gradients, with the same rows', {
    timeout: 180_000,
  }, async () => {
    const config = join(TMP, 'whitebox.json');
    writeFileSync(
      config,
      JSON.stringify({
        name: 'whitebox',
        description: 'FGSM and PGD on a vanilla and a randomized CNN',
        models: ['0', '0_4'],
        images: { count: 4, seed: 3 },
        attacks: [
          { type: 'fgsm', eps: 0.1, norm: 'linf' },
          { type: 'pgd', eps: 1.5, norm: 'l2', steps: 10, restarts: 2, loss: 'dlr' },
        ],
        eot: 2,
        seed: 0,
      }),
    );
    const native = join(TMP, 'whitebox-native');
    const r = await cli(['--config', config, '--out', native, '--native', '--no-progress']);
    expect(r.code, explain(r)).toBe(0);
    const rs = rows(native);
    expect(rs).toHaveLength(16);
    expect(rs.filter((x) => x.error)).toEqual([]);
    const pgd = rs.filter((x) => x.attack.startsWith('pgd') && x.model === '0' && !x.skipped);
    for (const row of pgd) {
      expect(row.gradient_evaluations).toBeGreaterThanOrEqual(10);
      expect(row.l2!).toBeLessThanOrEqual(1.5 + 1e-6);
    }
    // 0_4 draws 2 noise samples per image and step
    const eot = rs.filter((x) => x.attack.startsWith('fgsm') && x.model === '0_4' && !x.skipped);
    for (const row of eot) expect(row.gradient_evaluations).toBe(2);
    const svc = await startService(['0', '0_4'], true);
    try {
      const endpoint = join(TMP, 'whitebox-endpoint');
      const e = await cli(['--config', config, '--out', endpoint, '--endpoint', svc.url, '--no-progress']);
      expect(e.code, explain(e)).toBe(0);
      expect(comparable(endpoint)).toEqual(comparable(native));
    } finally {
      await svc.close();
    }
    const plain = await startService(['0', '0_4'], false);
    try {
      const off = await cli([
        '--config',
        config,
        '--out',
        join(TMP, 'whitebox-off'),
        '--endpoint',
        plain.url,
      ]);
      expect(off.code).toBe(2);
      expect(off.stderr).toMatch(/does not serve the gradient route .*npm run serve -- --gradients/);
    } finally {
      await plain.close();
    }
  });
});

describe.skipIf(!existsSync(WEIGHTS_0))('experiment CLI: certify (randomized smoothing)', () => {
  it('certifies 0_4 per image, natively and against a service with the same radii, with a certified-accuracy table', {
    timeout: 180_000,
  }, async () => {
    const config = join(TMP, 'certify.json');
    writeFileSync(
      config,
      JSON.stringify({
        name: 'certify',
        description: 'CERTIFY on the noise-defended CNN',
        models: ['0_4'],
        images: { indices: [0, 1, 2] },
        attacks: [{ type: 'certify', sigma: 0.1, n0: 20, n: 300, alpha: 0.01 }],
        seed: 0,
      }),
    );
    const native = join(TMP, 'certify-native');
    const r = await cli(['--config', config, '--out', native, '--native', '--no-progress']);
    expect(r.code, explain(r)).toBe(0);
    const rs = rows(native);
    expect(rs).toHaveLength(3);
    for (const row of rs) {
      expect(row.error).toBeUndefined();
      expect(row.queries).toBe(320);
      expect(row.p_a_lower!).toBeGreaterThan(0);
      if (row.adv_pred === null) expect(row.radius).toBe(0);
      else expect(row.radius!).toBeCloseTo(0.1 * standardNormalQuantile(row.p_a_lower!), 5);
    }
    expect(readFileSync(join(native, 'summary.md'), 'utf8')).toMatch(
      /## Certified accuracy \(randomized smoothing\)[\s\S]*\| 0_4 \| 0\.1 \| 0\.01 \| 3 \|/,
    );
    const svc = await startService(['0_4'], false);
    try {
      const endpoint = join(TMP, 'certify-endpoint');
      const e = await cli(['--config', config, '--out', endpoint, '--endpoint', svc.url, '--no-progress']);
      expect(e.code, explain(e)).toBe(0);
      expect(comparable(endpoint)).toEqual(comparable(native));
    } finally {
      await svc.close();
    }
  });
});

describe.skipIf(!existsSync(WEIGHTS_0))('experiment CLI: AutoAttack', () => {
  it('runs the standard version on 0_1 and rand on 0_4, natively and against a service, with the same rows and a per-stage table', {
    timeout: 300_000,
  }, async () => {
    const config = join(TMP, 'autoattack.json');
    writeFileSync(
      config,
      JSON.stringify({
        name: 'autoattack',
        description: 'AutoAttack on an adversarially trained and a randomized CNN',
        models: ['0_1', '0_4'],
        images: { indices: [1, 2, 3] },
        attacks: [{ type: 'autoattack', eps: 0.1, norm: 'linf', square_queries: 50, eot: 2 }],
        seed: 0,
      }),
    );
    const native = join(TMP, 'autoattack-native');
    const r = await cli(['--config', config, '--out', native, '--native', '--no-progress']);
    expect(r.code, explain(r)).toBe(0);
    const rs = rows(native).filter((x) => !x.skipped);
    expect(rs.filter((x) => x.error)).toEqual([]);
    expect(new Set(rs.filter((x) => x.model === '0_1').map((x) => x.version))).toEqual(new Set(['standard']));
    const rand = rs.filter((x) => x.model === '0_4');
    expect(new Set(rand.map((x) => x.version))).toEqual(new Set(['rand']));
    for (const row of rand) expect(row.flags).toContain('random_output');
    for (const row of rs) {
      expect(row.broken_by === null || typeof row.broken_by === 'string').toBe(true);
      expect(row.success).toBe(row.broken_by !== null);
      expect(row.linf!).toBeLessThanOrEqual(0.1 + 1e-6);
    }
    const md = readFileSync(join(native, 'summary.md'), 'utf8');
    expect(md).toMatch(/## AutoAttack/);
    expect(md).toMatch(
      /\| 0_1 \| standard \| 3 \| .* APGD-CE [0-9.]+ → APGD-T [0-9.]+ → FAB-T [0-9.]+ → Square [0-9.]+ \|/,
    );
    expect(md).toMatch(/\| 0_4 \| rand \(EOT 2\) \| 3 \| .* APGD-CE [0-9.]+ → APGD-DLR [0-9.]+ \|/);
    expect(readFileSync(join(native, 'report.html'), 'utf8')).toMatch(/<h2>AutoAttack<\/h2>/);
    // FAB-T's logit differences and the rest travel over HTTP the same way
    const svc = await startService(['0_1', '0_4'], true);
    try {
      const endpoint = join(TMP, 'autoattack-endpoint');
      const e = await cli(['--config', config, '--out', endpoint, '--endpoint', svc.url, '--no-progress']);
      expect(e.code, explain(e)).toBe(0);
      expect(comparable(endpoint)).toEqual(comparable(native));
    } finally {
      await svc.close();
    }
  });
});

/** The product's HTTP service (npm run serve) on a free port, counting the requests it answers. */
async function startService(models?: string[], gradients = false, port = 0) {
  const s = await buildService({
    modelsDir: join(ROOT, 'public', 'models'),
    logLevel: 'silent',
    threads: 1,
    models,
    gradients,
  });
  const state = { requests: 0 };
  s.app.addHook('onRequest', async () => {
    state.requests++;
  });
  const url = await s.app.listen({ host: '127.0.0.1', port });
  return {
    url,
    get requests() {
      return state.requests;
    },
    close: () => s.app.close(),
    /** as a crash does: every connection dropped at once */
    kill: () => {
      s.app.server.closeAllConnections();
      return s.app.close();
    },
  };
}

describe.skipIf(!existsSync(WEIGHTS_0))('experiment CLI: an endpoint that dies', () => {
  it('stops early with exit 3 and no error rows; the same command continues once it is back', {
    timeout: 240_000,
  }, async () => {
    const config = join(TMP, 'dies.json');
    writeFileSync(
      config,
      JSON.stringify({
        name: 'dies',
        description: 'Square on the PGD-trained CNN while its endpoint dies',
        models: ['0_1'],
        images: { indices: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] },
        attacks: [{ type: 'square', norm: 'linf', eps: 0.1, max_queries: 500 }],
        seed: 0,
      }),
    );
    const out = join(TMP, 'dies-out');
    const svc = await startService(['0_1']);
    const port = Number(new URL(svc.url).port);
    const run = start(['--config', config, '--out', out, '--endpoint', svc.url, '--no-progress']);
    await expect.poll(() => lineCount(out), { timeout: 120_000, interval: 100 }).toBeGreaterThanOrEqual(3);
    await svc.kill();
    const t0 = Date.now();
    const r = await run.done;
    expect(r.code, explain(r)).toBe(3);
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(r.stderr + r.stdout).toMatch(/the backend stopped answering .*continue with the same command/s);
    const partial = rows(out);
    expect(partial.filter((x) => x.error)).toEqual([]);
    expect(partial.length).toBeLessThan(12);
    const again = await startService(['0_1'], false, port);
    try {
      const r2 = await cli(['--config', config, '--out', out, '--endpoint', again.url, '--no-progress']);
      expect(r2.code, explain(r2)).toBe(0);
      const all = rows(out);
      expect(all).toHaveLength(12);
      expect(all.filter((x) => x.error)).toEqual([]);
    } finally {
      await again.close();
    }
  });
});

describe.skipIf(!existsSync(WEIGHTS_0))('experiment CLI: --endpoint', () => {
  let service: Awaited<ReturnType<typeof startService>>;
  const out = join(TMP, 'endpoint');
  beforeAll(async () => {
    service = await startService();
  });
  afterAll(async () => {
    await service?.close();
  });

  it('shares one run between two replicas given as a comma-separated --endpoint list', {
    timeout: 120_000,
  }, async () => {
    const second = await startService(['0', '0_4']);
    try {
      const before = service.requests;
      const shared = join(TMP, 'endpoint-replicas');
      const r = await cli([
        '--config',
        SMOKE,
        '--out',
        shared,
        '--endpoint',
        `${service.url},${second.url}`,
        '--batch-size',
        '1',
        '--no-progress',
      ]);
      expect(r.code, explain(r)).toBe(0);
      expect(rows(shared).filter((x) => x.error)).toEqual([]);
      expect(rows(shared)).toHaveLength(20);
      expect(service.requests - before).toBeGreaterThan(5);
      expect(second.requests).toBeGreaterThan(5);
      const cfg = JSON.parse(readFileSync(join(shared, 'config.json'), 'utf8'));
      expect(cfg.environment.endpoints).toEqual([service.url, second.url]);
    } finally {
      await second.close();
    }
  });

  it('runs the smoke config against an HTTP service with the same contract', {
    timeout: 120_000,
  }, async () => {
    const r = await cli(['--config', SMOKE, '--out', out, '--endpoint', service.url, '--no-progress']);
    expect(r.code, explain(r)).toBe(0);
    const rs = rows(out);
    expect(rs).toHaveLength(20);
    expect(rs.filter((x) => x.error)).toEqual([]);
    expect(service.requests).toBeGreaterThan(0);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.environment.mode).toBe('endpoint');
  });

  it('stops cleanly on Ctrl-C, says how to resume, and resumes to the same rows', {
    timeout: 120_000,
  }, async () => {
    const stopped = join(TMP, 'endpoint-stopped');
    const args = ['--config', SMOKE, '--out', stopped, '--endpoint', service.url, '--batch-size', '1'];
    const a = start(args);
    await waitFor(() => lineCount(stopped) >= 3, 'the first rows');
    a.child.kill('SIGINT');
    const ra = await a.done;
    expect(ra.code, explain(ra)).toBe(130);
    expect(ra.stderr).toMatch(/SIGINT: stopping/);
    expect(ra.stderr).toMatch(
      /Resume with:\s+npm run experiment -- --config \S+ --out \S+ --endpoint \S+ --batch-size 1/,
    );
    expect(lineCount(stopped)).toBeLessThan(20);
    // --no-resume refuses a folder with results; the default resumes
    const refused = await cli([...args, '--no-resume']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/already has results/);
    const rb = await cli(args);
    expect(rb.code, explain(rb)).toBe(0);
    expect(rb.stderr).toMatch(/resuming, \d+ done/);
    expect(comparable(stopped)).toEqual(comparable(out));
  });
});

const DIST = join(ROOT, 'dist', 'index.html');
const browserSkip = !existsSync(DIST)
  ? 'no dist/: run `npm run build` before the experiment browser tests'
  : !existsSync(join(ROOT, 'dist', 'models', '0.onnx'))
    ? 'dist/models/0.onnx is missing (weights 0 not trained/built yet)'
    : null;
if (browserSkip) console.warn(`skipping the experiment runner's browser tests: ${browserSkip}`);

describe.skipIf(browserSkip !== null)('experiment CLI: in headless Chromium', () => {
  const full = join(TMP, 'full');
  let fullRun: Run;

  beforeAll(async () => {
    fullRun = await cli(['--config', SMOKE, '--out', full]);
  }, 180_000);

  it('runs the smoke config end to end', () => {
    expect(fullRun.code, explain(fullRun)).toBe(0);
    expect(fullRun.stderr).toMatch(/images\/s/);
    const rs = rows(full);
    expect(rs).toHaveLength(20);
    expect(
      rs.filter((r) => r.error),
      'error rows',
    ).toEqual([]);
    const cfg = JSON.parse(readFileSync(join(full, 'config.json'), 'utf8'));
    expect(cfg.environment.mode).toBe('browser');
    expect(cfg.environment.browser.version).toMatch(/^\d+\./);
    expect(cfg.environment.backend.active).toBe('wasm');
    expect(cfg.environment.models['0'].file_sha256).toMatch(/^[0-9a-f]{64}$/);
    // dist/ is checked by content (dist/build-stamp.json): the build the tests run on is current
    expect(cfg.environment.dist_source_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(fullRun.stderr).not.toMatch(/changed since dist\/ was built|build-stamp/);
    expect(cfg.resolved.indices).toHaveLength(5);
    const csv = readFileSync(join(full, 'summary.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(1 + 4);
    expect(csv[0]).toMatch(
      /^model,attack,n,clean_accuracy,robust_accuracy,success_rate,median_queries,median_l2,median_linf/,
    );
    expect(readFileSync(join(full, 'summary.md'), 'utf8')).toMatch(/\| model \| attack \|/);
    const html = readFileSync(join(full, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/https?:\/\//);
    // randomized model: the EOT success rate over fresh draws is recorded
    expect(
      rs
        .filter((r) => r.model === '0_4' && r.attack === 'none')
        .every((r) => typeof r.eot_success_rate === 'number'),
    ).toBe(true);
  });

  it('a finished run resumed again starts no browser, runs nothing and rewrites its outputs', async () => {
    const before = readFileSync(join(full, 'results.jsonl'), 'utf8');
    rmSync(join(full, 'summary.md'));
    const again = await cli(['--config', SMOKE, '--out', full]);
    expect(again.code, explain(again)).toBe(0);
    expect(again.stderr).toMatch(/all 20 rows are already in \S+, nothing to run/);
    expect(again.stderr).not.toMatch(/Chromium/);
    expect(readFileSync(join(full, 'results.jsonl'), 'utf8')).toBe(before);
    expect(readFileSync(join(full, 'summary.md'), 'utf8')).toMatch(/\| model \| attack \|/);
    // another backend is another run: the full path says so instead of "nothing to run"
    const other = await cli(['--config', SMOKE, '--out', full, '--native']);
    expect(other.code, explain(other)).toBe(2);
    expect(other.stderr).toMatch(/the mode differs \(browser vs native\)\. Use --redo-all/);
    expect(other.stderr).not.toMatch(/--redo-changed/);
  });

  it('library attacks on a randomized model: browser rows (two in flight) agree with native ones, EOT rate included', {
    timeout: 300_000,
  }, async () => {
    const config = join(TMP, 'eot-agree.json');
    writeFileSync(
      config,
      JSON.stringify({
        name: 'eot-agree',
        models: ['0_3'],
        images: { indices: [0, 1, 2] },
        // a minimal-distance attack ends on the boundary, where the defense's draws disagree
        attacks: [{ type: 'hopskipjump', norm: 'l2', max_queries: 150 }],
      }),
    );
    const browser = await cli([
      '--config',
      config,
      '--out',
      join(TMP, 'eot-browser'),
      '--in-flight',
      '2',
      '--no-progress',
    ]);
    expect(browser.code, explain(browser)).toBe(0);
    const native = await cli([
      '--config',
      config,
      '--out',
      join(TMP, 'eot-native'),
      '--native',
      '--no-progress',
    ]);
    expect(native.code, explain(native)).toBe(0);
    const b = rows(join(TMP, 'eot-browser')).filter((r) => r.attack.startsWith('hopskipjump'));
    const n = rows(join(TMP, 'eot-native')).filter((r) => r.attack.startsWith('hopskipjump'));
    expect(b.map((r) => r.index)).toEqual(n.map((r) => r.index));
    let compared = 0;
    for (let i = 0; i < b.length; i++) {
      // the same adversarial image: the same seeded draws judge it (up to a draw flipped by WASM-vs-native
      // rounding); the page worker's own differently seeded figure was off by 0.10 here
      if (b[i].adv === undefined || b[i].adv !== n[i].adv) continue;
      compared++;
      expect(
        Math.abs((b[i].eot_success_rate as number) - (n[i].eot_success_rate as number)),
      ).toBeLessThanOrEqual(0.02);
    }
    expect(compared).toBeGreaterThan(0);
  });

  it('gives the clean predictions onnxruntime-node gives on the same model files', async () => {
    const resolved = resolveConfig(JSON.parse(readFileSync(SMOKE, 'utf8')));
    const set = loadTestSetNode(join(ROOT, 'public', 'data'));
    const engine = createNodeEngine({ modelsDir: join(ROOT, 'dist', 'models') });
    try {
      const inputs = resolved.indices.map((i) => imageInput(set, i));
      const native = await classifyInputs(engine, getModel('0')!, inputs);
      const page = resolved.indices.map(
        (i) => rows(full).find((r) => r.model === '0' && r.attack === 'none' && r.index === i)!.clean_pred,
      );
      expect(page).toEqual(native.preds);
      // the randomized model with the row's seed: the same draw in the page and in Node
      let agree = 0;
      for (const [k, i] of resolved.indices.entries()) {
        const seeded = await classifyInputs(
          engine,
          getModel('0_4')!,
          [inputs[k]],
          cleanSeed(resolved.config.seed, '0_4', i),
        );
        const row = rows(full).find((r) => r.model === '0_4' && r.attack === 'none' && r.index === i)!;
        if (row.clean_pred === seeded.preds[0]) agree++;
      }
      expect(agree).toBeGreaterThanOrEqual(resolved.indices.length - 1);
    } finally {
      await engine.release();
    }
  });

  it('resumes a killed shard (SIGKILL) and merges the shards into the unsharded result', {
    timeout: 420_000,
  }, async () => {
    const resolved = resolveConfig(JSON.parse(readFileSync(SMOKE, 'utf8')));
    const s1 = join(TMP, 'shard1');
    const s2 = join(TMP, 'shard2');
    // --batch-size 1: one image per request, so rows trickle in and the kill lands midway
    const args1 = ['--config', SMOKE, '--out', s1, '--shard', '1/2', '--batch-size', '1'];
    // 1. killed hard after the first rows (a partial last line, if any, is dropped on resume)
    const a = start(args1);
    await waitFor(() => lineCount(s1) >= 2, 'the first rows');
    a.child.kill('SIGKILL');
    const ra = await a.done;
    expect(ra.signal).toBe('SIGKILL');
    expect(lineCount(s1)).toBeLessThan(10);
    // 2. resumed to the end (the config comes from the folder's config.json): the same rows as the
    //    uninterrupted, unsharded run, timings aside
    const rc = await cli(['--out', s1, '--shard', '1/2', '--batch-size', '1']);
    expect(rc.code, explain(rc)).toBe(0);
    expect(rc.stderr).toMatch(/resuming, \d+ done/);
    expect(lineCount(s1)).toBe(10); // nothing twice
    const mine = new Set(
      shardWork(enumerateWork(resolved), { index: 1, total: 2 }).map(
        (w) => `${w.model}|${w.attack.key}|${w.index}`,
      ),
    );
    const fullShard1 = rows(full)
      .filter((r) => mine.has(`${r.model}|${r.attack}|${r.index}`))
      .map(({ ms: _ms, ...rest }) => JSON.stringify(rest))
      .sort();
    expect(comparable(s1)).toEqual(fullShard1);

    // 3. the other shard, then the merge equals the unsharded run
    const r2 = await cli(['--config', SMOKE, '--out', s2, '--shard', '2/2', '--no-progress']);
    expect(r2.code, explain(r2)).toBe(0);
    expect(lineCount(s2)).toBe(10);
    const merged = join(TMP, 'merged');
    const m = await merge([s1, s2, '--out', merged]);
    expect(m.code, explain(m)).toBe(0);
    expect(comparable(merged)).toEqual(comparable(full));
    expect(readFileSync(join(merged, 'summary.csv'), 'utf8')).toBe(
      readFileSync(join(full, 'summary.csv'), 'utf8'),
    );
    expect(readFileSync(join(merged, 'report.html'), 'utf8')).toContain('<svg');
    // the killed run's lock was taken over by the resume and released at its end
    expect(existsSync(join(s1, '.experiment.lock'))).toBe(false);
    // an earlier merge's folder may be merged into again; a run's own folder never (its rows would go)
    expect((await merge([s1, s2, '--out', merged])).code).toBe(0);
    const before = readFileSync(join(full, 'results.jsonl'), 'utf8');
    const intoRun = await merge([s1, s2, '--out', full]);
    expect(intoRun.code).toBe(2);
    expect(intoRun.stderr).toMatch(/holds the files of a run, not of an earlier merge/);
    expect(readFileSync(join(full, 'results.jsonl'), 'utf8')).toBe(before);

    // one shard alone merges with a warning and exit code 3
    const partial = await merge([s2, '--out', join(TMP, 'partial')]);
    expect(partial.code).toBe(3);
    expect(partial.stderr).toMatch(/10 of 20 rows are missing \(from shard 1\/2\)/);
  });
});
