/**
 * `npm run experiment -- --config <file.json> --out <dir>`: batch evaluations and attacks over
 * models × test images, in the production build's own in-browser models (headless Chromium), on
 * onnxruntime-node in process (--native), or against any HTTP service with the same contract
 * (--endpoint). Resumable, shardable; writes config.json, results.jsonl, summary.csv, summary.md
 * and report.html into <dir>.
 */

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import { MAX_BATCH } from '../../src/core/api';
import { type AdversarialSet, AdversarialSetError } from '../../src/data/adversarial';
import { loadAdversarialSetNode, resolveConfigNode, shippedSha256 } from '../lib/adversarial-node';
import { loadTestSetNode } from '../lib/test-set-node';
import {
  BrowserBackend,
  type CustomModelFile,
  type ExperimentBackend,
  HttpBackend,
  NativeBackend,
  UsageError,
} from './backends';
import { exitOnUsageError } from './cli';
import {
  ConfigError,
  enumerateWork,
  parseShard,
  type ResolvedConfig,
  rowKey,
  type Shard,
  type WorkItem,
} from './config';
import { gitInfo, machineInfo, modelFiles } from './env';
import { appendLine, FILES, lockOutDir, OutDirBusy, readResults } from './files';
import {
  type ConfigFile,
  configFile,
  modelHashes,
  type PlannedRun,
  precheckOutDir,
  prepareOutDir,
  readConfigFile,
  writeOutputs,
} from './output';
import type { ResultRow } from './rows';
import { plannedWork, type RunnerOptions, runExperiment } from './runner';
import { latestRows, modelLabel } from './summary';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DATA_DIR = join(ROOT, 'public', 'data');
/** Where the user typed the command: npm runs scripts from the project root, INIT_CWD keeps theirs. */
const USER_CWD = process.env.INIT_CWD ?? process.cwd();

interface Options {
  config?: string;
  out: string;
  shard?: string;
  resume: boolean;
  fresh?: boolean;
  endpoint?: string;
  native?: boolean;
  backend: 'wasm' | 'webgpu';
  batchSize: string;
  inFlight?: string;
  retryErrors?: boolean;
  retryUnstarted?: boolean;
  force?: boolean;
  redoChanged?: boolean;
  redoAll?: boolean;
  progress: boolean;
}

const program = new Command()
  .name('npm run experiment --')
  .description(
    'Batch evaluations and black-box attacks over models × Fashion-MNIST test images, in one of three modes: ' +
      'by default in the production build (dist/) in headless Chromium, with the same in-browser models, defenses ' +
      'and API as the playground; with --native on onnxruntime-node in this process (the public/models files, ' +
      'the same API router, no browser); with --endpoint against an HTTP service with the same contract ' +
      '(e.g. npm run serve).',
  )
  .option('-c, --config <file>', 'experiment config (JSON); optional when --out already holds a run')
  .requiredOption(
    '-o, --out <dir>',
    'output folder (config.json, results.jsonl, summary.csv, summary.md, report.html)',
  )
  .option(
    '--shard <i/n>',
    'run only shard i of n (1-based, as Playwright --shard); merge shards with npm run experiment:merge',
  )
  .option('--resume', 'continue the results already in --out (the default)', true)
  .option('--no-resume', 'refuse to run when --out already holds results')
  .option('--fresh', 'discard the results in --out and start over')
  .option(
    '--endpoint <url[,url…]>',
    'query this HTTP service (same contract; e.g. npm run serve) from Node instead of the in-browser models; several comma-separated replicas share the run round-robin',
  )
  .option(
    '--native',
    'run the shipped models on onnxruntime-node in this process, through the same API router (no browser, no network)',
  )
  .addOption(
    new Option('--backend <backend>', 'inference backend in the browser')
      .choices(['wasm', 'webgpu'])
      .default('wasm'),
  )
  .option('--batch-size <n>', 'most images per API request (batch extension); 1 sends single requests', '64')
  .option(
    '--in-flight <n>',
    "library attacks run side by side (default: the page's inference workers in browser mode, else 1); rows stay in order",
  )
  .option('--retry-errors', 'redo the items whose earlier row is an error row')
  .option(
    '--retry-unstarted',
    'redo the HopSkipJump/Boundary rows whose attack found no adversarial starting point (e.g. rows made before starts from test images existed)',
  )
  .option(
    '--redo-changed',
    'when resuming, move the rows of models whose weight file changed (retrained) to superseded.jsonl and rerun them',
  )
  .option(
    '--redo-all',
    'move every earlier row in --out to superseded.jsonl (kept, with why) and rerun the whole experiment there, e.g. on another backend',
  )
  .option('--force', 'resume even if the model files, backend or mode differ from the earlier run')
  .option('--no-progress', 'no progress bar')
  .showHelpAfterError()
  .exitOverride(exitOnUsageError);

function fail(message: string, code = 2): never {
  process.stderr.write(`experiment: ${message}\n`);
  process.exit(code);
}

function loadConfig(opts: Options, outDir: string): { resolved: ResolvedConfig; source: string } {
  if (opts.config) {
    let raw: unknown;
    let text: string;
    try {
      text = readFileSync(resolve(USER_CWD, opts.config), 'utf8');
    } catch (e) {
      fail(`cannot read --config ${opts.config}: ${(e as Error).message}`);
    }
    try {
      raw = JSON.parse(text);
    } catch (e) {
      fail(`${opts.config} is not valid JSON: ${(e as Error).message}`);
    }
    return { resolved: resolveWithSets(raw, opts.config), source: opts.config };
  }
  const previous = readConfigFile(outDir);
  if (!previous) fail(`--config is required (${outDir} holds no earlier run to resume)`);
  const source = join(outDir, FILES.config);
  return { resolved: resolveWithSets(previous.config, source), source };
}

/** resolveConfig with the cards of the adversarial sets the config names (read from public/data). */
function resolveWithSets(raw: unknown, where: string): ResolvedConfig {
  try {
    return resolveConfigNode(raw, DATA_DIR);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof AdversarialSetError) fail(`${where}: ${e.message}`);
    throw e;
  }
}

/** The config's adversarial sets with their images, checked against the shipped files. */
function loadSets(resolved: ResolvedConfig): Map<string, AdversarialSet> {
  const out = new Map<string, AdversarialSet>();
  const modelsDir = join(ROOT, 'public', 'models');
  const shipped = resolved.sets.length ? shippedSha256(modelsDir) : {};
  for (const s of resolved.sets) {
    try {
      out.set(s.name, loadAdversarialSetNode(DATA_DIR, modelsDir, s.name, undefined, shipped));
    } catch (e) {
      if (e instanceof AdversarialSetError) fail(e.message);
      throw e;
    }
  }
  return out;
}

function resumeCommand(opts: Options, shard: Shard | null): string {
  const parts = ['npm run experiment --'];
  if (opts.config) parts.push(`--config ${opts.config}`);
  parts.push(`--out ${opts.out}`);
  if (shard) parts.push(`--shard ${shard.index}/${shard.total}`);
  if (opts.endpoint) parts.push(`--endpoint ${opts.endpoint}`);
  if (opts.native) parts.push('--native');
  if (opts.backend !== 'wasm') parts.push(`--backend ${opts.backend}`);
  if (opts.batchSize !== '64') parts.push(`--batch-size ${opts.batchSize}`);
  return parts.join(' ');
}

/** A path as the user can type it from where they ran npm: relative when below, else absolute. */
function shownPath(p: string): string {
  const r = relative(USER_CWD, p);
  return r === '' ? '.' : r.startsWith('..') || isAbsolute(r) ? p : r;
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 90 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

interface Cli {
  opts: Options;
  outDir: string;
  shard: Shard | null;
  batchSize: number;
  inFlight: number | undefined;
}

/** Phase 1: the command line, checked (fails with exit 2 on a contradiction). */
function parseCli(): Cli {
  program.parse();
  const opts = program.opts<Options>();
  const outDir = resolve(USER_CWD, opts.out);
  let shard: Shard | null = null;
  try {
    shard = opts.shard ? parseShard(opts.shard) : null;
  } catch (e) {
    fail((e as Error).message);
  }
  const batchSize = Number(opts.batchSize);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH)
    fail(`--batch-size must be an integer from 1 to ${MAX_BATCH}`);
  if (opts.fresh && opts.resume === false) fail('--fresh and --no-resume contradict each other: pick one');
  if (opts.fresh && opts.redoAll)
    fail('--fresh deletes the earlier rows that --redo-all keeps in superseded.jsonl: pick one');
  if (opts.endpoint && opts.native) fail('--endpoint and --native exclude each other');
  const inFlight = opts.inFlight === undefined ? undefined : Number(opts.inFlight);
  if (inFlight !== undefined && !(Number.isInteger(inFlight) && inFlight >= 1 && inFlight <= 64))
    fail('--in-flight must be an integer from 1 to 64');
  return { opts, outDir, shard, batchSize, inFlight };
}

function modeOf(opts: Options): PlannedRun['mode'] {
  return opts.endpoint ? 'endpoint' : opts.native ? 'native' : 'browser';
}

/** Phase 2: the output folder can take this run (before anything is started), then locked for it. */
function claimOutDir(
  cli: Cli,
  resolved: ResolvedConfig,
): { planned: WorkItem[]; work: WorkItem[]; release: () => void } {
  const { opts, outDir, shard } = cli;
  const work = enumerateWork(resolved);
  const planned = plannedWork(resolved, shard);
  try {
    precheckOutDir({
      outDir,
      file: configFile(resolved, shard, {}, work.length, planned.length),
      resume: opts.resume,
      fresh: Boolean(opts.fresh),
      force: Boolean(opts.force),
      redoChanged: Boolean(opts.redoChanged),
      redoAll: Boolean(opts.redoAll),
      run: { mode: modeOf(opts), backend: opts.backend },
    });
  } catch (e) {
    if (e instanceof UsageError) fail(e.message);
    throw e;
  }
  // one run per output folder: a second one would interleave rows, or lose them to a rewrite
  mkdirSync(outDir, { recursive: true });
  try {
    const release = lockOutDir(outDir);
    process.on('exit', release);
    return { planned, work, release };
  } catch (e) {
    if (e instanceof OutDirBusy) fail(e.message);
    throw e;
  }
}

/** Ctrl-C / SIGTERM stop the run after its bookkeeping (see onSignal). */
function installSignals(log: (line: string) => void): AbortController {
  // One Ctrl-C can arrive more than once: from the terminal (to the whole process group) and
  // forwarded by npm or tsx. Signals within 1.5 s of the first count as that one.
  const controller = new AbortController();
  let firstSignal = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    const now = Date.now();
    if (firstSignal && now - firstSignal > 1500) {
      log(`\n${sig} again: quitting at once`);
      process.exit(130);
    }
    if (firstSignal) return;
    firstSignal = now;
    log(`\n${sig}: stopping (rows in flight are dropped; press Ctrl-C again to quit at once)…`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  return controller;
}

/** Phase 3: the backend the rows run on. Throws UsageError for a usage problem. */
async function startBackend(
  cli: Cli,
  resolved: ResolvedConfig,
  log: (line: string) => void,
): Promise<ExperimentBackend> {
  const { opts, batchSize } = cli;
  if (opts.endpoint) {
    const http = new HttpBackend(opts.endpoint, batchSize > 1);
    await http.check(
      resolved.models,
      resolved.attacks.some((a) => a.whiteBox !== undefined),
    );
    return http;
  }
  if (opts.native) return new NativeBackend(batchSize > 1, 1, join(ROOT, 'public', 'models'));
  log(`starting vite preview of dist/ and headless Chromium (${opts.backend})…`);
  return BrowserBackend.start({ root: ROOT, backend: opts.backend, batch: batchSize > 1, log });
}

/** Phase 4: the config's own ONNX files (`custom:<path>`), read here, checked and loaded by the backend. */
async function addCustomFiles(
  resolved: ResolvedConfig,
  backend: ExperimentBackend,
  log: (line: string) => void,
): Promise<CustomModelFile[]> {
  const customFiles: CustomModelFile[] = [];
  for (const c of resolved.custom) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(resolve(USER_CWD, c.path)));
    } catch (e) {
      throw new UsageError(
        `${c.ref}: cannot read ${c.path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    const file = {
      id: c.id,
      path: c.path,
      fileName: basename(c.path),
      bytes,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      outputs: c.outputs,
    };
    try {
      if (!backend.addCustomModel) throw new UsageError(`this backend cannot run ${c.ref}`);
      await backend.addCustomModel(file);
    } catch (e) {
      throw e instanceof UsageError ? e : new UsageError(`${c.ref}: ${(e as Error).message}`);
    }
    customFiles.push(file);
    log(`${c.ref}: runs as ${c.model} (sha256 ${file.sha256.slice(0, 12)}…)`);
  }
  return customFiles;
}

/** The weight files the rows run on: the build's copies in browser mode, else public/models. */
function modelsDirOf(opts: Options): string {
  return opts.endpoint || opts.native ? join(ROOT, 'public', 'models') : join(ROOT, 'dist', 'models');
}

/** What config.json and runs.jsonl record about where the rows were made. */
async function environmentOf(
  cli: Cli,
  resolved: ResolvedConfig,
  backend: ExperimentBackend,
  customFiles: CustomModelFile[],
) {
  const { opts } = cli;
  const modelsDir = modelsDirOf(opts);
  const environment = {
    ...(await backend.environment()),
    git: gitInfo(ROOT),
    machine: machineInfo(),
    models: {
      ...modelFiles(modelsDir, resolved.models),
      ...Object.fromEntries(
        customFiles.map((f) => [
          `custom/${f.id}`,
          { weights: `custom/${f.id}`, file: f.path, manifest_sha256: null, file_sha256: f.sha256 },
        ]),
      ),
    },
    ...(opts.endpoint
      ? { models_note: 'sha256 of the local public/models files; the endpoint cannot be verified' }
      : {}),
  };
  return environment;
}

/** The run's plan line and progress bar (cli-progress), as the runner's callbacks. */
function progressReporter(cli: Cli, resolved: ResolvedConfig, resumed: boolean, log: (line: string) => void) {
  const { opts, outDir, shard } = cli;
  const label = `${resolved.config.name}${shard ? ` shard ${shard.index}/${shard.total}` : ''}`;
  let bar: SingleBar | null = null;
  let startedAt = 0;
  let doneNow = 0;
  const callbacks: Pick<RunnerOptions, 'onPlan' | 'onRows' | 'onAttackProgress'> = {
    onPlan: ({ total, done, pending }) => {
      log(
        `${label}: ${total} rows (${resolved.models.length} models × ${resolved.sets.length ? `${resolved.sets.length} adversarial sets × ` : ''}${resolved.attacks.length} attacks × ${resolved.indices.length} images` +
          `${shard ? `, this shard's share` : ''}); ${resumed ? `resuming, ${done} done, ` : ''}${pending} to run → ${shownPath(outDir)}`,
      );
      startedAt = performance.now();
      if (opts.progress && pending > 0) {
        bar = new SingleBar({
          format:
            ' {bar} {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted} | {model} {attack}',
          stream: process.stderr,
          noTTYOutput: true,
          notTTYSchedule: 5000,
          hideCursor: true,
          etaBuffer: 40,
          barsize: 24,
        });
        bar.start(total, done, { rate: '–', model: '', attack: '', detail: '' });
      }
    },
    onRows: (rows, at) => {
      doneNow += rows.length;
      const secs = (performance.now() - startedAt) / 1000;
      (bar as SingleBar | null)?.increment(rows.length, {
        rate: secs > 0 ? (doneNow / secs).toFixed(2) : '–',
        model: `${at.model} (${modelLabel(at.model)})`,
        attack: at.attack.split(':')[0],
        detail: '',
      });
    },
    onAttackProgress: (at) => {
      (bar as SingleBar | null)?.update({
        model: `${at.model} (${modelLabel(at.model)})`,
        attack: at.attack.split(':')[0],
        detail: ` · image ${at.index}: ${at.queries}/${at.budget} queries`,
      });
    },
  };
  return { callbacks, stop: () => (bar as SingleBar | null)?.stop() };
}

/** Phase 5: the rows, then the outputs, runs.jsonl and what to do next. Returns the exit code. */
async function runPhase(
  cli: Cli,
  resolved: ResolvedConfig,
  backend: ExperimentBackend,
  customFiles: CustomModelFile[],
  sets: Map<string, AdversarialSet>,
  planned: WorkItem[],
  work: WorkItem[],
  controller: AbortController,
  log: (line: string) => void,
): Promise<number> {
  const { opts, outDir, shard, batchSize } = cli;
  let exitCode = 0;
  await backend.warmUp?.(resolved.models[0]);
  const environment = await environmentOf(cli, resolved, backend, customFiles);
  const testSet = loadTestSetNode(DATA_DIR);
  const file = configFile(resolved, shard, environment, work.length, planned.length);
  const { resumed } = prepareOutDir({
    outDir,
    file,
    resume: opts.resume,
    fresh: Boolean(opts.fresh),
    force: Boolean(opts.force),
    redoChanged: Boolean(opts.redoChanged),
    redoAll: Boolean(opts.redoAll),
    log,
  });
  const missing = Object.entries(environment.models)
    .filter(([, m]) => m.file_sha256 === null)
    .map(([id]) => id);
  if (missing.length && !opts.endpoint) {
    log(
      `warning: no weight file in ${opts.native ? 'public' : 'dist'}/models for ${missing.join(', ')}: their rows will be error rows`,
    );
  }

  const progress = progressReporter(cli, resolved, resumed, log);
  const stats = await runExperiment({
    resolved,
    outDir,
    shard,
    backend,
    testSet,
    sets,
    batchSize,
    inFlight: cli.inFlight,
    retryErrors: Boolean(opts.retryErrors),
    retryUnstarted: Boolean(opts.retryUnstarted),
    signal: controller.signal,
    log,
    ...progress.callbacks,
  });
  progress.stop();

  const rows = readResults(outDir).rows;
  const secs = stats.elapsedMs / 1000;
  const rate =
    `${stats.rows} rows in ${duration(stats.elapsedMs)}: ${(stats.rows / Math.max(secs, 1e-9)).toFixed(2)} rows/s, ` +
    `${(stats.images / Math.max(secs, 1e-9)).toFixed(1)} images/s (${stats.images} model evaluations: clean, noise, EOT draws and attack queries)`;
  const latest = writeOutputs(outDir, file, resolved, rows, testSet);
  appendLine(join(outDir, FILES.runs), {
    started: new Date(Date.now() - stats.elapsedMs).toISOString(),
    finished: new Date().toISOString(),
    interrupted: stats.interrupted,
    rows: stats.rows,
    errors: stats.errors,
    images: stats.images,
    seconds: Number(secs.toFixed(3)),
    images_per_second: Number((stats.images / Math.max(secs, 1e-9)).toFixed(2)),
    options: {
      shard: opts.shard ?? null,
      batch_size: batchSize,
      in_flight: cli.inFlight ?? backend.parallelism ?? 1,
      endpoint: opts.endpoint ?? null,
      backend: opts.native ? 'native (onnxruntime-node)' : opts.endpoint ? 'endpoint' : opts.backend,
    },
    environment,
  });
  const errorsTotal = latest.filter((r) => r.error !== undefined).length;
  if (stats.gone) {
    log(
      `\nthe backend stopped answering (${stats.gone}): ${latest.length} of ${planned.length} rows are in ${shownPath(join(outDir, FILES.results))} (${rate}); no error rows were written for the rest.`,
    );
    log(`Once it answers again, continue with the same command:\n  ${resumeCommand(opts, shard)}`);
    exitCode = 3;
  } else if (stats.interrupted) {
    log(
      `\ninterrupted: ${latest.length} of ${planned.length} rows are in ${shownPath(join(outDir, FILES.results))} (${rate}).`,
    );
    log(`Resume with:\n  ${resumeCommand(opts, shard)}`);
    exitCode = 130;
  } else {
    log(`done: ${rate}`);
    log(
      `${latest.length} of ${planned.length} rows${errorsTotal ? `, ${errorsTotal} error rows (see "error" in results.jsonl; --retry-errors redoes them)` : ''}; ` +
        `wrote ${[FILES.summaryCsv, FILES.summaryMd, FILES.report].map((f) => shownPath(join(outDir, f))).join(', ')}`,
    );
    if (shard) log(`merge the shards with: npm run experiment:merge -- <shard dirs…> --out <dir>`);
  }
  return exitCode;
}

/**
 * A plain resume of a run whose every row is in --out, nothing to redo or retry, the same mode and
 * the same local weight files: there is nothing to run, so no browser or backend is started. The
 * outputs are rewritten from the rows (a run killed while writing them leaves them stale). Null
 * whenever the full path has something to do or to check (custom model files, a changed file).
 */
function finishedAlready(
  cli: Cli,
  resolved: ResolvedConfig,
  planned: WorkItem[],
): { file: ConfigFile; rows: ResultRow[] } | null {
  const { opts, outDir } = cli;
  if (opts.fresh || opts.redoAll || opts.redoChanged || opts.retryErrors || opts.retryUnstarted) return null;
  if (resolved.custom.length > 0) return null;
  const previous = readConfigFile(outDir);
  if (!previous || previous.resolved.planned_items !== planned.length) return null;
  const mode = modeOf(opts);
  const env = previous.environment as { mode?: string; backend?: { active?: string } };
  if (env.mode !== mode || (mode === 'browser' && env.backend?.active !== opts.backend)) return null;
  const rows = readResults(outDir).rows;
  const existing = latestRows(rows);
  if (!planned.every((it) => existing.has(rowKey(it.model, it.attack.key, it.index, it.set)))) return null;
  const before = modelHashes(previous.environment);
  const now = modelFiles(modelsDirOf(opts), resolved.models);
  const same = resolved.models.every((id) => (now[id]?.file_sha256 ?? null) === (before[id] ?? null));
  return same ? { file: previous, rows } : null;
}

async function main(): Promise<void> {
  const cli = parseCli();
  const { resolved } = loadConfig(cli.opts, cli.outDir);
  // a set that does not match the shipped files stops here, before anything starts
  const sets = loadSets(resolved);
  const { planned, work, release } = claimOutDir(cli, resolved);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const finished = finishedAlready(cli, resolved, planned);
  if (finished) {
    const rows = writeOutputs(cli.outDir, finished.file, resolved, finished.rows, loadTestSetNode(DATA_DIR));
    const errors = rows.filter((r) => r.error !== undefined).length;
    log(
      `${resolved.config.name}: all ${planned.length} rows are already in ${shownPath(cli.outDir)}, nothing to run ` +
        `(${errors ? `${errors} error rows: --retry-errors redoes them; ` : ''}--fresh starts over); ` +
        `rewrote ${[FILES.summaryCsv, FILES.summaryMd, FILES.report].map((f) => shownPath(join(cli.outDir, f))).join(', ')}`,
    );
    release();
    process.exit(0);
  }
  const controller = installSignals(log);
  let backend: ExperimentBackend | null = null;
  let exitCode = 0;
  try {
    backend = await startBackend(cli, resolved, log);
    const customFiles = await addCustomFiles(resolved, backend, log);
    if (controller.signal.aborted) {
      log(`interrupted before any work. Resume with:\n  ${resumeCommand(cli.opts, cli.shard)}`);
      exitCode = 130;
    } else {
      exitCode = await runPhase(cli, resolved, backend, customFiles, sets, planned, work, controller, log);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`experiment: ${e.message}\n`);
      exitCode = 2;
    } else if (!backend) {
      process.stderr.write(`experiment: could not start: ${(e as Error).message}\n`);
      exitCode = 1;
    } else throw e;
  } finally {
    await backend?.close();
    release();
  }
  process.exit(exitCode);
}

if (!existsSync(join(ROOT, 'public', 'data', 't10k-images-idx3-ubyte.gz')))
  fail('public/data holds no Fashion-MNIST test set', 1);
main().catch((e) => {
  if (e instanceof UsageError) fail(e.message);
  process.stderr.write(`experiment: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
