/**
 * Stopping `npm run serve` as users do, through npm (not a direct signal to the server):
 * - Ctrl-C reaches the whole process group (npm, the set-up script, the server) once: the server
 *   drains and exits 0, instead of counting a second SIGINT and exiting 130 without the drain;
 * - SIGTERM to the whole group (as timeout(1) and systemd send it) reaches the server twice, directly
 *   and passed on by the set-up script: it still drains once;
 * - `npm run serve &` then `kill $!` (SIGTERM to npm alone): the server drains and exits too, and
 *   its port is free, instead of an orphan holding it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../tools/lib/serve-process';

const started: ChildProcess[] = [];
afterAll(() => {
  for (const c of started) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // the group has exited
    }
  }
});

/** `npm run serve` in a process group of its own; resolves once /ready answers 200. */
async function npmServe(
  port: number,
): Promise<{ npm: ChildProcess; log: () => string; closed: Promise<void> }> {
  const npm = spawn(
    'npm',
    ['run', 'serve', '--', '--port', String(port), '--models', '0', '--workers', '1'],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  started.push(npm);
  let out = '';
  npm.stdout!.on('data', (d) => (out += d));
  npm.stderr!.on('data', (d) => (out += d));
  // stdout closes when the last process holding it (the server) has exited
  const closed = new Promise<void>((r) => npm.stdout!.on('close', () => r()));
  for (let t = 0; t < 240; t++) {
    const ok = await fetch(`http://127.0.0.1:${port}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { npm, log: () => out, closed };
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`npm run serve did not become ready:\n${out}`);
}

const portFree = (port: number) =>
  fetch(`http://127.0.0.1:${port}/health`).then(
    () => false,
    () => true,
  );

describe('stopping npm run serve', () => {
  it('Ctrl-C (SIGINT to the process group) drains once', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const { npm, log, closed } = await npmServe(port);
    process.kill(-npm.pid!, 'SIGINT');
    await closed;
    expect(log()).toMatch(/SIGINT: finishing the requests in flight, then exiting/);
    expect(log()).not.toMatch(/again: exiting without waiting/);
    expect(await portFree(port)).toBe(true);
  });

  it('SIGTERM to the process group (timeout, systemd) drains once, though it arrives twice', {
    timeout: 120_000,
  }, async () => {
    const port = await freePort();
    const { npm, log, closed } = await npmServe(port);
    process.kill(-npm.pid!, 'SIGTERM');
    await closed;
    expect(log()).toMatch(/SIGTERM: finishing the requests in flight, then exiting/);
    expect(log()).not.toMatch(/again: exiting without waiting/);
    expect(await portFree(port)).toBe(true);
  });

  it('SIGTERM to npm alone (kill $! after npm run serve &) stops the server too', {
    timeout: 120_000,
  }, async () => {
    const port = await freePort();
    const { npm, log, closed } = await npmServe(port);
    process.kill(npm.pid!, 'SIGTERM');
    await closed;
    expect(log()).toMatch(/SIGTERM: finishing the requests in flight, then exiting/);
    expect(await portFree(port)).toBe(true);
  });
});
