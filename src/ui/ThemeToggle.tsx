/** Auto / light / dark: auto follows prefers-color-scheme. */
import { useEffect } from 'react';
import { type ThemeChoice, usePrefsStore } from '../stores/prefsStore';
import { Segmented, type SegmentedOption } from './Segmented';

const CHOICES: SegmentedOption<ThemeChoice>[] = [
  { value: 'system', label: 'Follow system theme', icon: 'monitor' },
  { value: 'light', label: 'Light theme', icon: 'sun' },
  { value: 'dark', label: 'Dark theme', icon: 'moon' },
];

/** Applies the chosen theme to <html data-theme> and tracks the resolved one. */
export function useThemeEffect(): void {
  const theme = usePrefsStore((s) => s.theme);
  useEffect(() => {
    const root = document.documentElement;
    if (theme === 'system') delete root.dataset.theme;
    else root.dataset.theme = theme;
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    const update = () =>
      usePrefsStore.getState().setResolvedTheme(theme === 'system' ? (mq.matches ? 'dark' : 'light') : theme);
    update();
    mq.addEventListener('change', update);
    return () => mq.removeEventListener('change', update);
  }, [theme]);
}

export function ThemeToggle() {
  const theme = usePrefsStore((s) => s.theme);
  const setTheme = usePrefsStore((s) => s.setTheme);
  return (
    <Segmented
      legend="Colour theme"
      options={CHOICES}
      value={theme}
      onSelect={setTheme}
      testIdPrefix="theme"
      iconsOnly
      testId="theme-toggle"
    />
  );
}
