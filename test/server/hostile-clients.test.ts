/**
 * `npm run serve` as a process against hostile clients, with the handed scripts of
 * test/fixtures/hostile/ scaled down (loopback only; each script has its own watchdog):
 * - mem-bodies.mjs: 8 clients send a 22 MB body each (without the budget, the server dies of a heap OOM) and release their last bytes together, against
 *   a server whose V8 heap is capped at 192 MiB; the body budget (a quarter of the heap limit by
 *   default) answers some 503 with Retry-After, every client gets an answer, the server lives;
 * - json-bomb.mjs: 9 MB of `[],` in an ignored field is refused without being parsed, and
 *   /0/decision keeps answering meanwhile;
 * - a client that trickles its body is answered and cut off at --body-timeout, not 30 s later.
 * Then /health, /ready and /metrics report what happened.
 */
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rssMiB, type ServeProcess, startServeProcess } from '../../tools/lib/serve-process';

const HOSTILE = join(process.cwd(), 'test', 'fixtures', 'hostile');

function script(name: string, args: (string | number)[]) {
  const r = spawnSync(process.execPath, [join(HOSTILE, name), ...args.map(String)], {
    encoding: 'utf8',
    timeout: 150_000,
  });
  return `${r.stdout}${r.stderr}`;
}

describe('npm run serve against hostile clients (heap capped at 192 MiB)', () => {
  let server: ServeProcess;
  let port: number;
  beforeAll(async () => {
    server = await startServeProcess(
      ['--models', '0', '--workers', '1', '--threads', '1', '--body-timeout', '8', '--log-level', 'warn'],
      120_000,
      ['--max-old-space-size=192'],
    );
    port = Number(new URL(server.url).port);
  }, 150_000);
  afterAll(() => server?.child.kill('SIGKILL'));

  it('mem-bodies.mjs: 8 concurrent 22 MB bodies are answered (some 503 + Retry-After), and the server lives', {
    timeout: 160_000,
  }, async () => {
    const out = script('mem-bodies.mjs', [port, server.child.pid!, 8, '/0/decision', 4096, 64]);
    const done = /done: (\{.*\}); peak server RSS (\d+) MiB; .*server alive/.exec(out);
    expect(done, out).not.toBeNull();
    const byStatus = JSON.parse(done![1]) as Record<string, number>;
    // every client got an HTTP answer: 200 or the budget's 503, nothing else
    expect(Object.keys(byStatus).sort(), out).toEqual([
      'HTTP/1.1 200 OK',
      'HTTP/1.1 503 Service Unavailable',
    ]);
    expect(byStatus['HTTP/1.1 503 Service Unavailable']).toBeGreaterThanOrEqual(1);
    expect(out).toMatch(
      /example non-200: HTTP\/1\.1 503 .*"error":"the server is holding \d+ bytes of request bodies/,
    );
    expect(Number(done![2])).toBeLessThan(1024);
    const after = await fetch(`${server.url}/0/decision`, {
      method: 'POST',
      body: JSON.stringify({ image: Buffer.alloc(784).toString('base64'), image_size: [28, 28], channel: 1 }),
    });
    expect(after.status).toBe(200);
  });

  it('json-bomb.mjs: 9 MB of empty arrays is refused unparsed while /0/decision keeps answering', {
    timeout: 60_000,
  }, () => {
    const out = script('json-bomb.mjs', [port, server.child.pid!, 9, 'arrays']);
    const bomb = /bomb: (\d+) after (\d+) ms (.*)/.exec(out);
    expect(bomb, out).not.toBeNull();
    expect(bomb![1]).toBe('400');
    expect(bomb![3]).toMatch(/more than \d+ JSON arrays, objects, keys and list items/);
    expect(Number(bomb![2])).toBeLessThan(2000);
    const slowest = /slowest (-?\w+) ms/.exec(out);
    if (slowest && slowest[1] !== '-Infinity') expect(Number(slowest[1])).toBeLessThan(1000);
  });

  it('a body that trickles in is answered 408 and cut off at --body-timeout', {
    timeout: 30_000,
  }, async () => {
    const t0 = Date.now();
    const answer = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1');
      let got = '';
      const drip = setInterval(() => s.write('{'), 200);
      s.on('connect', () => s.write('POST /0/score HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n'));
      s.on('data', (d) => {
        got += d;
      });
      s.on('close', () => {
        clearInterval(drip);
        resolve(got);
      });
      s.on('error', () => {});
    });
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(7900);
    expect(ms).toBeLessThan(12000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain('"error":"the request body did not arrive within 8 s"');
  });

  it('/health, /ready and /metrics report the service and what it refused', async () => {
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      ready: true,
      weights: { '0': expect.objectContaining({ state: 'ready' }) },
    });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(
      /playground_http_requests_total\{route="\/0\/decision",method="POST",status="200"\} [1-9]/,
    );
    expect(text).toMatch(/playground_bodies_rejected_total\{reason="budget"\} [1-9]/);
    expect(text).toMatch(/playground_bodies_rejected_total\{reason="timeout"\} [1-9]/);
    expect(text).toMatch(/playground_batch_size_count [1-9]/);
    expect(text).toMatch(/playground_queue_depth 0/);
    expect(text).toMatch(/playground_worker_restarts_total 0/);
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
    expect(rssMiB(server.child.pid!)).toBeLessThan(1024);
  });
});
