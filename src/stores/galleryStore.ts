/** The test-set gallery: load state, image source (clean or an adversarial set), class filter, page. */
import { create } from 'zustand';
import type { AdversarialIndex, AdversarialSet } from '../data/adversarial';
import type { TestSet } from '../data/idx';

export interface GalleryState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  error: string | null;
  testSet: TestSet | null;
  /** Class index to show, or null for all classes. */
  classFilter: number | null;
  page: number;
  /** The adversarial sets on offer (data/adversarial/index.json); null until loaded. */
  adversarialIndex: AdversarialIndex | null;
  /** The image source: null for the clean test set, else an adversarial set's name. */
  source: string | null;
  /** The chosen adversarial set, once loaded and checked; null while loading or for the clean set. */
  adversarial: AdversarialSet | null;
  /** Why the chosen set (or the index) could not be used. */
  sourceError: string | null;
  setLoading(): void;
  setLoaded(set: TestSet): void;
  setFailed(message: string): void;
  setClassFilter(c: number | null): void;
  setPage(p: number): void;
  setAdversarialIndex(index: AdversarialIndex): void;
  setSource(name: string | null): void;
  setAdversarial(set: AdversarialSet): void;
  setSourceError(message: string | null): void;
}

export const GALLERY_PAGE_SIZE = 30;

export const useGalleryStore = create<GalleryState>()((set) => ({
  status: 'idle',
  error: null,
  testSet: null,
  classFilter: null,
  page: 0,
  setLoading: () => set({ status: 'loading', error: null }),
  setLoaded: (testSet) => set({ status: 'ready', testSet, error: null }),
  setFailed: (error) => set({ status: 'error', error }),
  setClassFilter: (classFilter) => set({ classFilter, page: 0 }),
  setPage: (page) => set({ page: Math.max(0, page) }),
  adversarialIndex: null,
  source: null,
  adversarial: null,
  sourceError: null,
  setAdversarialIndex: (adversarialIndex) => set({ adversarialIndex }),
  setSource: (source) => set({ source, adversarial: null, sourceError: null, page: 0 }),
  setAdversarial: (adversarial) =>
    set((s) => (s.source === adversarial.name ? { adversarial, sourceError: null } : {})),
  setSourceError: (sourceError) => set({ sourceError }),
}));

const indexCache = new WeakMap<TestSet, Map<number | null, number[]>>();

/**
 * Test-set indices of one class (or all), cached per test set; with an adversarial set, only the
 * indices it covers.
 */
export function filteredIndices(
  testSet: TestSet,
  cls: number | null,
  within?: AdversarialSet | null,
): number[] {
  if (within) return within.card.subset.indices.filter((i) => cls === null || testSet.labels[i] === cls);
  let byClass = indexCache.get(testSet);
  if (!byClass) {
    byClass = new Map();
    indexCache.set(testSet, byClass);
  }
  let list = byClass.get(cls);
  if (!list) {
    list = [];
    for (let i = 0; i < testSet.count; i++) if (cls === null || testSet.labels[i] === cls) list.push(i);
    byClass.set(cls, list);
  }
  return list;
}
