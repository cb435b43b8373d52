/**
 * Keeps the comparison results current: whenever the image, the selection, the seed or the sampling
 * settings change, classify (drawing and settings debounced ~150 ms, a new image at once; changes
 * that arrive during a run are coalesced into one more run).
 */
import { useEffect } from 'react';
import { engine } from '../app/runtime';
import { useEngineStore } from '../stores/engineStore';
import { useImageStore } from '../stores/imageStore';
import { useModelStore } from '../stores/modelStore';
import { type ModelResult, parseSeed, useResultsStore } from '../stores/resultsStore';
import { type Target, targetsFor } from './targets';

const DEBOUNCE_MS = 150;
/** While changes keep coming (a long stroke), still classify at least this often. */
const MAX_WAIT_MS = 400;

/** Worker runs are serialized from here: loads overlap, inference calls do not. */
let runChain: Promise<unknown> = Promise.resolve();
export function serialized<T>(fn: () => Promise<T>): Promise<T> {
  const next = runChain.then(fn, fn);
  runChain = next.catch(() => {});
  return next;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface ClassifyOutput {
  probs: Float32Array[];
  preds: number[];
  modelInputs: Float32Array[];
  draws?: unknown[];
  seed?: number | null;
  inferenceMs?: number;
}

/** What one mounted hook remembers between runs. */
interface RunState {
  disposed: boolean;
  /** Request fingerprint per target key, so unchanged targets are not re-run. */
  done: Map<string, string>;
  /** Weight sets that failed to load in this worker generation, with why. */
  failed: Map<string, string>;
  failedGeneration: number;
}

/** The image and settings one run classifies with, read before any await. */
interface RunRequest {
  input: Float32Array;
  version: number;
  seed: number | undefined;
  n: number;
  /** Fingerprints of what is requested now: settings changed mid-run must not be recorded as done. */
  requested: Map<string, string>;
}

/** Debounced runs of `task`, at most one at a time; requests during a run coalesce into one more. */
function createRunLoop(state: RunState, task: () => Promise<void>) {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running = false;
  let dirty = false;
  let pendingSince: number | null = null;

  const schedule = (delay = DEBOUNCE_MS) => {
    const now = performance.now();
    if (pendingSince === null) pendingSince = now;
    const wait = Math.max(0, Math.min(delay, pendingSince + MAX_WAIT_MS - now));
    if (timer) clearTimeout(timer);
    timer = setTimeout(run, wait);
  };

  async function run() {
    timer = null;
    pendingSince = null;
    if (state.disposed) return;
    if (running) {
      dirty = true;
      return;
    }
    running = true;
    try {
      await task();
    } finally {
      running = false;
      if (dirty && !state.disposed) {
        dirty = false;
        schedule(0);
      }
    }
  }

  const cancel = () => {
    if (timer) clearTimeout(timer);
  };
  return { schedule, cancel };
}

/** What a target's result depends on; equal fingerprints mean its result is still current. */
function fingerprint(t: Target, version: number): string {
  const r = useResultsStore.getState();
  const base = `${version}|${t.weights}|${JSON.stringify(t.preprocessor)}|${t.modelId ?? ''}`;
  if (!t.randomized) return base;
  const n = r.sampling ? r.sampleCount : 1;
  return `${base}|n${n}|s${parseSeed(r.seedText) ?? 'fresh'}|r${r.redrawToken}`;
}

function setResult(state: RunState, key: string, r: ModelResult): void {
  if (!state.disposed) useResultsStore.getState().setResult(key, r);
}

/** Classifies every selected target whose fingerprint changed since its last result. */
async function classifyAll(state: RunState): Promise<void> {
  const { input, version } = useImageStore.getState();
  const { selected, customPairs } = useModelStore.getState();
  if (!input) {
    // No image yet (the test set is still downloading on first load): start loading the selected
    // models now so the WASM start-up and the model downloads overlap it. Loads are shared per
    // weight set in the worker, so the classify run that follows waits on the same ones; errors
    // are reported by that run.
    for (const w of new Set(targetsFor(selected, customPairs).map((t) => t.weights)))
      if (!state.failed.has(w)) engine.load(w).catch(() => {});
    return;
  }
  const gen = useEngineStore.getState().generation;
  if (gen !== state.failedGeneration) {
    state.failed.clear();
    state.failedGeneration = gen;
  }
  const targets = targetsFor(selected, customPairs).filter(
    (t) => state.done.get(t.key) !== fingerprint(t, version),
  );
  if (targets.length === 0) return;
  const results = useResultsStore.getState();
  results.markPending(targets.map((t) => t.key));
  results.setBusy(true);
  const request: RunRequest = {
    input,
    version,
    seed: parseSeed(results.seedText),
    n: results.sampling ? results.sampleCount : 1,
    requested: new Map(targets.map((t) => [t.key, fingerprint(t, version)])),
  };

  // group by weight set: loads run in parallel, inference calls one after another
  const groups = new Map<string, Target[]>();
  for (const t of targets) groups.set(t.weights, [...(groups.get(t.weights) ?? []), t]);
  await Promise.all([...groups].map(([weights, group]) => classifyGroup(state, weights, group, request)));
  useResultsStore.getState().setBusy(false);
}

/** Loads one weight set (unless it already failed this generation), then classifies its targets in turn. */
async function classifyGroup(state: RunState, weights: string, group: Target[], req: RunRequest) {
  let loadError = state.failed.get(weights) ?? null;
  if (!loadError) {
    try {
      await engine.load(weights);
    } catch (err) {
      loadError = errorText(err);
      state.failed.set(weights, loadError);
    }
  }
  for (const t of group) {
    if (loadError) {
      setResult(state, t.key, errorResult(req.version, loadError));
      state.done.set(t.key, req.requested.get(t.key)!);
      continue;
    }
    await classifyTarget(state, t, req);
  }
}

async function classifyTarget(state: RunState, t: Target, req: RunRequest): Promise<void> {
  const { input, version, seed, n } = req;
  const fp = req.requested.get(t.key)!;
  const inputs = t.randomized && n > 1 ? Array.from({ length: n }, () => input.slice()) : [input.slice()];
  try {
    const out = (await serialized(() =>
      engine.classify({
        model: t.modelId ?? { weights: t.weights, preprocessor: t.preprocessor },
        inputs,
        seed: t.randomized ? seed : undefined,
      }),
    )) as unknown as ClassifyOutput;
    setResult(state, t.key, {
      status: 'ready',
      imageVersion: version,
      probs: out.probs,
      preds: out.preds,
      modelInputs: out.modelInputs,
      draws: out.draws ?? [],
      seed: out.seed ?? null,
      inferenceMs: out.inferenceMs ?? null,
      error: null,
    });
    state.done.set(t.key, fp);
  } catch (err) {
    setResult(state, t.key, errorResult(version, errorText(err)));
    state.done.set(t.key, fp);
  }
}

/** Schedules a run on every store change that can change a result; returns the unsubscribers. */
function subscribeToChanges(state: RunState, schedule: (delay?: number) => void): (() => void)[] {
  return [
    useImageStore.subscribe((s, p) => {
      // a drawing stroke changes the image many times a second: debounce those; a new image from
      // the gallery, an upload or a link is one change, classified at once
      if (s.version !== p.version) schedule(s.source?.kind === 'draw' ? DEBOUNCE_MS : 0);
    }),
    useModelStore.subscribe((s, p) => {
      if (s.selected !== p.selected || s.customPairs !== p.customPairs) schedule(0);
    }),
    useResultsStore.subscribe((s, p) => {
      if (
        s.sampling !== p.sampling ||
        s.sampleCount !== p.sampleCount ||
        s.seedText !== p.seedText ||
        s.redrawToken !== p.redrawToken
      )
        schedule();
    }),
    useEngineStore.subscribe((s, p) => {
      if (s.generation !== p.generation) {
        state.done.clear();
        schedule(300);
      }
    }),
  ];
}

/** Classifies the current image with the selected models whenever either (or a setting) changes. */
export function useAutoClassify(): void {
  useEffect(() => {
    const state: RunState = {
      disposed: false,
      done: new Map(),
      failed: new Map(),
      failedGeneration: useEngineStore.getState().generation,
    };
    const loop = createRunLoop(state, () => classifyAll(state));
    const unsubs = subscribeToChanges(state, loop.schedule);
    loop.schedule(0);
    return () => {
      state.disposed = true;
      loop.cancel();
      for (const u of unsubs) u();
    };
  }, []);
}

function errorResult(version: number, error: string): ModelResult {
  return {
    status: 'error',
    imageVersion: version,
    probs: [],
    preds: [],
    modelInputs: [],
    draws: [],
    seed: null,
    inferenceMs: null,
    error,
  };
}
