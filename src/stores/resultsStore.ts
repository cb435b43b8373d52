/** Classification results shown in the comparison view, and how they are asked for (mode, sampling, seed). */

import { create } from 'zustand';
import { MAX_SEED } from '../core/request';

export type ViewMode = 'decision' | 'score';

export interface ModelResult {
  status: 'pending' | 'ready' | 'error';
  /** Image version the result belongs to. */
  imageVersion: number;
  /** One entry per draw (one draw unless sampled). */
  probs: Float32Array[];
  preds: number[];
  /** The 28×28 input each draw actually received, after the model's preprocessor. */
  modelInputs: Float32Array[];
  /** Per-draw randomness the preprocessor used (empty for deterministic models). */
  draws: unknown[];
  seed: number | null;
  inferenceMs: number | null;
  error: string | null;
}

export interface ResultsState {
  mode: ViewMode;
  /** Sample randomized models N times per query. */
  sampling: boolean;
  sampleCount: number;
  /** Raw text of the seed field; empty = fresh randomness on every query. */
  seedText: string;
  /** Bumped by "redraw" to ask for fresh randomness without an image change. */
  redrawToken: number;
  results: Record<string, ModelResult>;
  busy: boolean;
  setMode(m: ViewMode): void;
  setSampling(on: boolean): void;
  setSampleCount(n: number): void;
  setSeedText(s: string): void;
  redraw(): void;
  setResult(key: string, r: ModelResult): void;
  markPending(keys: string[]): void;
  setBusy(b: boolean): void;
}

export const DEFAULT_SAMPLE_COUNT = 20;
export const MAX_SAMPLE_COUNT = 500;

export { MAX_SEED };

/** The seed to send, or undefined when the field is empty or not an integer in 0..MAX_SEED. */
export function parseSeed(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d{1,10}$/.test(t)) return undefined;
  const n = Number(t);
  return n <= MAX_SEED ? n : undefined;
}

export const useResultsStore = create<ResultsState>()((set, get) => ({
  mode: 'decision',
  sampling: false,
  sampleCount: DEFAULT_SAMPLE_COUNT,
  seedText: '',
  redrawToken: 0,
  results: {},
  busy: false,
  setMode: (mode) => set({ mode }),
  setSampling: (sampling) => set({ sampling }),
  setSampleCount: (n) =>
    set({ sampleCount: Math.max(1, Math.min(MAX_SAMPLE_COUNT, Math.round(Number.isFinite(n) ? n : 1))) }),
  setSeedText: (seedText) => set({ seedText }),
  redraw: () => set({ redrawToken: get().redrawToken + 1 }),
  setResult(key, r) {
    set({ results: { ...get().results, [key]: r } });
  },
  markPending(keys) {
    const next = { ...get().results };
    for (const k of keys) {
      const prev = next[k];
      if (prev && prev.status !== 'pending') next[k] = { ...prev, status: 'pending' };
    }
    set({ results: next });
  },
  setBusy: (busy) => set({ busy }),
}));

/** Per-class vote counts over the draws. */
export function voteCounts(r: ModelResult): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const p of r.preds) counts[p]++;
  return counts;
}

/** Mean probability vector over the draws. */
export function meanProbs(r: ModelResult): Float32Array {
  const out = new Float32Array(10);
  if (r.probs.length === 0) return out;
  for (const p of r.probs) for (let c = 0; c < 10; c++) out[c] += p[c];
  for (let c = 0; c < 10; c++) out[c] /= r.probs.length;
  return out;
}

/** The decision to show: the single draw's, or the majority vote over sampled draws. */
export function summaryDecision(r: ModelResult): { cls: number; confidence: number; votes: number } | null {
  if (r.preds.length === 0) return null;
  if (r.preds.length === 1) return { cls: r.preds[0], confidence: r.probs[0][r.preds[0]], votes: 1 };
  const counts = voteCounts(r);
  const mean = meanProbs(r);
  let best = 0;
  for (let c = 1; c < 10; c++)
    if (counts[c] > counts[best] || (counts[c] === counts[best] && mean[c] > mean[best])) best = c;
  return { cls: best, confidence: mean[best], votes: counts[best] };
}
