/**
 * config.json (resolved config + environment) and the derived outputs (summary.csv, summary.md,
 * report.html) of a run or a merge.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TestSet } from '../../src/data/idx';
import { UsageError } from './backends';
import type { ExperimentConfig, ResolvedConfig, ResolvedSet, Shard } from './config';
import { FILES, readJson, repairResults, supersedeRows, writeAtomic } from './files';
import { REPORTERS, type ReportInput } from './reporters';
import type { ResultRow } from './rows';
import { latestRows, summarize } from './summary';

export interface ConfigFile {
  format: 1;
  /** the config as validated (defaults filled in) */
  config: ExperimentConfig;
  resolved: {
    models: string[];
    indices: number[];
    /** adversarial image sets (absent: the clean test set) */
    sets?: ResolvedSet[];
    attacks: {
      key: string;
      type: string;
      params: Record<string, string | number>;
      library?: { key: string; options?: unknown; resolved?: unknown };
    }[];
    /** rows of the whole experiment */
    work_items: number;
    /** rows of this output (its shard's share) */
    planned_items: number;
  };
  shard: Shard | null;
  created: string;
  environment: Record<string, unknown>;
  /**
   * rows moved to superseded.jsonl by --redo-changed: of models whose weight file changed, or of
   * attacks whose resolved parameters changed (new library defaults)
   */
  redone?: {
    at: string;
    models?: string[];
    attacks?: { key: string; was: string | null; now: string | null }[];
    /** --redo-all: every earlier row, with why and the earlier run's environment */
    all?: { reason: string; previous_created: string; previous_environment: Record<string, unknown> };
    rows_superseded: number;
    sha256?: Record<string, string | null>;
  }[];
  /** merge outputs: where the rows came from */
  merged_from?: { dir: string; shard: Shard | null; rows: number; environment: Record<string, unknown> }[];
}

export function configFile(
  resolved: ResolvedConfig,
  shard: Shard | null,
  environment: Record<string, unknown>,
  workItems: number,
  plannedItems: number,
): ConfigFile {
  return {
    format: 1,
    config: resolved.config,
    resolved: {
      models: resolved.models,
      indices: resolved.indices,
      ...(resolved.sets.length ? { sets: resolved.sets } : {}),
      attacks: resolved.attacks,
      work_items: workItems,
      planned_items: plannedItems,
    },
    shard,
    created: new Date().toISOString(),
    environment,
  };
}

export function readConfigFile(dir: string): ConfigFile | null {
  const p = join(dir, FILES.config);
  return existsSync(p) ? readJson<ConfigFile>(p) : null;
}

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);

/** Model-file sha256 values (file, else manifest) by model ID. */
export function modelHashes(env: Record<string, unknown>): Record<string, string | null> {
  const models = (env.models ?? {}) as Record<
    string,
    { file_sha256?: string | null; manifest_sha256?: string | null }
  >;
  const out: Record<string, string | null> = {};
  for (const [id, m] of Object.entries(models)) out[id] = m.file_sha256 ?? m.manifest_sha256 ?? null;
  return out;
}

const ATTACKS_DIFFER = 'the attacks differ';

type RunEnvironment = { mode?: string; backend?: { active?: string | null } };

/** How two runs' modes or in-browser inference backends differ (empty when they do not). */
function runDifferences(a: RunEnvironment, b: RunEnvironment): string[] {
  if (a.mode !== b.mode) return [`the mode differs (${a.mode} vs ${b.mode})`];
  if (a.mode === 'browser' && a.backend?.active !== b.backend?.active)
    return [`the inference backend differs (${a.backend?.active} vs ${b.backend?.active})`];
  return [];
}

/** Where a run's rows will be made, as the command line says before anything starts. */
export interface PlannedRun {
  mode: 'browser' | 'endpoint' | 'native';
  /** the requested in-browser backend (browser mode) */
  backend?: 'wasm' | 'webgpu';
}

/**
 * The differences from an earlier run that the command line alone shows. WebGPU may fall back to
 * WASM, so a run asking for it has a known backend only once the page has started; WASM is WASM.
 */
function plannedDifferences(previous: ConfigFile, run: PlannedRun): string[] {
  const env = previous.environment as RunEnvironment;
  if (env.mode !== run.mode) return runDifferences(env, { mode: run.mode });
  if (run.mode === 'browser' && run.backend === 'wasm' && env.backend?.active)
    return runDifferences(env, { mode: run.mode, backend: { active: 'wasm' } });
  return [];
}

/** Why rows of `b` may not be mixed with rows of `a` (empty when they may). */
export function incompatibilities(
  a: ConfigFile,
  b: ConfigFile,
  opts: { sameShard: boolean; environment?: boolean },
): string[] {
  const out: string[] = [];
  if (!same(a.config, b.config)) out.push('the experiment config differs');
  if (!same(a.resolved.models, b.resolved.models)) out.push('the model list differs');
  if (!same(a.resolved.indices, b.resolved.indices)) out.push('the image sample differs');
  if (!same(a.resolved.sets ?? [], b.resolved.sets ?? []))
    out.push('the adversarial image sets differ (a set was regenerated)');
  if (!same(a.resolved.attacks, b.resolved.attacks)) out.push(ATTACKS_DIFFER);
  if (opts.sameShard && !same(a.shard, b.shard)) {
    out.push(
      `the shard differs (${a.shard ? `${a.shard.index}/${a.shard.total}` : 'none'} vs ${b.shard ? `${b.shard.index}/${b.shard.total}` : 'none'})`,
    );
  }
  if (opts.environment === false) return out;
  out.push(...runDifferences(a.environment, b.environment));
  const ha = modelHashes(a.environment);
  const hb = modelHashes(b.environment);
  for (const id of Object.keys(ha)) {
    if (id in hb && ha[id] !== hb[id])
      out.push(
        `model ${id}'s weight file changed (sha256 ${ha[id]?.slice(0, 12)}… vs ${hb[id]?.slice(0, 12)}…)`,
      );
  }
  return out;
}

export interface PrepareOptions {
  outDir: string;
  file: ConfigFile;
  /** continue a folder that has results (default); false: refuse */
  resume: boolean;
  /** delete earlier results and start over */
  fresh: boolean;
  /** accept an environment/model mismatch when resuming */
  force: boolean;
  /** move the rows of models whose weight file changed to superseded.jsonl, and rerun them */
  redoChanged?: boolean;
  /** move every earlier row to superseded.jsonl and rerun the whole experiment here */
  redoAll?: boolean;
  log: (line: string) => void;
}

/**
 * The refusal to resume rows made elsewhere, with the ways out that fit: --redo-changed only
 * reruns models whose weight file changed, so it is offered only when nothing else differs.
 */
function differentRun(outDir: string, problems: string[], onlyWeights: boolean): UsageError {
  const ways = onlyWeights
    ? 'Use --redo-changed to rerun only the models whose files changed, --redo-all to rerun everything here ' +
      '(the earlier rows are kept in superseded.jsonl), --fresh to discard everything, another --out, ' +
      'or --force to resume anyway.'
    : 'Use --redo-all to rerun it here (the earlier rows are kept in superseded.jsonl), --force to resume ' +
      'anyway (mixing rows of both), --fresh to discard the earlier rows, or another --out.';
  return new UsageError(`${outDir} holds results of a different run: ${problems.join('; ')}. ${ways}`);
}

/**
 * The checks of prepareOutDir that need no started backend, so a doomed run fails before the
 * browser starts: the experiment, and (without --force) the mode and backend of `run`.
 */
export function precheckOutDir(o: Omit<PrepareOptions, 'log'> & { run?: PlannedRun }): void {
  const resultsPath = join(o.outDir, FILES.results);
  if (o.fresh || !existsSync(resultsPath) || statSync(resultsPath).size === 0) return;
  const previous = readConfigFile(o.outDir);
  if (!previous) {
    throw new UsageError(
      `${o.outDir} has a results.jsonl but no config.json: use --fresh to discard it or choose another --out`,
    );
  }
  if (!o.resume) {
    throw new UsageError(
      `${o.outDir} already has results: pass --resume to continue them, --fresh to discard them, or choose another --out`,
    );
  }
  if (o.redoAll) return;
  // --redo-changed reruns the attacks whose resolved parameters changed (the config itself did not)
  const problems = incompatibilities(previous, o.file, { sameShard: true, environment: false }).filter(
    (p) => !(o.redoChanged && p === ATTACKS_DIFFER && changedAttacks(previous, o.file).length > 0),
  );
  if (problems.length) throw differentExperiment(o.outDir, problems);
  const differences = o.run && !o.force ? plannedDifferences(previous, o.run) : [];
  if (differences.length) throw differentRun(o.outDir, differences, false);
}

/**
 * Rows of another experiment (config, models, images, attacks or shard) never mix with this one's,
 * not even with --force, which overrides only a changed environment.
 */
function differentExperiment(outDir: string, problems: string[]): UsageError {
  return new UsageError(
    `${outDir} holds results of a different experiment: ${problems.join('; ')}. Use --redo-all to rerun it there ` +
      '(the earlier rows are kept in superseded.jsonl), --fresh to discard them, or another --out; ' +
      '--force only overrides a changed environment (model files, backend, mode).',
  );
}

/** IDs whose weight file (sha256) differs between two runs' environments. */
export function changedModels(a: ConfigFile, b: ConfigFile): string[] {
  const ha = modelHashes(a.environment);
  const hb = modelHashes(b.environment);
  return Object.keys(ha).filter((id) => id in hb && ha[id] !== hb[id]);
}

/**
 * --redo-changed: a model was retrained since the earlier run. Its rows no longer describe the
 * shipped file, so they move to superseded.jsonl (kept, not deleted) and config.json takes the new
 * file hashes; the run then redoes exactly those rows.
 */
function redoChangedModels(o: PrepareOptions, previous: ConfigFile): ConfigFile {
  const changed = changedModels(previous, o.file);
  if (changed.length === 0) return previous;
  const set = new Set(changed);
  const hb = modelHashes(o.file.environment);
  const newModels = (o.file.environment.models ?? {}) as Record<string, unknown>;
  const oldModels = (previous.environment.models ?? {}) as Record<string, unknown>;
  const moved = supersedeRows(
    o.outDir,
    (r) => set.has(r.model),
    `weight file changed: ${changed.map((id) => `${id} → ${hb[id]?.slice(0, 12) ?? 'missing'}`).join(', ')}`,
  );
  const updated: ConfigFile = {
    ...previous,
    environment: {
      ...previous.environment,
      models: { ...oldModels, ...Object.fromEntries(changed.map((id) => [id, newModels[id]])) },
    },
    redone: [
      ...(previous.redone ?? []),
      {
        at: new Date().toISOString(),
        models: changed,
        rows_superseded: moved,
        sha256: Object.fromEntries(changed.map((id) => [id, hb[id] ?? null])),
      },
    ],
  };
  writeAtomic(join(o.outDir, FILES.config), `${JSON.stringify(updated, null, 2)}\n`);
  o.log(
    `the weight files of ${changed.join(', ')} changed since the earlier run: moved their ${moved} rows to ` +
      `${FILES.superseded}; they will be rerun`,
  );
  return updated;
}

/**
 * Config attack keys whose resolved library run changed between two runs of the same config (a new
 * default in the attack library, e.g. Square's p_init or HopSkipJump's binary search).
 */
export function changedAttacks(
  a: ConfigFile,
  b: ConfigFile,
): { key: string; was: string | null; now: string | null }[] {
  const now = new Map(b.resolved.attacks.map((x) => [x.key, x]));
  const out: { key: string; was: string | null; now: string | null }[] = [];
  for (const old of a.resolved.attacks) {
    const cur = now.get(old.key);
    if (cur && !same(old.library, cur.library))
      out.push({ key: old.key, was: old.library?.key ?? null, now: cur.library?.key ?? null });
  }
  return out;
}

/**
 * --redo-changed for attacks: rows made with an attack whose resolved parameters changed no longer
 * describe what the attack library runs; they move to superseded.jsonl and are rerun.
 */
function redoChangedAttacks(o: PrepareOptions, previous: ConfigFile): ConfigFile {
  const changed = changedAttacks(previous, o.file);
  if (changed.length === 0) return previous;
  const keys = new Set(changed.map((c) => c.key));
  const moved = supersedeRows(
    o.outDir,
    (r) => keys.has(r.attack),
    `attack parameters changed: ${changed.map((c) => `${c.was} → ${c.now}`).join('; ')}`,
  );
  const updated: ConfigFile = {
    ...previous,
    resolved: { ...previous.resolved, attacks: o.file.resolved.attacks },
    redone: [
      ...(previous.redone ?? []),
      { at: new Date().toISOString(), attacks: changed, rows_superseded: moved },
    ],
  };
  writeAtomic(join(o.outDir, FILES.config), `${JSON.stringify(updated, null, 2)}\n`);
  o.log(
    `the resolved parameters of ${changed.map((c) => c.key).join(', ')} changed since the earlier run: moved their ` +
      `${moved} rows to ${FILES.superseded}; they will be rerun`,
  );
  return updated;
}

/**
 * --redo-all: the whole experiment is rerun in this folder (on another backend, or after changes
 * that --redo-changed does not see); every earlier row moves to superseded.jsonl, kept with why, and
 * config.json records the earlier run's environment.
 */
function redoAll(o: PrepareOptions, previous: ConfigFile): void {
  const problems = incompatibilities(previous, o.file, { sameShard: true });
  const reason = `rerun of the whole experiment (--redo-all)${problems.length ? `: ${problems.join('; ')}` : ''}`;
  const moved = supersedeRows(o.outDir, () => true, reason);
  const updated: ConfigFile = {
    ...o.file,
    redone: [
      ...(previous.redone ?? []),
      {
        at: new Date().toISOString(),
        all: { reason, previous_created: previous.created, previous_environment: previous.environment },
        rows_superseded: moved,
      },
    ],
  };
  writeAtomic(join(o.outDir, FILES.config), `${JSON.stringify(updated, null, 2)}\n`);
  o.log(`moved all ${moved} earlier rows to ${FILES.superseded}; the whole experiment runs again`);
}

/** Creates or checks the output folder; returns whether earlier rows are being resumed. */
export function prepareOutDir(o: PrepareOptions): { resumed: boolean } {
  mkdirSync(o.outDir, { recursive: true });
  let previous = readConfigFile(o.outDir);
  const resultsPath = join(o.outDir, FILES.results);
  const hasResults = existsSync(resultsPath) && statSync(resultsPath).size > 0;
  if (o.fresh) {
    for (const f of readdirSync(o.outDir)) {
      if ((Object.values(FILES) as string[]).includes(f)) rmSync(join(o.outDir, f));
    }
    writeAtomic(join(o.outDir, FILES.config), `${JSON.stringify(o.file, null, 2)}\n`);
    return { resumed: false };
  }
  if (previous && hasResults) {
    if (!o.resume) {
      throw new UsageError(
        `${o.outDir} already has results: pass --resume to continue them, --fresh to discard them, or choose another --out`,
      );
    }
    if (o.redoAll) {
      redoAll(o, previous);
      return { resumed: false };
    }
    if (o.redoChanged) previous = redoChangedAttacks(o, redoChangedModels(o, previous));
    const configProblems = incompatibilities(previous, o.file, { sameShard: true, environment: false });
    if (configProblems.length) throw differentExperiment(o.outDir, configProblems);
    const problems = incompatibilities(previous, o.file, { sameShard: true });
    if (problems.length) {
      const onlyWeights = runDifferences(previous.environment, o.file.environment).length === 0;
      if (!o.force) throw differentRun(o.outDir, problems, onlyWeights);
      o.log(
        `warning: ${o.outDir} holds results of a different run: ${problems.join('; ')}. Resuming anyway (--force).`,
      );
    }
    if (repairResults(o.outDir))
      o.log('results.jsonl ended in a partial line (a killed run); it was cut off');
    return { resumed: true };
  }
  if (!previous && hasResults) {
    throw new UsageError(
      `${o.outDir} has a results.jsonl but no config.json: use --fresh to discard it or choose another --out`,
    );
  }
  writeAtomic(join(o.outDir, FILES.config), `${JSON.stringify(o.file, null, 2)}\n`);
  return { resumed: false };
}

/** Runs every reporter (summary.csv, summary.md, report.html) over the latest rows; returns them. */
export function writeOutputs(
  outDir: string,
  file: ConfigFile,
  resolved: ResolvedConfig,
  rows: readonly ResultRow[],
  testSet: TestSet | null,
  notes: string[] = [],
): ResultRow[] {
  const latest = [...latestRows(rows).values()];
  const input: ReportInput = {
    name: resolved.config.name,
    resolved,
    rows: latest,
    summary: summarize(resolved, latest),
    expected: file.resolved.planned_items,
    environment: file.environment,
    notes,
    testSet,
  };
  for (const r of REPORTERS) writeAtomic(join(outDir, r.file), r.render(input));
  return latest;
}
