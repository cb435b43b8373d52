/**
 * A soak test, bounded in time (20 s of load, a watchdog on every client): `npm run serve` with
 * 2 inference workers serves good clients (autocannon, 8 connections, models 0 and 0_3) while
 * hostile ones run beside them, over loopback:
 * - the time bomb (timebomb-loop.onnx) every 2 s, each run stopped at the 2 s limit;
 * - images that make failsome.onnx fail, mixed into its good requests;
 * - JSON bombs (3 MB of `[],`), bodies over --max-body, bodies that trickle past --body-timeout.
 * Asserted: the server never dies, good clients get 0 non-2xx (no 5xx among them), every hostile
 * request gets its own error, and the resident memory of the server and its workers stays bounded.
 */
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../src/core/base64';
import { imageAt } from '../../src/data/idx';
import { rssMiB, type ServeProcess, startServeProcess } from '../../tools/lib/serve-process';
import { loadTestSetNode } from '../../tools/lib/test-set-node';

const HOSTILE = join(process.cwd(), 'test', 'fixtures', 'hostile');
const testSet = loadTestSetNode();
const body = (px: Uint8Array) =>
  JSON.stringify({ image: encodeBase64(px), image_size: [28, 28], channel: 1 });
const pixel0 = (i: number, v: number) => {
  const px = Uint8Array.from(imageAt(testSet, i));
  px[0] = v;
  return body(px);
};

/** Resident memory of a process and its children, in MiB. */
function treeRss(pid: number): number {
  let kids: number[] = [];
  try {
    kids = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map(Number);
  } catch {
    // no children (pgrep exits 1)
  }
  const rss = (p: number) => {
    try {
      return rssMiB(p) || 0;
    } catch {
      return 0; // exited meanwhile (a worker replaced)
    }
  };
  return rss(pid) + kids.reduce((s, k) => s + rss(k), 0);
}

/** A body that trickles one byte every 200 ms until the server closes the connection. */
function trickle(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const drip = setInterval(() => s.write('{'), 200);
    const watchdog = setTimeout(() => s.destroy(), 10_000);
    s.on('connect', () => s.write('POST /0/score HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n'));
    s.on('data', (d) => {
      got += d;
    });
    s.on('close', () => {
      clearInterval(drip);
      clearTimeout(watchdog);
      resolve(got.split('\r\n')[0]);
    });
    s.on('error', () => {});
  });
}

async function post(url: string, text: string): Promise<number> {
  try {
    const r = await fetch(url, { method: 'POST', body: text, signal: AbortSignal.timeout(15_000) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return -1;
  }
}

describe('soak: good and hostile clients together', () => {
  let server: ServeProcess;
  beforeAll(async () => {
    server = await startServeProcess([
      '--models',
      '0,0_3',
      '--workers',
      '2',
      '--threads',
      '1',
      '--run-timeout',
      '2',
      '--body-timeout',
      '2',
      '--max-body',
      String(8 * 2 ** 20),
      '--log-level',
      'warn',
      '--model',
      join(HOSTILE, 'timebomb-loop.onnx'),
      '--model',
      join(HOSTILE, 'failsome.onnx'),
    ]);
  }, 180_000);
  afterAll(() => server?.child.kill('SIGKILL'));

  it('20 s: 0 non-2xx to good clients, each hostile request its own error, RSS bounded', {
    timeout: 120_000,
  }, async () => {
    const pid = server.child.pid!;
    const port = Number(new URL(server.url).port);
    const before = treeRss(pid);
    const hostile: Record<string, number[]> = { timebomb: [], failsome: [], jsonBomb: [], tooLarge: [] };
    const trickles: Promise<string>[] = [];
    let stop = false;
    const bomb = `{"image":"x","pad":[${'[],'.repeat(1e6)}0]}`;
    const hostileLoop = (async () => {
      for (let k = 0; !stop; k++) {
        if (k % 4 === 0)
          hostile.timebomb.push(
            await post(`${server.url}/custom/timebomb-loop/score`, body(imageAt(testSet, k))),
          );
        hostile.failsome.push(await post(`${server.url}/custom/failsome/score`, pixel0(k, 255)));
        hostile.jsonBomb.push(await post(`${server.url}/0/score`, bomb));
        hostile.tooLarge.push(await post(`${server.url}/0/score`, 'x'.repeat(9 * 2 ** 20)));
        if (k % 4 === 1) trickles.push(trickle(port));
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const good = await autocannon({
      url: server.url,
      connections: 8,
      duration: 20,
      requests: [
        { method: 'POST', path: '/0/score', body: body(imageAt(testSet, 0)) },
        { method: 'POST', path: '/0_3/decision', body: body(imageAt(testSet, 1)) },
        { method: 'POST', path: '/custom/failsome/score', body: pixel0(2, 100) },
      ] as autocannon.Request[],
    });
    stop = true;
    await hostileLoop;
    const trickled = await Promise.all(trickles);
    const after = treeRss(pid);
    console.log(
      `soak: ${good.requests.total} good requests (${good.requests.average} req/s, p99 ${good.latency.p99} ms), ` +
        `hostile ${JSON.stringify(Object.fromEntries(Object.entries(hostile).map(([k, v]) => [k, v.length])))} + ${trickled.length} trickled; ` +
        `RSS (server + workers) ${before.toFixed(0)} → ${after.toFixed(0)} MiB`,
    );
    expect(server.child.exitCode, server.log().slice(-3000)).toBeNull();
    expect(good.requests.total).toBeGreaterThan(500);
    expect([good.non2xx, good.errors, good.timeouts]).toEqual([0, 0, 0]);
    expect(new Set(hostile.timebomb)).toEqual(new Set([503]));
    expect(new Set(hostile.failsome)).toEqual(new Set([500]));
    expect(new Set(hostile.jsonBomb)).toEqual(new Set([400]));
    // 413 is sent while the client is still uploading: some clients see the reset first (-1)
    expect(hostile.tooLarge).toContain(413);
    expect(hostile.tooLarge.every((s) => s === 413 || s === -1)).toBe(true);
    for (const t of trickled) expect(t).toBe('HTTP/1.1 408 Request Timeout');
    expect(after).toBeLessThan(before + 600);
    expect(await post(`${server.url}/0/decision`, body(imageAt(testSet, 3)))).toBe(200);
  });
});
