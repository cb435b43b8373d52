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

export function useAutoClassify(): void {
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let running = false;
    let dirty = false;
    let disposed = false;
    /** Request fingerprint per target key, so unchanged targets are not re-run. */
    const done = new Map<string, string>();
    /** Weight sets that failed to load in this worker generation, with why. */
    const failed = new Map<string, string>();
    let failedGeneration = useEngineStore.getState().generation;

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
      if (disposed) return;
      if (running) {
        dirty = true;
        return;
      }
      running = true;
      try {
        await classifyAll();
      } finally {
        running = false;
        if (dirty && !disposed) {
          dirty = false;
          schedule(0);
        }
      }
    }

    function fingerprint(t: Target, version: number): string {
      const r = useResultsStore.getState();
      const base = `${version}|${t.weights}|${JSON.stringify(t.preprocessor)}|${t.modelId ?? ''}`;
      if (!t.randomized) return base;
      const n = r.sampling ? r.sampleCount : 1;
      return `${base}|n${n}|s${parseSeed(r.seedText) ?? 'fresh'}|r${r.redrawToken}`;
    }

    async function classifyAll() {
      const { input, version } = useImageStore.getState();
      const { selected, customPairs } = useModelStore.getState();
      if (!input) {
        // No image yet (the test set is still downloading on first load): start loading the selected
        // models now so the WASM start-up and the model downloads overlap it. Loads are shared per
        // weight set in the worker, so the classify run that follows waits on the same ones; errors
        // are reported by that run.
        for (const w of new Set(targetsFor(selected, customPairs).map((t) => t.weights)))
          if (!failed.has(w)) engine.load(w).catch(() => {});
        return;
      }
      const gen = useEngineStore.getState().generation;
      if (gen !== failedGeneration) {
        failed.clear();
        failedGeneration = gen;
      }
      const targets = targetsFor(selected, customPairs).filter(
        (t) => done.get(t.key) !== fingerprint(t, version),
      );
      if (targets.length === 0) return;
      const results = useResultsStore.getState();
      results.markPending(targets.map((t) => t.key));
      results.setBusy(true);
      const seed = parseSeed(results.seedText);
      const n = results.sampling ? results.sampleCount : 1;
      // fingerprints of what is requested now, before any await: settings changed mid-run must
      // not be recorded as done (they trigger another run)
      const requested = new Map(targets.map((t) => [t.key, fingerprint(t, version)]));

      // group by weight set: loads run in parallel, inference calls one after another
      const groups = new Map<string, Target[]>();
      for (const t of targets) groups.set(t.weights, [...(groups.get(t.weights) ?? []), t]);
      await Promise.all(
        [...groups].map(async ([weights, group]) => {
          let loadError = failed.get(weights) ?? null;
          if (!loadError) {
            try {
              await engine.load(weights);
            } catch (err) {
              loadError = errorText(err);
              failed.set(weights, loadError);
            }
          }
          for (const t of group) {
            const fp = requested.get(t.key)!;
            if (loadError) {
              setResult(t.key, errorResult(version, loadError));
              done.set(t.key, fp);
              continue;
            }
            const inputs =
              t.randomized && n > 1 ? Array.from({ length: n }, () => input.slice()) : [input.slice()];
            try {
              const out = (await serialized(() =>
                engine.classify({
                  model: t.modelId ?? { weights: t.weights, preprocessor: t.preprocessor },
                  inputs,
                  seed: t.randomized ? seed : undefined,
                }),
              )) as unknown as ClassifyOutput;
              setResult(t.key, {
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
              done.set(t.key, fp);
            } catch (err) {
              setResult(t.key, errorResult(version, errorText(err)));
              done.set(t.key, fp);
            }
          }
        }),
      );
      useResultsStore.getState().setBusy(false);
    }

    function setResult(key: string, r: ModelResult) {
      if (!disposed) useResultsStore.getState().setResult(key, r);
    }

    const unsubs = [
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
          done.clear();
          schedule(300);
        }
      }),
    ];
    schedule(0);
    return () => {
      disposed = true;
      if (timer) clearTimeout(timer);
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
