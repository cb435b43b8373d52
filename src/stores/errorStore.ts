/** Error banners: everything that went wrong stays visible until the user dismisses it. */
import { create } from 'zustand';

export type BannerLevel = 'error' | 'warning' | 'info';

export interface Banner {
  id: number;
  /** Banners with the same key replace each other instead of stacking. */
  key: string;
  level: BannerLevel;
  title: string;
  message: string;
  count: number;
  time: number;
}

export interface ErrorState {
  banners: Banner[];
  push(b: { key?: string; level?: BannerLevel; title: string; message: string }): void;
  dismiss(id: number): void;
  dismissAll(): void;
}

let nextId = 1;

export const useErrorStore = create<ErrorState>()((set, get) => ({
  banners: [],
  push({ key, level = 'error', title, message }) {
    const k = key ?? `${title}:${message}`;
    const existing = get().banners.find((b) => b.key === k);
    if (existing) {
      set({
        banners: get().banners.map((b) =>
          b.id === existing.id
            ? {
                ...b,
                message,
                title,
                level,
                // a keyed banner that was updated with new content is not a repeat
                count: key !== undefined && b.message !== message ? b.count : b.count + 1,
                time: Date.now(),
              }
            : b,
        ),
      });
      return;
    }
    set({
      banners: [
        ...get().banners,
        { id: nextId++, key: k, level, title, message, count: 1, time: Date.now() },
      ],
    });
  },
  dismiss(id) {
    set({ banners: get().banners.filter((b) => b.id !== id) });
  },
  dismissAll() {
    set({ banners: [] });
  },
}));

/** Shorthand for code outside React. */
export function reportError(
  title: string,
  message: string,
  key?: string,
  level: BannerLevel = 'error',
): void {
  useErrorStore.getState().push({ title, message, key, level });
}
