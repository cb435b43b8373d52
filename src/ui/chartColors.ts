/** Chart colours come from the theme's CSS custom properties, re-read when the theme changes. */
import { useMemo } from 'react';
import { usePrefsStore } from '../stores/prefsStore';

export interface ChartColors {
  bar: string;
  barStrong: string;
  truth: string;
  text: string;
  muted: string;
  grid: string;
}

export function useChartColors(): ChartColors {
  const theme = usePrefsStore((s) => s.resolvedTheme);
  const choice = usePrefsStore((s) => s.theme);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the CSS variables change with the theme
  return useMemo(() => {
    const css = getComputedStyle(document.documentElement);
    const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
    return {
      bar: v('--chart-bar', '#9db4e8'),
      barStrong: v('--accent', '#2f5bd3'),
      truth: v('--ok', '#1a8a4a'),
      text: v('--text', '#1b1f2a'),
      muted: v('--text-muted', '#5b6475'),
      grid: v('--border', '#d9dde6'),
    };
  }, [theme, choice]);
}
