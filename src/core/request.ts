/**
 * The request body of POST /<model>/decision|score (SPEC §4), validated with zod:
 *   { "image": "<base64 of raw pixel bytes>", "image_size": [width, height], "channel": 1 | 3, "seed"?: int }
 * plus the batch extension { "batch": [request, …], "seed"?: int } (never both "image" and "batch"). Unknown extra fields are ignored
 * (old clients send them). Every failure becomes { status, error } with the field named in plain words.
 */
import { z } from 'zod';
import { Base64Error, decodeBase64 } from './base64';

/** Largest accepted side, in pixels (so at most 4096×4096 pixels). */
export const MAX_SIDE = 4096;
/** Largest accepted body, UTF-8 bytes: 96 MiB fits a 4096×4096 RGB image (64 MiB of base64) with room. */
export const MAX_BODY_BYTES = 96 * 1024 * 1024;
export const MAX_BATCH = 4096;
export const MAX_SEED = 0xffffffff;
/**
 * Most JSON structure a valid body can have: containers, keys and list items (`[`, `{`, `:`, `,`
 * outside strings). A request is one object of five fields; a batch holds MAX_BATCH of them (about
 * 12 each), so 16 per item plus a margin. Unknown fields still fit, in moderation.
 */
export const MAX_JSON_TOKENS = 64 + 16 * MAX_BATCH;

export interface ImageRequest {
  /** decoded raw bytes, row-major: gray, or interleaved RGB */
  pixels: Uint8Array;
  width: number;
  height: number;
  channel: 1 | 3;
  seed?: number;
}

export interface ParsedBody {
  items: ImageRequest[];
  /** each item's JSON object, when parseRequestBody was asked to keep them (extension fields) */
  raw?: Record<string, unknown>[];
  /** true for the {"batch": […]} form (the answer is then a list) */
  batch: boolean;
  /** the batch's own seed (single requests carry theirs in items[0].seed) */
  seed?: number;
}

export type ParseError = { ok: false; status: 400 | 413; error: string };
export type ParseOutcome = { ok: true; value: ParsedBody } | ParseError;

const dimension = z.number().int().min(1).max(MAX_SIDE);
/** A request's `seed`: an integer in 0..MAX_SEED. */
export const seedSchema = z.number().int().min(0).max(MAX_SEED);

/** What each field must be, for the error messages. */
const REQUIREMENT: Record<string, string> = {
  image: 'a string holding the base64 of the raw pixel bytes',
  image_size: `an array [width, height] of two integers from 1 to ${MAX_SIDE}`,
  'image_size[0]': `the width, an integer from 1 to ${MAX_SIDE}`,
  'image_size[1]': `the height, an integer from 1 to ${MAX_SIDE}`,
  channel: '1 (8-bit gray) or 3 (interleaved RGB)',
  seed: `an integer from 0 to ${MAX_SEED}`,
  batch: `an array of 1 to ${MAX_BATCH} requests`,
};

/** One image request; its output carries the decoded bytes. */
export const imageRequestSchema = z
  .object({
    image: z.string(),
    image_size: z.tuple([dimension, dimension]),
    channel: z.literal([1, 3]),
    seed: seedSchema.optional(),
  })
  .transform((req, ctx): ImageRequest => {
    const [width, height] = req.image_size;
    const channel = req.channel;
    let pixels: Uint8Array;
    try {
      pixels = decodeBase64(req.image);
    } catch (e) {
      const why = e instanceof Base64Error ? e.message : String(e);
      ctx.issues.push({
        code: 'custom',
        path: ['image'],
        input: req.image,
        message: `is not valid base64: ${why}`,
      });
      return z.NEVER;
    }
    const need = width * height * channel;
    if (pixels.length !== need) {
      ctx.issues.push({
        code: 'custom',
        path: ['image'],
        input: req.image,
        message:
          `decodes to ${pixels.length} bytes, but image_size [${width}, ${height}] with channel ${channel} ` +
          `needs ${width}×${height}×${channel} = ${need} bytes`,
      });
      return z.NEVER;
    }
    return req.seed === undefined
      ? { pixels, width, height, channel }
      : { pixels, width, height, channel, seed: req.seed };
  });

/** The batch container; its items are checked one by one so the first bad one is named. */
export const batchRequestSchema = z.object({
  batch: z.array(z.unknown()).min(1).max(MAX_BATCH),
  seed: seedSchema.optional(),
});

/** UTF-8 length of a string without allocating the encoded bytes. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * Whether `text` has more than `limit` structural JSON tokens outside strings. JSON.parse of a body
 * of small values (90 MB of `[],`) holds the event loop for tens of seconds and takes gigabytes;
 * this scan is linear, allocates nothing and stops at the limit.
 */
export function jsonTokensOver(text: string, limit: number): boolean {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: jump to its closing quote (one not preceded by an odd run of backslashes)
      let end = text.indexOf('"', i + 1);
      while (end !== -1) {
        let slashes = 0;
        while (text.charCodeAt(end - 1 - slashes) === 0x5c) slashes++;
        if (slashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      if (end === -1) return false; // unterminated: JSON.parse says so
      i = end;
    } else if ((c === 0x5b || c === 0x7b || c === 0x2c || c === 0x3a) && ++n > limit) return true;
  }
  return false;
}

function fail(status: 400 | 413, error: string): ParseError {
  return { ok: false, status, error };
}

/** Parses and validates a request body; never throws. */
export function parseRequestBody(
  body: string | undefined,
  maxBodyBytes = MAX_BODY_BYTES,
  keepRaw = false,
): ParseOutcome {
  try {
    return parseUnsafe(body, maxBodyBytes, keepRaw);
  } catch (e) {
    // e.g. out of memory on a huge body: still a client-side problem, not a crash
    return fail(400, `request could not be read: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function parseUnsafe(body: string | undefined, maxBodyBytes: number, keepRaw: boolean): ParseOutcome {
  if (typeof body !== 'string' || body.trim() === '') {
    return fail(
      400,
      'request body is empty; expected a JSON object with "image", "image_size" and "channel"',
    );
  }
  // each UTF-16 unit is 1–3 UTF-8 bytes: count exactly only where it matters
  if (body.length > maxBodyBytes || (body.length * 3 > maxBodyBytes && utf8Length(body) > maxBodyBytes)) {
    return fail(413, `request body is larger than the limit of ${maxBodyBytes} bytes`);
  }
  const tokens = jsonTokensOver(body, MAX_JSON_TOKENS);
  if (tokens) {
    return fail(
      400,
      `request body has more than ${MAX_JSON_TOKENS} JSON arrays, objects, keys and list items; no valid request ` +
        `has that many (a batch of ${MAX_BATCH} requests has about ${12 * MAX_BATCH}), so it was not parsed`,
    );
  }
  let json: unknown;
  // one leading UTF-8 byte-order mark (a file written by Windows PowerShell) is not part of the
  // JSON: Python's json, and so the thesis service, accepts it
  const text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const first = text.charCodeAt(text.search(/[^ \t\n\r]/));
    const invisible =
      first < 0x20 ||
      (first >= 0x7f && first <= 0xa0) ||
      first === 0xfeff ||
      (first >= 0x200b && first <= 0x200f)
        ? `; it starts with the invisible character U+${first.toString(16).toUpperCase().padStart(4, '0')}`
        : '';
    return fail(
      400,
      `request body is not valid JSON (${e instanceof Error ? e.message : String(e)})${invisible}`,
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return fail(
      400,
      `request body must be a JSON object with "image", "image_size" and "channel", got ${describeValue(json)}`,
    );
  }
  if ('batch' in json) {
    // a body that is both forms would otherwise run the batch and silently drop the image
    if ('image' in json) {
      return fail(
        400,
        'request body has both "image" and "batch"; give either "image" (with "image_size" and "channel") ' +
          'for one image, or "batch" (a list of such requests), not both',
      );
    }
    return parseBatch(json, keepRaw);
  }
  const one = imageRequestSchema.safeParse(json);
  if (!one.success) return fail(400, formatIssues(one.error.issues, json));
  const value: ParsedBody = { items: [one.data], batch: false };
  if (keepRaw) value.raw = [json as Record<string, unknown>];
  return { ok: true, value };
}

function parseBatch(json: object, keepRaw: boolean): ParseOutcome {
  const outer = batchRequestSchema.safeParse(json);
  if (!outer.success) return fail(400, formatIssues(outer.error.issues, json));
  const items: ImageRequest[] = [];
  for (let i = 0; i < outer.data.batch.length; i++) {
    const raw = outer.data.batch[i];
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return fail(
        400,
        `batch[${i}]: each batch item must be a JSON object with "image", "image_size" and "channel", got ${describeValue(raw)}`,
      );
    }
    const item = imageRequestSchema.safeParse(raw);
    if (!item.success) return fail(400, `batch[${i}]: ${formatIssues(item.error.issues, raw)}`);
    items.push(item.data);
  }
  const value: ParsedBody = { items, batch: true };
  if (outer.data.seed !== undefined) value.seed = outer.data.seed;
  if (keepRaw) value.raw = outer.data.batch as Record<string, unknown>[];
  return { ok: true, value };
}

function pathName(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? String(p) : `.${String(p)}`;
  return s;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let cur: unknown = root;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, p))
      return { found: false, value: undefined };
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return { found: true, value: cur };
}

/** One issue in plain words: which field, what it must be, what it was. */
function describeIssue(issue: z.core.$ZodIssue, root: unknown, requirements: Record<string, string>): string {
  const name = pathName(issue.path);
  if (issue.code === 'custom') return `field "${name}" ${issue.message}`;
  const at = valueAt(root, issue.path);
  const requirement = requirements[name] ?? issue.message;
  if (!at.found || at.value === undefined) return `missing field "${name}": it must be ${requirement}`;
  return `field "${name}" must be ${requirement}, got ${describeValue(at.value)}`;
}

/**
 * The first issue, then each further field's own (a user fixing one problem at a time should not
 * have to guess the next): "missing field "image": … (and 2 more problems: …; …)". One field can
 * fail two checks (2^53 is neither a safe integer nor ≤ MAX_SEED): fields are counted, not checks.
 */
export function formatIssues(
  issues: readonly z.core.$ZodIssue[],
  root: unknown,
  requirements: Record<string, string> = REQUIREMENT,
): string {
  const seen = new Set([pathName(issues[0].path)]);
  const rest: string[] = [];
  for (const issue of issues) {
    const name = pathName(issue.path);
    if (seen.has(name)) continue;
    seen.add(name);
    rest.push(describeIssue(issue, root, requirements));
  }
  const more = rest.length
    ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''}: ${rest.join('; ')})`
    : '';
  return `${describeIssue(issues[0], root, requirements)}${more}`;
}

/** Short description of a JSON value for error messages (never the whole base64 string). */
function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) {
    if (v.length > 4) return `an array of ${v.length} items`;
    return `[${v.map((x) => (typeof x === 'object' && x !== null ? '…' : describeValue(x))).join(', ')}]`;
  }
  if (typeof v === 'string') return v.length > 24 ? `a string of ${v.length} characters` : JSON.stringify(v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}
