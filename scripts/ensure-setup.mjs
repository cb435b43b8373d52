#!/usr/bin/env node
/**
 * First-run set-up shared by `npm start` and `npm test`, so both work on a fresh clone:
 * - installs npm dependencies when node_modules is missing or older than package-lock.json;
 * - with --browser: finds a Chromium for Playwright (CHROMIUM_PATH, then /usr/bin/chromium, then
 *   Playwright's own build) and installs Debian's `chromium` when none is found and we are root;
 * - with --python: makes sure Debian's PyTorch and Fashion-MNIST are there for the training tests.
 * Anything it cannot do itself stops with the exact command to run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
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
      execFileSync(py, ['-c', 'import torch, torchvision, onnx, PIL, numpy, requests'], { stdio: 'ignore' });
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
  if (!existsSync('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz') && !process.env.FMNIST_DIR) {
    aptInstall(['dataset-fashion-mnist'], 'Fashion-MNIST is not installed');
  }
}
