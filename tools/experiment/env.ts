/** Provenance for config.json: git commit, machine, and the sha256 of the model files used. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { join } from 'node:path';
import { getModel } from '../../src/core/models';

export interface GitInfo {
  commit: string | null;
  /** uncommitted changes in the working tree */
  dirty: boolean | null;
}

export function gitInfo(cwd = process.cwd()): GitInfo {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return { commit, dirty: status.trim() !== '' };
  } catch {
    return { commit: null, dirty: null };
  }
}

export function machineInfo() {
  const c = cpus();
  return {
    node: process.version,
    os: `${platform()} ${release()}`,
    cpu: c[0]?.model ?? null,
    cores: c.length,
  };
}

export interface ModelFileInfo {
  weights: string;
  /** sha256 the manifest lists for this weight set */
  manifest_sha256: string | null;
  /** sha256 of the file itself (null when it is missing) */
  file_sha256: string | null;
}

const hashCache = new Map<string, string>();

function sha256(path: string): string {
  let h = hashCache.get(path);
  if (!h) {
    h = createHash('sha256').update(readFileSync(path)).digest('hex');
    hashCache.set(path, h);
  }
  return h;
}

/** Per model ID: its weight set and the sha256 values from `<dir>/manifest.json` and the file. */
export function modelFiles(modelsDir: string, models: readonly string[]): Record<string, ModelFileInfo> {
  let manifest: { weights?: Record<string, { sha256?: string }> } | null = null;
  const mpath = join(modelsDir, 'manifest.json');
  if (existsSync(mpath)) {
    try {
      manifest = JSON.parse(readFileSync(mpath, 'utf8'));
    } catch {
      manifest = null;
    }
  }
  const out: Record<string, ModelFileInfo> = {};
  for (const id of models) {
    const weights = getModel(id)?.weights ?? id;
    const file = join(modelsDir, `${weights}.onnx`);
    out[id] = {
      weights,
      manifest_sha256: manifest?.weights?.[weights]?.sha256 ?? null,
      file_sha256: existsSync(file) ? sha256(file) : null,
    };
  }
  return out;
}
