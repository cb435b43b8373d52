/**
 * The one place that finds Chromium and starts "vite preview of dist/ + headless Chromium", for
 * the Playwright config, the experiment runner's browser backend, the benchmarks and the
 * screenshot tool.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, LaunchOptions } from 'playwright-core';
import { freePort } from './serve-process';

/** Chromium flags for every headless run here (WebGPU runs add `--enable-unsafe-webgpu`). */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** CHROMIUM_PATH, then Debian's /usr/bin/chromium (Playwright cannot download its own here). */
export function findChromium(): string | undefined {
  return [process.env.CHROMIUM_PATH, '/usr/bin/chromium'].find((p): p is string =>
    Boolean(p && existsSync(p)),
  );
}

export class NoBrowserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoBrowserError';
  }
}

/** Headless Chromium with CHROMIUM_ARGS (plus WebGPU when asked); throws NoBrowserError if none is installed. */
export async function launchChromium(
  opts: { webgpu?: boolean } & Omit<LaunchOptions, 'executablePath' | 'args'> = {},
): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath)
    throw new NoBrowserError(
      'no Chromium found: set CHROMIUM_PATH or install /usr/bin/chromium (Debian package `chromium`)',
    );
  const { webgpu, ...rest } = opts;
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    ...rest,
    executablePath,
    args: [...CHROMIUM_ARGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : [])],
  });
}

export interface Preview {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * `vite preview` of the production build in `<root>/dist` on 127.0.0.1 (a free port unless one is
 * given). Throws NoBrowserError when there is no build.
 */
export async function startPreview(opts: { root?: string; port?: number } = {}): Promise<Preview> {
  const root = opts.root ?? process.cwd();
  if (!existsSync(join(root, 'dist', 'index.html')))
    throw new NoBrowserError('no production build in dist/: run `npm run build` first');
  const port = opts.port ?? (await freePort());
  const { preview } = await import('vite');
  const server = await preview({
    root,
    logLevel: 'error',
    preview: { port, strictPort: true, host: '127.0.0.1', open: false },
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () => new Promise<void>((resolve) => server.httpServer.close(() => resolve())),
  };
}

/** startPreview and launchChromium together; `close` stops both. */
export async function startPreviewBrowser(
  opts: { root?: string; port?: number; webgpu?: boolean } = {},
): Promise<Preview & { browser: Browser }> {
  const server = await startPreview(opts);
  let browser: Browser;
  try {
    browser = await launchChromium({ webgpu: opts.webgpu });
  } catch (e) {
    await server.close();
    throw e;
  }
  return {
    ...server,
    browser,
    close: async () => {
      await browser.close().catch(() => {});
      await server.close();
    },
  };
}
