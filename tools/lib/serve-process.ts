/**
 * `npm run serve` as a child process on a free loopback port, for tests, e2e specs and benchmarks:
 * started, waited for until GET / says every model is ready, with its log kept.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** everything it printed so far (its JSON access log among it) */
  log(): string;
  /** its exit code, once it has exited */
  exited: Promise<number | null>;
}

/**
 * Starts `server/cli.ts` with `args` (plus `--port`) and resolves once GET / reports `ready`.
 * @param nodeArgs options for node itself (e.g. `--max-old-space-size=192`)
 * @param cwd the folder to start it in (a copy of the project)
 * @throws Error with the server's output when it is not ready within `timeoutMs`
 */
export async function startServeProcess(
  args: string[] = [],
  timeoutMs = 120_000,
  nodeArgs: string[] = [],
  cwd = process.cwd(),
): Promise<ServeProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', 'server/cli.ts', '--port', String(port), ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd,
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (child.exitCode !== null) break;
    try {
      const root = (await (await fetch(`${url}/`)).json()) as { ready: boolean };
      if (root.ready) return { child, url, log: () => out, exited };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`npm run serve did not become ready:\n${out}`);
}

/** Resident set size of a process, in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}
