/**
 * The models the user brought, as the page shows them (UI state only: the bytes live in IndexedDB
 * and in the inference worker). Which models are listed, the upload in progress, refusals, storage
 * notices and test-set evaluations.
 */
import { create } from 'zustand';
import type { CustomModelEntry } from '../core/custom-models';

export interface UploadProgress {
  fileName: string;
  /** reading the file, checking it in onnxruntime, saving it for the next visit */
  phase: 'reading' | 'checking' | 'saving';
  loaded: number;
  total: number;
}

export interface Refusal {
  fileName: string;
  message: string;
  time: number;
}

export interface Evaluation {
  state: 'running' | 'done' | 'error';
  done: number;
  total: number;
  /** correct and total per class (index 0–9) */
  correct: number[];
  perClass: number[];
  accuracy: number | null;
  error: string | null;
  ms: number | null;
}

export interface CustomModelState {
  models: CustomModelEntry[];
  /** saved in this browser (IndexedDB) and restored on reload, by model ID */
  persisted: Record<string, boolean>;
  upload: UploadProgress | null;
  refusals: Refusal[];
  /** a storage problem (quota, IndexedDB unavailable) */
  storageNotice: string | null;
  evaluations: Record<string, Evaluation>;
  /** saved models that could not be served again (kept in storage; Retry on reload, or Remove) */
  unrestored: { id: string; fileName: string; message: string }[];
  restored: boolean;
  add(entry: CustomModelEntry, persisted: boolean): void;
  remove(id: string): void;
  setUpload(u: UploadProgress | null): void;
  refuse(fileName: string, message: string): void;
  dismissRefusal(time: number): void;
  setStorageNotice(n: string | null): void;
  setEvaluation(id: string, e: Evaluation): void;
  setRestored(): void;
  setUnrestored(u: CustomModelState['unrestored']): void;
}

export const useCustomModelStore = create<CustomModelState>()((set, get) => ({
  models: [],
  persisted: {},
  upload: null,
  refusals: [],
  storageNotice: null,
  evaluations: {},
  unrestored: [],
  restored: false,
  add(entry, persisted) {
    const others = get().models.filter((m) => m.id !== entry.id);
    set({ models: [...others, entry], persisted: { ...get().persisted, [entry.id]: persisted } });
  },
  remove(id) {
    const { [id]: _p, ...persisted } = get().persisted;
    const { [id]: _e, ...evaluations } = get().evaluations;
    set({ models: get().models.filter((m) => m.id !== id), persisted, evaluations });
  },
  setUpload: (upload) => set({ upload }),
  refuse(fileName, message) {
    set({ refusals: [...get().refusals.slice(-4), { fileName, message, time: Date.now() + Math.random() }] });
  },
  dismissRefusal(time) {
    set({ refusals: get().refusals.filter((r) => r.time !== time) });
  },
  setStorageNotice: (storageNotice) => set({ storageNotice }),
  setEvaluation(id, e) {
    set({ evaluations: { ...get().evaluations, [id]: e } });
  },
  setRestored: () => set({ restored: true }),
  setUnrestored: (unrestored) => set({ unrestored }),
}));
