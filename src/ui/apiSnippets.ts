/** Request bodies for the API console and the equivalent fetch / curl snippets. */
import { imageRequestBody } from '../core/api';

export function makeBody(
  bytes: Uint8Array,
  width: number,
  height: number,
  channel: 1 | 3,
  seed?: number,
): string {
  return JSON.stringify(imageRequestBody(bytes, [width, height], channel, seed));
}

/** The JSON with long base64 strings cut down to something readable. */
export function shortenJson(text: string | undefined, keep = 32): string {
  if (text === undefined || text === '') return '(no body)';
  try {
    const value = JSON.parse(text) as unknown;
    const out = JSON.stringify(
      value,
      (key, v) =>
        key === 'image' && typeof v === 'string' && v.length > keep * 2
          ? `${v.slice(0, keep)}…(${v.length.toLocaleString('en')} chars)`
          : v,
      2,
    );
    return compactNumberArrays(out);
  } catch {
    return text.length > 400 ? `${text.slice(0, 400)}…` : text;
  }
}

/** Arrays of numbers (image_size, a score vector) on one line. */
function compactNumberArrays(text: string): string {
  return text.replace(
    /\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g,
    (_, inner: string) => `[${inner.split(/,\s*/).join(', ')}]`,
  );
}

export function prettyJson(value: unknown): string {
  const text = JSON.stringify(value, null, 2);
  return text === undefined ? String(value) : compactNumberArrays(text);
}

export function fetchSnippet(path: string, body: string): string {
  return [
    `// runs in the playground page (the fetch shim answers it), e.g. from the devtools console`,
    `const res = await fetch('${path}', {`,
    `  method: 'POST',`,
    `  headers: { 'Content-Type': 'application/json' },`,
    `  body: JSON.stringify(${body}),`,
    `});`,
    `console.log(res.status, await res.json());`,
  ].join('\n');
}

export function curlSnippet(baseUrl: string, path: string, body: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return `curl -s -X POST '${base}${path}' \\\n  -H 'Content-Type: application/json' \\\n  -d '${body}'`;
}

export const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};
