/** Which models are compared: a subset of the fifteen, plus user-composed preprocessor + weights pairs. */
import { create } from 'zustand';
import { customIdOf } from '../core/custom-models';
import { type Arch, type Defense, MODELS, type PreprocessorSpec } from '../core/models';

export interface CustomPair {
  /** Stable key, e.g. "custom-1". */
  key: string;
  weights: string;
  preprocessor: PreprocessorSpec | null;
}

export interface ModelSelectionState {
  /** Selected model IDs, always in grid order (architecture, then defense). */
  selected: string[];
  customPairs: CustomPair[];
  /** The model the API console talks to; null = first selected. */
  focused: string | null;
  toggle(id: string): void;
  setSelected(ids: string[]): void;
  selectArch(arch: Arch): void;
  selectDefense(defense: Defense): void;
  selectAll(): void;
  clear(): void;
  addCustomPair(weights: string, preprocessor: PreprocessorSpec | null): void;
  removeCustomPair(key: string): void;
  setFocused(id: string | null): void;
}

const ORDER = new Map(MODELS.map((m, i) => [m.id, i]));

/** The fifteen in grid order, then uploaded models (`custom/<id>…`) in the order they were given. */
function ordered(ids: Iterable<string>): string[] {
  const unique = [...new Set(ids)];
  const table = unique.filter((id) => ORDER.has(id)).sort((a, b) => ORDER.get(a)! - ORDER.get(b)!);
  return [...table, ...unique.filter((id) => customIdOf(id) !== null)];
}

let pairCounter = 0;

export const DEFAULT_SELECTION = MODELS.filter((m) => m.arch === 'cnn').map((m) => m.id);

export const useModelStore = create<ModelSelectionState>()((set, get) => ({
  selected: DEFAULT_SELECTION,
  customPairs: [],
  focused: null,
  toggle(id) {
    const cur = get().selected;
    set({ selected: cur.includes(id) ? cur.filter((x) => x !== id) : ordered([...cur, id]) });
  },
  setSelected: (ids) => set({ selected: ordered(ids) }),
  selectArch: (arch) => set({ selected: MODELS.filter((m) => m.arch === arch).map((m) => m.id) }),
  selectDefense: (defense) => set({ selected: MODELS.filter((m) => m.defense === defense).map((m) => m.id) }),
  selectAll: () => set({ selected: MODELS.map((m) => m.id) }),
  clear: () => set({ selected: [], customPairs: [] }),
  addCustomPair(weights, preprocessor) {
    pairCounter++;
    set({ customPairs: [...get().customPairs, { key: `custom-${pairCounter}`, weights, preprocessor }] });
  },
  removeCustomPair(key) {
    set({ customPairs: get().customPairs.filter((p) => p.key !== key) });
  },
  setFocused: (focused) => set({ focused }),
}));
