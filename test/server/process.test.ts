/**
 * `npm run serve` as a process on 127.0.0.1: the Python client example against it, a bounded load
 * test with a real load generator (autocannon: 20 s, 32 connections, mixed routes, 10 % malformed
 * requests), and graceful shutdown on SIGTERM with requests in flight.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import autocannon from 'autocannon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../src/core/base64';
import { imageAt } from '../../src/data/idx';
import { rssMiB, type ServeProcess, startServeProcess } from '../../tools/lib/serve-process';
import { loadTestSetNode } from '../../tools/lib/test-set-node';

const testSet = loadTestSetNode();
const gray = (i: number) => ({ image: encodeBase64(imageAt(testSet, i)), image_size: [28, 28], channel: 1 });
const live = new Set<ChildProcess>();
afterAll(() => {
  for (const c of live) c.kill('SIGKILL');
});

async function serve(args: string[] = []): Promise<ServeProcess> {
  const server = await startServeProcess(args);
  live.add(server.child);
  void server.exited.then(() => live.delete(server.child));
  return server;
}

describe('npm run serve -- --gradients as a process', () => {
  it('examples/python/pgd.py (numpy + requests) runs PGD-20 through /gradient and leaves 0 at most 1/20 correct', {
    timeout: 180_000,
  }, async () => {
    const server = await serve(['--gradients', '--models', '0', '--workers', '1']);
    try {
      const r = spawnSync('/usr/bin/python3', ['examples/python/pgd.py', '--url', server.url, '--n', '20'], {
        encoding: 'utf8',
      });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/step 20: mean cross-entropy/);
      const m =
        /clean accuracy (\d+)\/20, after PGD-20 \(L-inf eps 0\.1, max \|delta\| ([\d.]+)\) (\d+)\/20/.exec(
          r.stdout,
        );
      expect(m, r.stdout).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThanOrEqual(17);
      expect(Number(m![2])).toBeLessThanOrEqual(0.1);
      expect(Number(m![3])).toBeLessThanOrEqual(1);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});

/**
 * IBM ART is not on this machine's package lists (no PyPI): the test runs where `import art` works
 * (installed, or its source on PYTHONPATH, e.g. ART_SRC=<checkout>), and otherwise says why not.
 */
const artPath = [process.env.ART_SRC, process.env.PYTHONPATH].filter(Boolean).join(':');
const artProbe = spawnSync('/usr/bin/python3', ['-c', 'import art, scipy, sklearn; print(art.__version__)'], {
  encoding: 'utf8',
  env: { ...process.env, PYTHONPATH: artPath },
});
const artVersion = artProbe.status === 0 ? artProbe.stdout.trim() : null;
const artWhy = artVersion
  ? `ART ${artVersion}`
  : `skipped: ART is not importable here (${(artProbe.stderr.trim().split('\n').pop() ?? '').slice(0, 120)}); set ART_SRC to its source`;

if (!artVersion) console.warn(`examples/python/art_blackbox.py: ${artWhy}`);

describe('IBM ART against npm run serve', () => {
  it.skipIf(!artVersion)(
    `examples/python/art_blackbox.py: Square within 25 gray levels, queries counted (${artWhy})`,
    {
      timeout: 300_000,
    },
    async () => {
      const server = await serve(['--models', '0_1', '--workers', '1']);
      try {
        const r = spawnSync(
          '/usr/bin/python3',
          [
            'examples/python/art_blackbox.py',
            '--url',
            server.url,
            '--model',
            '0_1',
            '--n',
            '5',
            '--max-iter',
            '50',
          ],
          { encoding: 'utf8', env: { ...process.env, PYTHONPATH: artPath } },
        );
        expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
        const m = /robust accuracy ([\d.]+) .*largest change (\d+) gray levels\); (\d+) queries/.exec(
          r.stdout,
        );
        expect(m, r.stdout).not.toBeNull();
        expect(Number(m![2])).toBeLessThanOrEqual(25);
        // each iteration asks for all 5 images and two per robust one: more than 50 per image
        expect(Number(m![3])).toBeGreaterThan(5 * 50);
      } finally {
        server.child.kill('SIGTERM');
        await server.exited;
      }
    },
  );
});

describe('npm run serve as a process', () => {
  let server: ServeProcess;
  beforeAll(async () => {
    server = await serve();
  }, 120_000);
  afterAll(() => server?.child.kill('SIGKILL'));

  it('examples/python/client.py (requests + numpy) runs against it', { timeout: 120_000 }, () => {
    const r = spawnSync('/usr/bin/python3', ['examples/python/client.py', '--url', server.url, '--n', '8'], {
      encoding: 'utf8',
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/15 models/);
    expect(r.stdout).toMatch(/\/decision: \d\/8 correct/);
    expect(r.stdout).toMatch(/batch \/score: 8 images in one request/);
    expect(r.stdout).toMatch(/bad request: 400/);
  });

  it('examples/python/pgd.py against a service without --gradients says how to turn the route on', {
    timeout: 60_000,
  }, () => {
    const r = spawnSync('/usr/bin/python3', ['examples/python/pgd.py', '--url', server.url, '--n', '2'], {
      encoding: 'utf8',
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(r.stderr).toMatch(/^\/gradient: HTTP 404 .*npm run serve -- --gradients/);
  });

  it('examples/python/client.py with a model the service lacks prints its JSON error and exits 1', {
    timeout: 60_000,
  }, () => {
    const r = spawnSync(
      '/usr/bin/python3',
      ['examples/python/client.py', '--url', server.url, '--model', '9'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(r.stderr).toMatch(
      /^\/decision: HTTP 404 from http:\S+\/9\/decision: unknown model "9"; the models are 0, /,
    );
    expect(r.stderr).not.toMatch(/Traceback/);
  });

  it('20 s at 32 connections over mixed routes with 10 % malformed requests: every answer JSON, no 5xx, RSS bounded', {
    timeout: 120_000,
  }, async () => {
    const good = [
      ['/0/decision', gray(0)],
      ['/0/1/score', gray(1)],
      ['/2/decision', gray(2)],
      ['/5/score', gray(3)],
      ['/0_3/decision', gray(4)],
      ['/2/4/score', gray(5)],
      ['/5/2/decision', gray(6)],
      ['/0/2/score', gray(7)],
      ['/2_1/decision', gray(8)],
    ] as const;
    const bad = ['{"image": ', JSON.stringify({ ...gray(0), channel: 7 }), JSON.stringify(gray(0))];
    const badPaths = ['/0/decision', '/0/score', '/7/decision'];
    const tally = { good: 0, bad: 0, nonJson: 0, good5xx: 0, goodNot200: 0, badNot4xx: 0, badNoError: 0 };
    const requests = [
      ...good.map(([path, body]) => ({
        method: 'POST' as const,
        path,
        body: JSON.stringify(body),
        onResponse: (status: number, text: string) => {
          tally.good++;
          try {
            JSON.parse(text);
          } catch {
            tally.nonJson++;
          }
          if (status >= 500) tally.good5xx++;
          if (status !== 200) tally.goodNot200++;
        },
      })),
      {
        method: 'POST' as const,
        setupRequest: (req: Record<string, unknown>, ctx: Record<string, number>) => {
          ctx.k = ((ctx.k ?? -1) + 1) % bad.length;
          return { ...req, path: badPaths[ctx.k], body: bad[ctx.k] };
        },
        onResponse: (status: number, text: string) => {
          tally.bad++;
          try {
            if (typeof (JSON.parse(text) as { error?: unknown }).error !== 'string') tally.badNoError++;
          } catch {
            tally.nonJson++;
          }
          if (status < 400 || status >= 500) tally.badNot4xx++;
        },
      },
    ];
    const pid = server.child.pid!;
    const before = rssMiB(pid);
    const result = await autocannon({
      url: server.url,
      connections: 32,
      duration: 20,
      requests: requests as autocannon.Request[],
    });
    const after = rssMiB(pid);
    console.log(
      `load test: ${tally.good + tally.bad} requests (${tally.bad} malformed) in 20 s, ${result.requests.average} req/s, ` +
        `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, RSS ${before.toFixed(0)} → ${after.toFixed(0)} MiB`,
    );
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(tally.good + tally.bad).toBeGreaterThan(1000);
    expect(tally.bad / (tally.good + tally.bad)).toBeCloseTo(0.1, 1);
    expect(tally.nonJson).toBe(0);
    expect(tally.good5xx).toBe(0);
    expect(tally.goodNot200).toBe(0);
    expect(tally.badNot4xx).toBe(0);
    expect(tally.badNoError).toBe(0);
    // measured here: ~20–60 MiB of growth while the 9 sessions' arenas warm up under 32 connections
    expect(after - before).toBeLessThan(200);
    // and it still answers
    const res = await fetch(`${server.url}/0/decision`, { method: 'POST', body: JSON.stringify(gray(0)) });
    expect(res.status).toBe(200);
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM with requests in flight: each gets its answer, then the process exits 0', {
    timeout: 180_000,
  }, async () => {
    const server = await serve(['--models', '2']);
    const body = JSON.stringify({ batch: Array.from({ length: 400 }, (_, i) => gray(i)) });
    const inFlight = Array.from({ length: 6 }, () =>
      fetch(`${server.url}/2/decision`, { method: 'POST', body }).then(async (r) => ({
        status: r.status,
        n: ((await r.json()) as { data: unknown[] }).data.length,
      })),
    );
    await new Promise((r) => setTimeout(r, 300));
    server.child.kill('SIGTERM');
    const answers = await Promise.all(inFlight);
    expect(answers).toEqual(new Array(6).fill({ status: 200, n: 400 }));
    expect(await server.exited).toBe(0);
    expect(server.log()).toMatch(/SIGTERM: finishing the requests in flight/);
    await expect(fetch(`${server.url}/`)).rejects.toThrow();
  });
});
