#!/usr/bin/env node
// `npm run train -- --id 2_1 [--seed 0] [--epochs N] ...` → `python -m training train ...`
import { spawnSync } from 'node:child_process';

const setup = spawnSync('node', ['scripts/ensure-setup.mjs', '--python'], { stdio: 'inherit' });
if (setup.status !== 0) process.exit(setup.status ?? 1);
const py = process.env.PYTHON ?? '/usr/bin/python3';
const r = spawnSync(py, ['-m', 'training', 'train', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
