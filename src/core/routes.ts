/**
 * The path grammar of the contract, in one place: the router answers these paths, and the page's
 * fetch shim hands exactly these to it (everything else goes to the network).
 */
import { CUSTOM_PREFIX } from './custom-models';

export type Action = 'decision' | 'score' | 'gradient';

export type ParsedPath = { kind: 'root' } | { kind: 'model'; modelId: string; action: Action };

/**
 * `/`, `/<arch>/<action>`, `/<arch>/<d>/<action>` (→ model `<arch>_<d>`), with an optional trailing
 * slash, query string and fragment; a custom model's `/custom/<id>/<action>` (→ model `custom/<id>`)
 * and `/custom/<id>/<variant>/<action>` (→ `custom/<id>/<variant>`). The model ID is not checked
 * here; null when no route matches.
 */
export function parseModelPath(path: string): ParsedPath | null {
  const bare = String(path).split(/[?#]/, 1)[0];
  if (!bare.startsWith('/')) return null;
  const trimmed = bare.length > 1 && bare.endsWith('/') ? bare.slice(1, -1) : bare.slice(1);
  if (trimmed === '') return { kind: 'root' };
  let segments: string[];
  try {
    segments = trimmed.split('/').map(decodeURIComponent);
  } catch {
    return null; // malformed %-escape
  }
  // an escaped slash inside a segment would reach a model under another path shape
  if (segments.some((s) => s === '' || s.includes('/'))) return null;
  const action = segments[segments.length - 1];
  if (action !== 'decision' && action !== 'score' && action !== 'gradient') return null;
  if (segments[0] === CUSTOM_PREFIX && (segments.length === 3 || segments.length === 4)) {
    return { kind: 'model', modelId: segments.slice(0, -1).join('/'), action };
  }
  if (segments.length === 2) return { kind: 'model', modelId: segments[0], action };
  if (segments.length === 3) return { kind: 'model', modelId: `${segments[0]}_${segments[1]}`, action };
  return null;
}
