/** The test-set gallery: load state, class filter, page. */
import { create } from 'zustand';
import type { TestSet } from '../data/idx';

export interface GalleryState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  error: string | null;
  testSet: TestSet | null;
  /** Class index to show, or null for all classes. */
  classFilter: number | null;
  page: number;
  setLoading(): void;
  setLoaded(set: TestSet): void;
  setFailed(message: string): void;
  setClassFilter(c: number | null): void;
  setPage(p: number): void;
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
}));

const indexCache = new WeakMap<TestSet, Map<number | null, number[]>>();

/** Test-set indices of one class (or all), cached per test set. */
export function filteredIndices(testSet: TestSet, cls: number | null): number[] {
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
