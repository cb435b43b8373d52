/**
 * The experiment loop, in phases: plan the pending (model, [set,] attack, image) items of this
 * shard; per model, the clean predictions its rows share; then per attack the row kind that runs it
 * (ROW_KINDS: `none` and `noise` rows in batches of many images per request, the attack library one
 * image at a time). Every finished row is appended (fsync) to results.jsonl at once.
 */

import { ATTACKS, type AttackInfo } from '../../src/attacks/index';
import { drawNoise } from '../../src/attacks/random';
import { encodeBase64 } from '../../src/core/base64';
import { argmax } from '../../src/core/math';
import { getModel, isRandomized } from '../../src/core/models';
import { Rng } from '../../src/core/prng';
import { type AdversarialSet, adversarialImageAt } from '../../src/data/adversarial';
import { imageAt, type TestSet } from '../../src/data/idx';
import { startCandidates } from '../../src/data/start-candidates';
import type { ScoreItem } from '../../src/experiment/api';
import { type ExperimentBackend, isTransient } from './backends';
import { certifyRows } from './certify-rows';
import {
  cleanSeed,
  enumerateWork,
  eotDrawSeeds,
  hash32,
  isWhiteBoxAttack,
  type LibraryAttack,
  MAX_EXPERIMENT_SEED,
  type ResolvedAttack,
  type ResolvedConfig,
  rowKey,
  rowSeed,
  type Shard,
  shardWork,
  type WhiteBoxAttack,
  type WorkItem,
} from './config';
import { ResultsWriter, readResults, supersedeRows } from './files';
import {
  BackendGone,
  byteDistances,
  bytesToFloat,
  EOT_DRAWS,
  floatToBytes,
  Interrupted,
  message,
  orderedRow,
  type ResultRow,
  round,
  thinTrajectory,
  unreachableError,
} from './rows';
import { latestRows } from './summary';

export { Interrupted };

/** attacks that walk the decision boundary from an adversarial start (they get startCandidates) */
const needsStart = (type: string) =>
  (ATTACKS as Record<string, AttackInfo | undefined>)[type]?.needsStart === true;

/** Extra tries of a backend call after a transient failure. */
const RETRIES = 3;

export interface RunnerOptions {
  resolved: ResolvedConfig;
  outDir: string;
  shard: Shard | null;
  backend: ExperimentBackend;
  /** the clean test set: labels, start candidates, and the images when the config names no set */
  testSet: TestSet;
  /** the config's adversarial sets by name (resolved.sets), loaded with their cards checked */
  sets?: ReadonlyMap<string, AdversarialSet>;
  /** most images per API request (1: no batch extension) */
  batchSize: number;
  /** redo items whose row is an error row (the new row supersedes it) */
  retryErrors: boolean;
  /** redo decision-attack rows whose attack never found an adversarial start (see unstarted) */
  retryUnstarted?: boolean;
  signal: AbortSignal;
  onPlan?: (plan: { total: number; done: number; pending: number }) => void;
  onRows?: (rows: readonly ResultRow[], at: { model: string; attack: string }) => void;
  /** an attack in progress: queries spent so far on the current image */
  onAttackProgress?: (at: {
    model: string;
    attack: string;
    index: number;
    queries: number;
    budget: number;
  }) => void;
  log?: (line: string) => void;
  /** library attacks run side by side (default: the backend's parallelism, else 1); rows stay in order */
  inFlight?: number;
}

export interface RunStats {
  total: number;
  doneBefore: number;
  rows: number;
  errors: number;
  /** images the models classified in this invocation (clean, noise, EOT draws, attack queries) */
  images: number;
  elapsedMs: number;
  interrupted: boolean;
  /** why the backend was given up on (BackendGone), when it was */
  gone?: string;
}

/** The items of this output folder: the shard's share of the canonical work list. */
export function plannedWork(resolved: ResolvedConfig, shard: Shard | null): WorkItem[] {
  return shardWork(enumerateWork(resolved), shard);
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Interrupted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? new Interrupted() : e);
      },
    );
  });
}

/**
 * The plurality vote of EOT draws: the class most draws predict; a tie goes to the tied class with
 * the larger summed probability (then the lower class), so no class is favoured by its index.
 * @param probs one probability vector per draw
 */
export function pluralityVote(probs: readonly (readonly number[])[]): number {
  const votes = new Array<number>(10).fill(0);
  const mass = new Array<number>(10).fill(0);
  for (const p of probs) {
    votes[argmax(p)]++;
    for (let c = 0; c < 10; c++) mass[c] += p[c];
  }
  let best = 0;
  for (let c = 1; c < 10; c++)
    if (votes[c] > votes[best] || (votes[c] === votes[best] && mass[c] > mass[best])) best = c;
  return best;
}

/** Waits ms, or rejects with Interrupted when the run is stopped meanwhile. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return abortable(new Promise<void>((resolve) => setTimeout(resolve, ms)), signal);
}

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

interface Clean {
  bytes: Uint8Array;
  b64: string;
  label: number;
  pred: number | null;
  error?: string;
  /** this image's share of the clean batch time */
  ms: number;
}

/**
 * A decision-attack row whose attack never started: no adversarial starting point was found, so
 * the image "survived" untested. Rows from before starting points from data existed carry no
 * `start`; for them that shows as no success at distance 0 on a correctly classified image.
 */
export function unstarted(r: ResultRow): boolean {
  if (!needsStart(r.attack.split(':')[0]) || r.error !== undefined || r.skipped) return false;
  if (r.start !== undefined) return r.start === 'none';
  return r.success === false && r.l2 === 0 && r.clean_pred === r.label;
}

/** What the row kinds share within one invocation: budgets, backend calls with retries, row builders. */
export interface Shared {
  opts: RunnerOptions;
  /** library attacks run side by side (RunnerOptions.inFlight, else the backend's parallelism) */
  inFlight: number;
  testSet: TestSet;
  batchSize: number;
  configSeed: number;
  stats: RunStats;
  emit(rows: ResultRow[], model: string, attack: string): void;
  retrying<T>(what: string, call: () => Promise<T>): Promise<T>;
  score(model: string, items: ScoreItem[]): Promise<number[][]>;
  eotDraws(
    model: string,
    images: readonly { b64: string; seed: number; label: number }[],
    draws?: number,
  ): Promise<{ rate: number; vote: number }[]>;
  eotRate(model: string, b64: string, seed: number, label: number): Promise<number>;
  imageOf(set: string | undefined, index: number): Uint8Array;
  imageKey(set: string | undefined, index: number): string;
  base(
    it: WorkItem,
    seed: number,
    ms: number,
  ): Pick<ResultRow, 'model' | 'attack' | 'index' | 'set' | 'label' | 'ms' | 'seed'>;
  errorRow(it: WorkItem, seed: number, ms: number, error: string): ResultRow;
  skippedRow(it: WorkItem, seed: number, clean: Clean): ResultRow;
}

/** One model's part of a run: whether it is randomized, and the clean predictions its rows share. */
export interface ModelScope {
  model: string;
  randomized: boolean;
  clean: Map<string, Clean>;
}

export type RowKind = (sh: Shared, m: ModelScope, its: WorkItem[], attack: ResolvedAttack) => Promise<void>;

/** The pending items of this shard, after moving the rows of retried items to superseded.jsonl. */
function planPending(opts: RunnerOptions): { planned: WorkItem[]; pending: WorkItem[] } {
  const { resolved } = opts;
  const planned = plannedWork(resolved, opts.shard);
  const existing = latestRows(readResults(opts.outDir).rows);
  const retryErrorKeys = new Set<string>();
  const retryUnstartedKeys = new Set<string>();
  const pending = planned.filter((it) => {
    const key = rowKey(it.model, it.attack.key, it.index, it.set);
    const r = existing.get(key);
    if (!r) return true;
    if (r.error !== undefined && (opts.retryErrors || unreachableError(r.error))) retryErrorKeys.add(key);
    else if (opts.retryUnstarted && unstarted(r)) retryUnstartedKeys.add(key);
    else return false;
    return true;
  });
  // A retried item's earlier rows move to superseded.jsonl before it is redone (as --redo-changed
  // does), so results.jsonl keeps one row per item for anyone reading it raw; an interrupted retry
  // leaves the item missing, and a plain resume redoes it.
  const keyOf = (r: ResultRow) => rowKey(r.model, r.attack, r.index, r.set);
  if (retryErrorKeys.size > 0) {
    supersedeRows(
      opts.outDir,
      (r) => retryErrorKeys.has(keyOf(r)),
      'retried (error row: with --retry-errors, or the backend was unreachable)',
    );
  }
  if (retryUnstartedKeys.size > 0) {
    supersedeRows(
      opts.outDir,
      (r) => retryUnstartedKeys.has(keyOf(r)),
      'retried with --retry-unstarted (the attack found no adversarial starting point)',
    );
  }
  return { planned, pending };
}

/** The fields every row of an item has, and the rows of failed and skipped items. */
function rowBuilders(testSet: TestSet): Pick<Shared, 'base' | 'errorRow' | 'skippedRow'> {
  const base = (
    it: WorkItem,
    seed: number,
    ms: number,
  ): Pick<ResultRow, 'model' | 'attack' | 'index' | 'set' | 'label' | 'ms' | 'seed'> => ({
    model: it.model,
    attack: it.attack.key,
    index: it.index,
    ...(it.set === undefined ? {} : { set: it.set }),
    label: testSet.labels[it.index],
    ms: round(ms),
    seed,
  });

  const errorRow = (it: WorkItem, seed: number, ms: number, error: string): ResultRow => ({
    ...base(it, seed, ms),
    clean_pred: null,
    adv_pred: null,
    success: null,
    queries: null,
    l2: null,
    linf: null,
    error,
  });

  const skippedRow = (it: WorkItem, seed: number, clean: Clean): ResultRow => ({
    ...base(it, seed, 0),
    clean_pred: clean.pred,
    adv_pred: clean.pred,
    success: false,
    queries: 0,
    l2: 0,
    linf: 0,
    skipped: 'misclassified',
  });
  return { base, errorRow, skippedRow };
}

function sharedContext(opts: RunnerOptions, stats: RunStats, writer: ResultsWriter): Shared {
  const { resolved, backend, signal, testSet } = opts;
  const batchSize = Math.max(1, Math.floor(opts.batchSize));
  const configSeed = resolved.config.seed;

  const emit = (rows: ResultRow[], model: string, attack: string) => {
    if (signal.aborted) throw new Interrupted(); // rows of an interrupted call are not trustworthy
    writer.append(rows.map(orderedRow));
    stats.rows += rows.length;
    stats.errors += rows.filter((r) => r.error !== undefined).length;
    opts.onRows?.(rows, { model, attack });
  };

  /** A backend call, tried up to `retries` more times after transient failures (a restarted worker). */
  const retrying = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await abortable(call(), signal);
      } catch (e) {
        if (e instanceof Interrupted || !isTransient(e)) throw e;
        if (attempt >= RETRIES) {
          // an item's own failure becomes its error row; a backend that is gone stops the run
          if (backend.alive && !(await backend.alive()))
            throw new BackendGone(`${what}: ${message(e).split('\n')[0]}`);
          throw e;
        }
        opts.log?.(`\n${what}: ${message(e).split('\n')[0]}; retrying (${attempt + 1}/${RETRIES})`);
        await pause(1000 * (attempt + 1), signal);
      }
    }
  };

  /** Probabilities for the items, in requests of at most batchSize images. */
  const score = async (model: string, items: ScoreItem[]): Promise<number[][]> => {
    const out: number[][] = [];
    for (const part of chunks(items, batchSize)) {
      out.push(...(await retrying(`model ${model}`, () => backend.score(model, part))));
      stats.images += part.length;
    }
    return out;
  };

  /**
   * `draws` fresh seeded draws of a randomized model on each image (all in one score call, so the
   * draws of several images share requests): per image the share that does not classify it as its
   * label, and the plurality class (pluralityVote).
   */
  const eotDraws = async (
    model: string,
    images: readonly { b64: string; seed: number; label: number }[],
    draws = EOT_DRAWS,
  ): Promise<{ rate: number; vote: number }[]> => {
    const probs = await score(
      model,
      images.flatMap((im) => eotDrawSeeds(im.seed, draws).map((s) => ({ image: im.b64, seed: s }))),
    );
    return images.map((im, k) => {
      const mine = probs.slice(k * draws, (k + 1) * draws);
      const preds = mine.map((p) => argmax(p));
      return { rate: round(preds.filter((p) => p !== im.label).length / draws), vote: pluralityVote(mine) };
    });
  };
  const eotRate = async (model: string, b64: string, seed: number, label: number): Promise<number> =>
    (await eotDraws(model, [{ b64, seed, label }]))[0].rate;

  /** The image of an item: from its adversarial set, else the clean test set. */
  const imageOf = (set: string | undefined, index: number): Uint8Array => {
    if (set === undefined) return new Uint8Array(imageAt(testSet, index));
    const s = opts.sets?.get(set);
    if (!s) throw new Error(`adversarial set ${set} was not loaded`);
    return new Uint8Array(adversarialImageAt(s, index));
  };
  const imageKey = (set: string | undefined, index: number) => `${set ?? ''}\u0000${index}`;

  const { base, errorRow, skippedRow } = rowBuilders(testSet);
  return {
    opts,
    inFlight: Math.max(1, Math.floor(opts.inFlight ?? backend.parallelism ?? 1)),
    testSet,
    batchSize,
    configSeed,
    stats,
    emit,
    retrying,
    score,
    eotDraws,
    eotRate,
    imageOf,
    imageKey,
    base,
    errorRow,
    skippedRow,
  };
}

/**
 * Clean predictions of the images a model still needs (shared by all its attacks); with adversarial
 * sets "clean" is the set's image as given, before any attack of this experiment.
 */
async function cleanPredictions(sh: Shared, model: string, items: WorkItem[]): Promise<ModelScope> {
  const { batchSize, configSeed, testSet, score, imageOf, imageKey } = sh;
  const info = getModel(model);
  const randomized = info ? isRandomized(info) : false;
  const clean = new Map<string, Clean>();
  const images = [
    ...new Map(items.map((it) => [imageKey(it.set, it.index), { set: it.set, index: it.index }])).values(),
  ];
  for (const part of chunks(images, batchSize)) {
    const entries = part.map(({ set, index }) => {
      const bytes = imageOf(set, index);
      return {
        key: imageKey(set, index),
        index,
        bytes,
        b64: encodeBase64(bytes),
        label: testSet.labels[index],
      };
    });
    const tc = performance.now();
    try {
      const probs = await score(
        model,
        entries.map((e) => ({ image: e.b64, seed: cleanSeed(configSeed, model, e.index) })),
      );
      const ms = (performance.now() - tc) / part.length;
      entries.forEach((e, i) => {
        clean.set(e.key, { ...e, pred: argmax(probs[i]), ms });
      });
    } catch (e) {
      if (e instanceof Interrupted) throw e;
      const ms = (performance.now() - tc) / part.length;
      for (const en of entries)
        clean.set(en.key, {
          ...en,
          pred: null,
          error: `clean classification failed: ${message(e)}`,
          ms,
        });
    }
  }
  return { model, randomized, clean };
}

/** `none`: the clean prediction per image; randomized models add the EOT draws (rate and majority vote). */
async function noneRows(sh: Shared, m: ModelScope, its: WorkItem[], attack: ResolvedAttack): Promise<void> {
  const { base, batchSize, configSeed, emit, eotDraws, errorRow, imageKey } = sh;
  const { model, randomized, clean } = m;
  const draws = Number(attack.params.eot_draws ?? EOT_DRAWS);
  // randomized models: 16 batches' worth of rows per call (score() splits them into requests)
  const perCall = randomized ? Math.max(1, Math.floor((16 * batchSize) / draws)) : batchSize;
  for (const part of chunks(its, perCall)) {
    const rows: ResultRow[] = [];
    const pending: { k: number; c: Clean; seed: number }[] = [];
    for (const it of part) {
      const c = clean.get(imageKey(it.set, it.index))!;
      const seed = cleanSeed(configSeed, model, it.index);
      if (c.error) {
        rows.push(errorRow(it, seed, c.ms, c.error));
        continue;
      }
      rows.push({
        ...base(it, seed, c.ms),
        clean_pred: c.pred,
        adv_pred: c.pred,
        success: false,
        queries: 1,
        l2: 0,
        linf: 0,
      });
      if (randomized) pending.push({ k: rows.length - 1, c, seed });
    }
    if (pending.length) {
      const t = performance.now();
      try {
        const eot = await eotDraws(
          model,
          pending.map((q) => ({ b64: q.c.b64, seed: q.seed, label: q.c.label })),
          draws,
        );
        const ms = (performance.now() - t) / pending.length;
        pending.forEach((q, j) => {
          rows[q.k].eot_success_rate = eot[j].rate;
          rows[q.k].eot_vote_pred = eot[j].vote;
          rows[q.k].ms = round(q.c.ms + ms);
        });
      } catch (e) {
        if (e instanceof Interrupted) throw e;
        const ms = (performance.now() - t) / pending.length;
        for (const q of pending)
          rows[q.k] = errorRow(part[q.k], q.seed, q.c.ms + ms, `EOT draws failed: ${message(e)}`);
      }
    }
    emit(rows, model, attack.key);
  }
}

/** `noise`: random-noise draws in the ε-ball (src/attacks/random.ts drawNoise), batched across images; the first misclassified draw counts. */
async function noiseRows(sh: Shared, m: ModelScope, its: WorkItem[], attack: ResolvedAttack): Promise<void> {
  const { base, batchSize, configSeed, testSet, emit, score, eotRate, errorRow, skippedRow, imageKey } = sh;
  const { model, randomized, clean } = m;
  const eps = Number(attack.params.eps);
  const norm = attack.params.norm === 'l2' ? 'l2' : 'linf';
  const draws = Number(attack.params.max_queries ?? 1);
  const rowsPerChunk = randomized ? 1 : Math.max(1, Math.floor(batchSize / draws));
  for (const part of chunks(its, rowsPerChunk)) {
    const t = performance.now();
    const rows: (ResultRow | null)[] = part.map(() => null);
    // (row, draw) pairs still to classify; rows stop at their first misclassified draw
    const state = part.map((it) => {
      const seed = rowSeed(configSeed, model, attack.key, it.index);
      return {
        it,
        seed,
        rng: new Rng(seed),
        next: 0,
        found: -1,
        lastBytes: null as Uint8Array | null,
        lastPred: -1,
      };
    });
    part.forEach((it, k) => {
      const c = clean.get(imageKey(it.set, it.index))!;
      if (c.error) rows[k] = errorRow(it, state[k].seed, c.ms, c.error);
      else if (c.pred !== c.label) rows[k] = skippedRow(it, state[k].seed, c);
    });
    try {
      for (;;) {
        const batch: { k: number; bytes: Uint8Array; seed: number; t: number }[] = [];
        for (let k = 0; k < part.length && batch.length < batchSize; k++) {
          const s = state[k];
          if (rows[k] || s.found >= 0) continue;
          const c = clean.get(imageKey(s.it.set, s.it.index))!;
          const x = bytesToFloat(c.bytes);
          while (s.next < draws && batch.length < batchSize) {
            batch.push({
              k,
              bytes: floatToBytes(drawNoise(x, eps, norm, s.rng, true)),
              seed: hash32(`q|${s.seed}|${s.next}`) & MAX_EXPERIMENT_SEED,
              t: s.next,
            });
            s.next++;
          }
        }
        if (batch.length === 0) break;
        const probs = await score(
          model,
          batch.map((b) => ({ image: encodeBase64(b.bytes), seed: b.seed })),
        );
        batch.forEach((b, i) => {
          const s = state[b.k];
          if (s.found >= 0) return;
          const pred = argmax(probs[i]);
          s.lastBytes = b.bytes;
          s.lastPred = pred;
          if (pred !== testSet.labels[s.it.index]) s.found = b.t;
        });
        // a row whose draw was found stops drawing: the rest of its sampled draws are ignored
        for (const s of state) if (s.found >= 0) s.next = draws;
      }
      const ms = (performance.now() - t) / part.length;
      for (let k = 0; k < part.length; k++) {
        if (rows[k]) continue;
        const s = state[k];
        const c = clean.get(imageKey(s.it.set, s.it.index))!;
        const adv = s.lastBytes!;
        const { l2, linf } = byteDistances(adv, c.bytes);
        const success = s.found >= 0;
        const row: ResultRow = {
          ...base(s.it, s.seed, ms),
          clean_pred: c.pred,
          adv_pred: s.lastPred,
          success,
          queries: success ? s.found + 1 : draws,
          l2: round(l2),
          linf: round(linf),
        };
        if (randomized) {
          const te = performance.now();
          row.eot_success_rate = await eotRate(model, encodeBase64(adv), s.seed, c.label);
          row.ms = round(ms + performance.now() - te);
        }
        if (success) row.adv = encodeBase64(adv);
        rows[k] = row;
      }
    } catch (e) {
      if (e instanceof Interrupted) throw e;
      const ms = (performance.now() - t) / part.length;
      part.forEach((it, k) => {
        if (!rows[k]) rows[k] = errorRow(it, state[k].seed, ms, message(e));
      });
    }
    emit(rows as ResultRow[], model, attack.key);
  }
}

/** One image's row of a library attack (Square, HopSkipJump, Boundary, SimBA) through the backend. */
async function libraryRow(
  sh: Shared,
  m: ModelScope,
  it: WorkItem,
  attack: ResolvedAttack,
): Promise<ResultRow> {
  const { base, configSeed, retrying, eotRate, errorRow, skippedRow, imageKey, opts, stats } = sh;
  const { resolved, backend } = sh.opts;
  const { model, randomized, clean } = m;
  const eot = randomized && resolved.config.eot > 1 ? resolved.config.eot : undefined;
  const seed = rowSeed(configSeed, model, attack.key, it.index);
  const c = clean.get(imageKey(it.set, it.index))!;
  if (c.error) return errorRow(it, seed, c.ms, c.error);
  if (c.pred !== c.label) return skippedRow(it, seed, c);
  const t = performance.now();
  try {
    const res = await retrying(`${attack.type} on model ${model}, image ${it.index}`, () =>
      backend.attack({
        type: attack.type as LibraryAttack,
        options: needsStart(attack.type)
          ? { ...attack.library!.options, initCandidates: startCandidates(opts.testSet, it.index) }
          : attack.library!.options,
        model,
        x: bytesToFloat(c.bytes),
        label: c.label,
        seed,
        eot,
        onProgress: (queries) =>
          opts.onAttackProgress?.({
            model,
            attack: attack.key,
            index: it.index,
            queries,
            budget: Number(attack.params.max_queries),
          }),
      }),
    );
    stats.images += res.queries;
    const adv = floatToBytes(res.adversarial);
    const { l2, linf } = byteDistances(adv, c.bytes);
    const row: ResultRow = {
      ...base(it, seed, 0),
      clean_pred: c.pred,
      adv_pred: res.adversarialLabel,
      success: res.success,
      queries: res.queries,
      l2: round(l2),
      linf: round(linf),
    };
    const start = res.params?.start;
    if (start === 'noise' || start === 'data' || start === 'given' || start === 'none') row.start = start;
    const traj = thinTrajectory(res.trajectory);
    if (traj.length) row.traj = traj;
    // always the runner's own EOT_DRAWS draws (eotDrawSeeds), never the page worker's figure: its
    // draws are seeded differently, and browser and native rows must agree
    if (randomized) row.eot_success_rate = await eotRate(model, encodeBase64(adv), seed, c.label);
    if (res.success) row.adv = encodeBase64(adv);
    row.ms = round(performance.now() - t);
    return row;
  } catch (e) {
    if (e instanceof Interrupted) throw e;
    return errorRow(it, seed, performance.now() - t, message(e));
  }
}

/**
 * The attack library's rows, `inFlight` images at a time (each attack is sequential in itself; a
 * backend with several workers runs several side by side). Rows are written in item order, as a
 * sequential run writes them: a finished row waits for the rows before it.
 */
async function libraryRows(
  sh: Shared,
  m: ModelScope,
  its: WorkItem[],
  attack: ResolvedAttack,
): Promise<void> {
  const done: (ResultRow | undefined)[] = new Array(its.length);
  let next = 0;
  let written = 0;
  let stopped = false;
  const lane = async () => {
    try {
      while (!stopped && next < its.length) {
        const k = next++;
        done[k] = await libraryRow(sh, m, its[k], attack);
        while (!stopped && written < its.length && done[written]) {
          sh.emit([done[written]!], m.model, attack.key);
          done[written++] = undefined;
        }
      }
    } catch (e) {
      stopped = true; // the other lanes write nothing more
      throw e;
    }
  };
  const lanes = Math.max(1, Math.min(sh.inFlight, its.length));
  await Promise.all(Array.from({ length: lanes }, lane));
}

/** Images per white-box call on a deterministic model (a randomized one runs one at a time). */
const WHITEBOX_CHUNK = 32;

/**
 * FGSM/PGD rows: a few images per backend call (each image's result depends on its own row seed,
 * so the grouping never changes a row). `queries` counts forward queries; gradient evaluations go
 * to `gradient_evaluations`.
 */
async function whiteBoxRows(
  sh: Shared,
  m: ModelScope,
  its: WorkItem[],
  attack: ResolvedAttack,
): Promise<void> {
  const { base, configSeed, retrying, eotRate, errorRow, skippedRow, imageKey, opts, stats, emit } = sh;
  const { model, randomized, clean } = m;
  // AutoAttack's rand version takes its own EOT count (20); the other attacks the config's
  const own = attack.type === 'autoattack' ? (attack.whiteBox!.options.eot as number) : undefined;
  const eot = randomized ? (own ?? opts.resolved.config.eot) : 1;
  for (const part of chunks(its, randomized ? 1 : WHITEBOX_CHUNK)) {
    const t = performance.now();
    const rows: (ResultRow | null)[] = part.map(() => null);
    const seeds = part.map((it) => rowSeed(configSeed, model, attack.key, it.index));
    const attacked: number[] = [];
    part.forEach((it, k) => {
      const c = clean.get(imageKey(it.set, it.index))!;
      if (c.error) rows[k] = errorRow(it, seeds[k], c.ms, c.error);
      else if (c.pred !== c.label) rows[k] = skippedRow(it, seeds[k], c);
      else attacked.push(k);
    });
    try {
      const cleanOf = (k: number) => clean.get(imageKey(part[k].set, part[k].index))!;
      const results = attacked.length
        ? await retrying(`${attack.type} on model ${model}`, () =>
            opts.backend.whiteBox({
              type: attack.type as WhiteBoxAttack,
              options: attack.whiteBox!.options,
              model,
              randomized,
              xs: attacked.map((k) => bytesToFloat(cleanOf(k).bytes)),
              labels: attacked.map((k) => cleanOf(k).label),
              seeds: attacked.map((k) => seeds[k]),
              eot,
            }),
          )
        : [];
      const ms = (performance.now() - t) / part.length;
      for (const [j, k] of attacked.entries()) {
        const res = results[j];
        const c = cleanOf(k);
        const adv = floatToBytes(res.adversarial);
        const { l2, linf } = byteDistances(adv, c.bytes);
        const row: ResultRow = {
          ...base(part[k], seeds[k], round(ms)),
          clean_pred: c.pred,
          adv_pred: res.adversarialLabel,
          success: res.success,
          queries: res.forwardQueries,
          gradient_evaluations: res.gradientEvaluations,
          l2: round(l2),
          linf: round(linf),
          ...(res.brokenBy !== undefined ? { broken_by: res.brokenBy } : {}),
          ...(res.version ? { version: res.version } : {}),
          ...(res.flags?.length ? { flags: res.flags } : {}),
        };
        stats.images += res.forwardQueries + res.gradientEvaluations;
        if (randomized) row.eot_success_rate = await eotRate(model, encodeBase64(adv), seeds[k], c.label);
        if (res.success) row.adv = encodeBase64(adv);
        rows[k] = row;
      }
    } catch (e) {
      if (e instanceof Interrupted) throw e;
      const ms = (performance.now() - t) / part.length;
      part.forEach((it, k) => {
        if (!rows[k]) rows[k] = errorRow(it, seeds[k], ms, message(e));
      });
    }
    emit(rows as ResultRow[], model, attack.key);
  }
}

/** The row kind that runs each attack type. */
const ROW_KINDS: Record<'none' | 'noise' | 'library' | 'whitebox' | 'certify', RowKind> = {
  none: noneRows,
  noise: noiseRows,
  library: libraryRows,
  whitebox: whiteBoxRows,
  certify: certifyRows,
};

export async function runExperiment(opts: RunnerOptions): Promise<RunStats> {
  const { planned, pending } = planPending(opts);
  const stats: RunStats = {
    total: planned.length,
    doneBefore: planned.length - pending.length,
    rows: 0,
    errors: 0,
    images: 0,
    elapsedMs: 0,
    interrupted: false,
  };
  opts.onPlan?.({ total: planned.length, done: stats.doneBefore, pending: pending.length });
  const t0 = performance.now();
  const writer = new ResultsWriter(opts.outDir);
  const sh = sharedContext(opts, stats, writer);
  try {
    for (const model of opts.resolved.models) {
      const items = pending.filter((it) => it.model === model);
      if (items.length === 0) continue;
      const scope = await cleanPredictions(sh, model, items);
      for (const attack of opts.resolved.attacks) {
        const its = items.filter((it) => it.attack.key === attack.key);
        if (its.length === 0) continue;
        const kind =
          attack.type === 'none' || attack.type === 'noise' || attack.type === 'certify'
            ? attack.type
            : isWhiteBoxAttack(attack.type)
              ? 'whitebox'
              : 'library';
        await ROW_KINDS[kind](sh, scope, its, attack);
      }
    }
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e;
    stats.interrupted = true;
    if (e instanceof BackendGone) stats.gone = e.reason;
  } finally {
    writer.close();
    stats.elapsedMs = performance.now() - t0;
  }
  return stats;
}
