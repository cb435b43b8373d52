/**
 * The service runs from a production install: `npm ci --omit=dev` in a scratch copy holding only
 * what the Dockerfile copies (package files, server/, src/, public/models), then the server started
 * with the Dockerfile's command. It fails when a run-time package sits in devDependencies or the
 * server reaches outside those folders (tools/, test/).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServeProcess } from '../../tools/lib/serve-process';

const scratch = mkdtempSync(join(tmpdir(), 'playground-prod-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('a production install (npm ci --omit=dev)', () => {
  it('serves /ready and /0/score with the Dockerfile command', { timeout: 300_000 }, async () => {
    for (const f of ['package.json', 'package-lock.json', 'server', 'src', join('public', 'models')])
      cpSync(f, join(scratch, f), { recursive: true });
    const ci = spawnSync('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: scratch,
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(ci.status, `${ci.stdout}\n${ci.stderr}`).toBe(0);
    expect(`${ci.stdout}${ci.stderr}`).not.toMatch(/npm warn/i);
    const server = await startServeProcess(['--models', '0', '--workers', '1'], 120_000, [], scratch);
    try {
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
      const r = await fetch(`${server.url}/0/score`, {
        method: 'POST',
        body: JSON.stringify({
          image: Buffer.alloc(784).toString('base64'),
          image_size: [28, 28],
          channel: 1,
        }),
      });
      expect(r.status).toBe(200);
      expect(((await r.json()) as { data: number[] }).data).toHaveLength(10);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
