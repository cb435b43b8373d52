/**
 * `npm run experiment:merge -- <dirs…> --out <dir>`: merges the output folders of shards (or of
 * partial runs) of one experiment into one results.jsonl, summary and report. Refuses folders of
 * different experiments, or whose model files or inference backend differ (unless --force).
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { AdversarialSetError } from '../../src/data/adversarial';
import { resolveConfigNode } from '../lib/adversarial-node';
import { loadTestSetNode } from '../lib/test-set-node';
import { exitOnUsageError } from './cli';
import { ConfigError, enumerateWork, rowKey, type Shard } from './config';
import { FILES, lockOutDir, OutDirBusy, readResults, writeAtomic } from './files';
import { type ConfigFile, incompatibilities, readConfigFile, writeOutputs } from './output';
import type { ResultRow } from './rows';
import { latestRows } from './summary';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const program = new Command()
  .name('npm run experiment:merge --')
  .description(
    'Merge the output folders of experiment shards into one results.jsonl, summary.csv, summary.md and report.html.',
  )
  .argument('<dirs...>', 'output folders of `npm run experiment` (for example one per --shard)')
  .requiredOption('-o, --out <dir>', 'folder for the merged outputs')
  .option('--force', 'merge even if the model files, backend or mode differ between the folders')
  .showHelpAfterError()
  .exitOverride(exitOnUsageError);

function fail(message: string, code = 2): never {
  process.stderr.write(`experiment:merge: ${message}\n`);
  process.exit(code);
}

const shardText = (s: Shard | null) => (s ? `${s.index}/${s.total}` : 'unsharded');

/** One folder being merged: its config, its latest row per item, and whether its file ended mid-line. */
interface Input {
  dir: string;
  file: ConfigFile;
  rows: ResultRow[];
  truncated: boolean;
}

/** Parses the command line into absolute input folders, the output folder and --force. */
function parseArgs(): { dirs: string[]; outDir: string; force: boolean } {
  program.parse();
  const cwd = process.env.INIT_CWD ?? process.cwd(); // npm runs scripts from the project root
  const dirs = program.args.map((d) => resolve(cwd, d));
  const opts = program.opts<{ out: string; force?: boolean }>();
  const outDir = resolve(cwd, opts.out);
  if (dirs.includes(outDir)) fail('--out must not be one of the folders being merged');
  return { dirs, outDir, force: !!opts.force };
}

/** Creates and locks the output folder, refusing one that holds a run's own files. */
function claimOutDir(outDir: string): void {
  // The merge replaces the folder's files: only an earlier merge's output may be replaced, never a
  // run's own rows (or its superseded.jsonl). Checked under the folder lock, so no run can start
  // writing there in between.
  mkdirSync(outDir, { recursive: true });
  try {
    process.on('exit', lockOutDir(outDir));
  } catch (e) {
    if (e instanceof OutDirBusy) fail(e.message);
    throw e;
  }
  const previous = existsSync(join(outDir, FILES.config)) ? readConfigFile(outDir) : null;
  if (existsSync(join(outDir, FILES.superseded)))
    fail(
      `${outDir} holds superseded rows (${FILES.superseded}) that a merge would delete: choose another --out`,
    );
  if ((previous && !previous.merged_from) || (!previous && existsSync(join(outDir, FILES.results))))
    fail(`${outDir} holds the files of a run, not of an earlier merge: choose another --out`);
}

/** Reads each folder's config and latest rows; fails on a folder without config.json. */
function readInputs(dirs: readonly string[]): Input[] {
  const inputs: Input[] = [];
  for (const dir of dirs) {
    const file = readConfigFile(dir);
    if (!file) fail(`${dir} holds no config.json (not an experiment output folder)`);
    const r = readResults(dir);
    inputs.push({ dir, file, rows: [...latestRows(r.rows).values()], truncated: r.truncatedTail });
  }
  return inputs;
}

/** Fails unless every folder is a shard of the first one's experiment; environment differences need --force. */
function checkCompatibility(inputs: readonly Input[], force: boolean): void {
  const base = inputs[0];
  const problems: string[] = [];
  const configProblems: string[] = [];
  for (const other of inputs.slice(1)) {
    const where = relative(process.cwd(), other.dir);
    // config-level differences (config, models, images, sets, attacks) are never mergeable
    const config = incompatibilities(base.file, other.file, { sameShard: false, environment: false });
    for (const p of config) configProblems.push(`${where}: ${p}`);
    for (const p of incompatibilities(base.file, other.file, { sameShard: false }))
      if (!config.includes(p)) problems.push(`${where}: ${p}`);
  }
  if (configProblems.length)
    fail(`these folders are not shards of one experiment:\n  ${configProblems.join('\n  ')}`);
  if (problems.length) {
    if (!force)
      fail(
        `the folders were run under different conditions:\n  ${problems.join('\n  ')}\n(--force merges them anyway)`,
      );
    process.stderr.write(`warning: merging despite:\n  ${problems.join('\n  ')}\n`);
  }
  for (const i of inputs) {
    if (i.truncated)
      process.stderr.write(`warning: ${i.dir}/results.jsonl ends in a partial line (ignored)\n`);
  }
}

/** Resolves the experiment's config against public/data, failing if its adversarial sets changed since. */
function resolveConfig(base: Input): ReturnType<typeof resolveConfigNode> {
  let resolved: ReturnType<typeof resolveConfigNode>;
  try {
    resolved = resolveConfigNode(base.file.config, join(ROOT, 'public', 'data'));
  } catch (e) {
    if (e instanceof ConfigError || e instanceof AdversarialSetError) fail(e.message);
    throw e;
  }
  if (JSON.stringify(resolved.sets) !== JSON.stringify(base.file.resolved.sets ?? []))
    fail(
      'the adversarial sets in public/data/adversarial are not the ones these folders were run on (a set was regenerated): rerun, or restore the cards',
    );
  return resolved;
}

/** One row per planned item across all folders (a success beats an error), in the plan's order. */
function mergeRows(
  inputs: readonly Input[],
  work: ReturnType<typeof enumerateWork>,
): { rows: ResultRow[]; merged: Map<string, ResultRow>; duplicates: number } {
  const ordinal = new Map(work.map((w) => [rowKey(w.model, w.attack.key, w.index, w.set), w.ordinal]));
  const merged = new Map<string, ResultRow>();
  let duplicates = 0;
  for (const input of inputs) {
    for (const row of input.rows) {
      const key = rowKey(row.model, row.attack, row.index, row.set);
      if (!ordinal.has(key)) continue; // not part of this experiment (cannot happen for matching configs)
      const prev = merged.get(key);
      if (prev) {
        duplicates++;
        if (prev.error !== undefined && row.error === undefined) merged.set(key, row); // a success beats an error
        continue;
      }
      merged.set(key, row);
    }
  }
  const rows = [...merged.values()].sort(
    (a, b) =>
      ordinal.get(rowKey(a.model, a.attack, a.index, a.set))! -
      ordinal.get(rowKey(b.model, b.attack, b.index, b.set))!,
  );
  return { rows, merged, duplicates };
}

/** The report's notes: where the rows came from and, if any are missing, how many and from which shards. */
function mergeNotes(
  inputs: readonly Input[],
  work: ReturnType<typeof enumerateWork>,
  merged: ReadonlyMap<string, ResultRow>,
): { notes: string[]; missing: number } {
  const notes: string[] = [
    `Merged from ${inputs.length} folder(s): ${inputs.map((i) => `${relative(process.cwd(), i.dir) || '.'} (${shardText(i.file.shard)}, ${i.rows.length} rows)`).join(', ')}.`,
  ];
  const missing = work.filter((w) => !merged.has(rowKey(w.model, w.attack.key, w.index, w.set)));
  if (missing.length) {
    const totals = new Set(inputs.map((i) => i.file.shard?.total ?? 1));
    let which = '';
    if (totals.size === 1) {
      const n = [...totals][0];
      const shards = [...new Set(missing.map((w) => (w.ordinal % n) + 1))].sort((a, b) => a - b);
      which = ` (from shard${shards.length > 1 ? 's' : ''} ${shards.map((s) => `${s}/${n}`).join(', ')})`;
    }
    notes.push(`${missing.length} of ${work.length} rows are missing${which}.`);
  }
  return { notes, missing: missing.length };
}

/** Replaces the output folder's files with the merged config, results, summary and report. */
function writeMerged(
  outDir: string,
  inputs: readonly Input[],
  resolved: ReturnType<typeof resolveConfigNode>,
  plannedItems: number,
  rows: ResultRow[],
  notes: string[],
): void {
  const base = inputs[0];
  for (const f of Object.values(FILES)) if (existsSync(join(outDir, f))) rmSync(join(outDir, f));
  const file: ConfigFile = {
    ...base.file,
    resolved: { ...base.file.resolved, planned_items: plannedItems },
    shard: null,
    created: new Date().toISOString(),
    merged_from: inputs.map((i) => ({
      dir: i.dir,
      shard: i.file.shard,
      rows: i.rows.length,
      environment: i.file.environment,
    })),
  };
  writeAtomic(join(outDir, FILES.config), `${JSON.stringify(file, null, 2)}\n`);
  writeAtomic(join(outDir, FILES.results), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  let testSet = null;
  try {
    testSet = loadTestSetNode(join(ROOT, 'public', 'data'));
  } catch {
    process.stderr.write('warning: no test set in public/data: the report has no example images\n');
  }
  writeOutputs(outDir, file, resolved, rows, testSet, notes);
}

/** Runs the merge: read the folders, check they fit together, merge their rows, write and report. */
function main(): void {
  const { dirs, outDir, force } = parseArgs();
  claimOutDir(outDir);
  const inputs = readInputs(dirs);
  checkCompatibility(inputs, force);
  const resolved = resolveConfig(inputs[0]);
  const work = enumerateWork(resolved);
  const { rows, merged, duplicates } = mergeRows(inputs, work);
  const { notes, missing } = mergeNotes(inputs, work, merged);
  writeMerged(outDir, inputs, resolved, work.length, rows, notes);

  for (const n of notes) process.stderr.write(`${n}\n`);
  if (duplicates)
    process.stderr.write(`${duplicates} row(s) appeared in more than one folder; kept one each\n`);
  process.stderr.write(
    `merged ${rows.length} of ${work.length} rows → ${[
      FILES.results,
      FILES.summaryCsv,
      FILES.summaryMd,
      FILES.report,
    ]
      .map((f) => relative(process.cwd(), join(outDir, f)))
      .join(', ')}\n`,
  );
  process.exit(missing ? 3 : 0);
}

main();
