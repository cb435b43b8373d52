/** Presentation preferences: colour theme, which input tab is open, how uploads treat transparency. */
import { create } from 'zustand';

export type ThemeChoice = 'system' | 'light' | 'dark';
export type InputTab = 'draw' | 'upload' | 'gallery';

function savedTheme(): ThemeChoice {
  try {
    const t = localStorage.getItem('theme');
    return t === 'light' || t === 'dark' ? t : 'system';
  } catch {
    return 'system';
  }
}

export interface PrefsState {
  theme: ThemeChoice;
  /** The theme actually shown (system resolved through prefers-color-scheme). */
  resolvedTheme: 'light' | 'dark';
  inputTab: InputTab;
  /** Uploads with transparency: 'none' drops alpha as Pillow does (default), or composite first. */
  uploadFlatten: 'none' | 'white' | 'black';
  setTheme(t: ThemeChoice): void;
  setResolvedTheme(t: 'light' | 'dark'): void;
  setInputTab(t: InputTab): void;
  setUploadFlatten(f: 'none' | 'white' | 'black'): void;
}

export const usePrefsStore = create<PrefsState>()((set) => ({
  theme: savedTheme(),
  resolvedTheme: 'light',
  inputTab: 'gallery',
  uploadFlatten: 'none',
  setTheme(theme) {
    try {
      if (theme === 'system') localStorage.removeItem('theme');
      else localStorage.setItem('theme', theme);
    } catch {
      /* storage unavailable: the choice lasts for this page only */
    }
    set({ theme });
  },
  setResolvedTheme: (resolvedTheme) => set({ resolvedTheme }),
  setInputTab: (inputTab) => set({ inputTab }),
  setUploadFlatten: (uploadFlatten) => set({ uploadFlatten }),
}));
