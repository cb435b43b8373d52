/** Auto / light / dark: auto follows prefers-color-scheme. */
import { useEffect } from 'react';
import { type ThemeChoice, usePrefsStore } from '../stores/prefsStore';
import { Icon, type IconName } from './icons';

const CHOICES: { value: ThemeChoice; label: string; icon: IconName }[] = [
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
    <fieldset className="segmented segmented--icons" data-testid="theme-toggle">
      <legend className="sr-only">Colour theme</legend>
      {CHOICES.map((c) => (
        <button
          key={c.value}
          type="button"
          className="segmented__item"
          aria-pressed={theme === c.value}
          aria-label={c.label}
          title={c.label}
          data-testid={`theme-${c.value}`}
          onClick={() => setTheme(c.value)}
        >
          <Icon name={c.icon} />
        </button>
      ))}
    </fieldset>
  );
}
