/**
 * Reading the page's URL parameters: a value the page cannot use is named in one warning banner
 * (keyed `url-<name>`) with what it must be and the default used instead, never silently replaced.
 * Used at start-up (src/app/runtime.ts: backend, pool size) and for the view (src/ui/urlState.ts).
 */
import { reportError } from '../stores/errorStore';

/** Warns about a URL parameter the page cannot use, naming what it must be and the default used. */
export function warnParam(name: string, value: string, expected: string, fallback: string): void {
  reportError(
    `Ignored “${name}” in the link`,
    `?${name}=${value} is not ${expected}; using the default, ${fallback}`,
    `url-${name}`,
    'warning',
  );
}

/**
 * The whole-number parameter `name` of `params` when it lies in [min, max]; undefined when absent,
 * and undefined with a warning (naming the range and `fallback`, the default used) when it does not.
 */
export function intParam(
  params: URLSearchParams,
  name: string,
  min: number,
  max: number,
  fallback: string,
): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (n >= min && n <= max) return n;
  const range = max === Number.POSITIVE_INFINITY ? `≥ ${min}` : `from ${min} to ${max}`;
  warnParam(name, raw, `a whole number ${range}`, fallback);
  return undefined;
}
