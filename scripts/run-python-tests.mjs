#!/usr/bin/env node
// The training smoke test lives in vitest (test/training/*.test.ts); this wrapper only makes sure
// PyTorch and the data set are there first.
import { spawnSync } from 'node:child_process';

const setup = spawnSync('node', ['scripts/ensure-setup.mjs', '--python'], { stdio: 'inherit' });
if (setup.status !== 0) process.exit(setup.status ?? 1);
const r = spawnSync(
  'node',
  ['--import', './scripts/node20-polyfills.mjs', 'node_modules/vitest/vitest.mjs', 'run', 'test/training'],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
