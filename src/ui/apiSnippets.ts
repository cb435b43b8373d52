/** Request bodies for the API console, the equivalent fetch / curl snippets, and the console's messages. */
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

/**
 * Why an HTTP endpoint gave no answer, naming it: the browsers' own messages ("Failed to fetch",
 * "NetworkError…", "Load failed") say neither where nor why. Same wording as the attack lab's
 * (src/ui/attack/runner.ts).
 */
export function endpointErrorText(endpoint: string, message: string): string {
  if (!/Failed to fetch|NetworkError|Load failed/i.test(message)) return `${endpoint}: ${message}`;
  return `${endpoint} did not answer (${message}): is the service running, and does it allow this page's origin (CORS)? \`npm run serve\` allows any origin unless started with --cors or --no-cors.`;
}

/** The `X-Seed` of a response (header names in any case), or undefined when it has none. */
export function responseSeed(headers: Record<string, string>): number | undefined {
  const value = Object.entries(headers).find(([k]) => k.toLowerCase() === 'x-seed')?.[1];
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/**
 * `body` with `"seed": seed` added (a body that already has a seed keeps it), so that a randomized
 * defense draws the same noise as the answer that reported `seed` in X-Seed.
 */
export function withSeed(body: string, seed: number | undefined): string {
  if (seed === undefined) return body;
  try {
    const value = JSON.parse(body) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value) || 'seed' in value) return body;
    return JSON.stringify({ ...value, seed });
  } catch {
    return body;
  }
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
