/** What the inference engine reports: backend, per-weight load state, the models manifest. UI state only. */
import { create } from 'zustand';
import type { BackendChoice, BackendStatus, WeightStatus } from '../engine/types';

export interface ManifestModelInfo {
  id: string;
  cleanAccuracy: number | null;
}

export interface EngineState {
  backend: BackendStatus | null;
  choice: BackendChoice;
  /** Keyed by weight-set ID. */
  weights: Record<string, WeightStatus>;
  /** Bumped whenever the worker was (re)started: loaded sessions are gone. */
  generation: number;
  manifest: 'loading' | 'missing' | 'ready';
  /** Weight sets the manifest lists a file for. */
  availableWeights: string[];
  models: Record<string, ManifestModelInfo>;
  setBackend(s: BackendStatus): void;
  setChoice(c: BackendChoice): void;
  setWeight(s: WeightStatus): void;
  restarted(generation: number): void;
  setManifest(m: { availableWeights: string[]; models: Record<string, ManifestModelInfo> } | null): void;
}

export const useEngineStore = create<EngineState>()((set, get) => ({
  backend: null,
  choice: 'auto',
  weights: {},
  generation: 1,
  manifest: 'loading',
  availableWeights: [],
  models: {},
  setBackend: (backend) => set({ backend }),
  setChoice: (choice) => set({ choice }),
  setWeight(s) {
    set({ weights: { ...get().weights, [s.weights]: s } });
  },
  restarted(generation) {
    set({ generation, weights: {}, backend: null });
  },
  setManifest(m) {
    if (!m) set({ manifest: 'missing', availableWeights: [], models: {} });
    else set({ manifest: 'ready', availableWeights: m.availableWeights, models: m.models });
  },
}));
