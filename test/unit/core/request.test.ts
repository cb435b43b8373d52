import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../../src/core/base64';
import {
  jsonTokensOver,
  MAX_BATCH,
  MAX_BODY_BYTES,
  MAX_JSON_TOKENS,
  parseRequestBody,
  utf8Length,
} from '../../../src/core/request';

const gray = (w: number, h: number, fill = 7) => encodeBase64(new Uint8Array(w * h).fill(fill));
const valid = (extra: Record<string, unknown> = {}) => ({
  image: gray(28, 28),
  image_size: [28, 28],
  channel: 1,
  ...extra,
});
const body = (v: unknown) => JSON.stringify(v);
/** The handed reliability cases (copied from ../shared/cases/reliability). */
const CASES = join(process.cwd(), 'test', 'fixtures', 'reliability');

function expectError(text: string | undefined, status: number, ...patterns: RegExp[]) {
  const r = parseRequestBody(text);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.status).toBe(status);
  for (const p of patterns) expect(r.error).toMatch(p);
}

describe('parseRequestBody: valid requests', () => {
  it('decodes a gray request', () => {
    const r = parseRequestBody(body(valid()));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.batch).toBe(false);
    const [item] = r.value.items;
    expect([item.width, item.height, item.channel, item.pixels.length, item.pixels[5]]).toEqual([
      28, 28, 1, 784, 7,
    ]);
    expect(item.seed).toBeUndefined();
  });

  it('accepts RGB with a non-square size, a seed, and ignores unknown fields', () => {
    const rgb = encodeBase64(new Uint8Array(5 * 3 * 3));
    const r = parseRequestBody(
      body({ image: rgb, image_size: [5, 3], channel: 3, seed: 42, model: 'x', foo: [1] }),
    );
    expect(r.ok && r.value.items[0]).toMatchObject({ width: 5, height: 3, channel: 3, seed: 42 });
    expect(r.ok && Object.keys(r.value.items[0]).sort()).toEqual([
      'channel',
      'height',
      'pixels',
      'seed',
      'width',
    ]);
  });

  it('accepts a UTF-8 BOM before the JSON (as Python json does), the handed PowerShell file too', () => {
    const r = parseRequestBody(`\uFEFF${body(valid())}`);
    expect(r.ok && r.value.items[0].pixels[5]).toBe(7);
    // the handed request file, decoded keeping its BOM (as Python's json sees request.data)
    const file = readFileSync(join(CASES, 'request-utf8-bom.json'));
    expect([...file.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const fromFile = parseRequestBody(new TextDecoder('utf-8', { ignoreBOM: true }).decode(file));
    expect(fromFile.ok).toBe(true);
    // only one: a second mark is not JSON, and the error names the invisible character
    expectError(`\uFEFF\uFEFF${body(valid())}`, 400, /not valid JSON.*invisible character U\+FEFF/);
  });

  it('accepts the largest side (4096) and width*height*channel bytes', () => {
    const r = parseRequestBody(body({ image: gray(4096, 1), image_size: [4096, 1], channel: 1 }));
    expect(r.ok).toBe(true);
  });

  it('parses a batch with its own and per-item seeds', () => {
    const r = parseRequestBody(body({ batch: [valid(), valid({ seed: 5 })], seed: 9 }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.batch).toBe(true);
    expect(r.value.seed).toBe(9);
    expect(r.value.items.map((i) => i.seed)).toEqual([undefined, 5]);
  });
});

describe('parseRequestBody: every bad input of SPEC §4', () => {
  it.each([
    ['an empty body', undefined, /empty/],
    ['a blank body', '  \n', /empty/],
    ['malformed JSON', '{"image": ', /not valid JSON/],
    ['a JSON array', '[1,2]', /must be a JSON object/],
    ['JSON null', 'null', /must be a JSON object.*got null/],
    ['a JSON string', '"hello"', /must be a JSON object/],
  ])('400 for %s', (_name, text, pattern) => expectError(text, 400, pattern));

  it.each([
    ['missing image', { image_size: [28, 28], channel: 1 }, /missing field "image"/],
    ['image not a string', valid({ image: 123 }), /field "image" must be a string.*base64.*got 123/],
    ['missing image_size', { image: gray(28, 28), channel: 1 }, /missing field "image_size"/],
    [
      'image_size not an array',
      valid({ image_size: '28x28' }),
      /field "image_size" must be an array \[width, height\]/,
    ],
    ['image_size with one value', valid({ image_size: [28] }), /field "image_size" must be .*got \[28\]/],
    ['image_size with three values', valid({ image_size: [28, 28, 1] }), /field "image_size"/],
    [
      'a string width',
      valid({ image_size: ['28', 28] }),
      /field "image_size\[0\]" must be the width.*got "28"/,
    ],
    [
      'a fractional height',
      valid({ image_size: [28, 27.5] }),
      /field "image_size\[1\]" must be the height.*got 27.5/,
    ],
    ['width 0', valid({ image_size: [0, 28] }), /"image_size\[0\]".*from 1 to 4096.*got 0/],
    ['a negative height', valid({ image_size: [28, -3] }), /"image_size\[1\]".*got -3/],
    ['a side above 4096', valid({ image_size: [4097, 1] }), /"image_size\[0\]".*4096.*got 4097/],
    ['missing channel', { image: gray(28, 28), image_size: [28, 28] }, /missing field "channel"/],
    ['channel 2', valid({ channel: 2 }), /field "channel" must be 1 .* or 3 .*got 2/],
    ['channel as a string', valid({ channel: '1' }), /field "channel".*got "1"/],
    ['a negative seed', valid({ seed: -1 }), /field "seed" must be an integer from 0/],
    ['a fractional seed', valid({ seed: 1.5 }), /field "seed".*got 1.5/],
    [
      'bad base64 characters',
      valid({ image: 'ab$d' }),
      /field "image" is not valid base64: invalid character "\$"/,
    ],
    ['an impossible base64 length', valid({ image: 'abcde' }), /field "image" is not valid base64/],
    [
      'too many bytes',
      valid({ image: gray(28, 29) }),
      /decodes to 812 bytes.*\[28, 28\] with channel 1.*784/,
    ],
    ['too few bytes for RGB', valid({ channel: 3 }), /decodes to 784 bytes.*channel 3.*2352/],
    ['an empty image', valid({ image: '' }), /decodes to 0 bytes/],
  ])('400 for %s, naming the problem', (_name, req, pattern) => expectError(body(req), 400, pattern));

  it('names all further problems by count', () => {
    expectError(body({}), 400, /missing field "image".*and 2 more problems/);
  });

  it('names each further problem too, not only their count', () => {
    const r = parseRequestBody(body({ image: 'AAAA', image_size: [28], channel: 7 }));
    expect(r).toEqual({
      ok: false,
      status: 400,
      error:
        'field "image_size" must be an array [width, height] of two integers from 1 to 4096, got [28] ' +
        '(and 1 more problem: field "channel" must be 1 (8-bit gray) or 3 (interleaved RGB), got 7)',
    });
  });

  it('counts fields, not checks: a seed of 2^53 fails two checks and is one problem', () => {
    const r = parseRequestBody(body(valid({ seed: 2 ** 53 })));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(/field "seed" must be an integer from 0 to \d+, got 9007199254740992$/);
      expect(r.error).not.toMatch(/more problem/);
    }
  });

  it.each([
    ['batch not an array', { batch: 'x' }, /field "batch" must be an array of 1 to 4096 requests/],
    ['an empty batch', { batch: [] }, /field "batch" must be an array of 1 to 4096/],
    ['a batch item that is not an object', { batch: [valid(), 5] }, /^batch\[1\]: .*JSON object.*got 5/],
    [
      'a bad batch item',
      { batch: [valid(), valid(), valid({ channel: 4 })] },
      /^batch\[2\]: field "channel"/,
    ],
    [
      'a batch item with the wrong byte count',
      { batch: [valid({ image_size: [2, 2] })] },
      /^batch\[0\]: field "image" decodes to 784 bytes/,
    ],
    ['a bad batch seed', { batch: [valid()], seed: 'x' }, /field "seed"/],
  ])('400 for %s', (_name, req, pattern) => expectError(body(req), 400, pattern));

  it('400 for a body with both "image" and "batch", instead of running the batch and dropping the image', () => {
    const both = /both "image" and "batch"; give either "image" .* or "batch" .*, not both$/;
    expectError(body({ ...valid(), batch: [valid()] }), 400, both);
    // even when the batch itself is malformed, the ambiguity is the problem named
    expectError(body({ image: gray(28, 28), batch: 'x' }), 400, both);
    // "batch" alone with other single-request fields (old clients send extras) still parses
    const r = parseRequestBody(body({ batch: [valid()], channel: 1, image_size: [28, 28] }));
    expect(r.ok && r.value.batch).toBe(true);
  });

  it('400 for a batch of more than 4096 items', () => {
    const item = valid({ image: gray(1, 1), image_size: [1, 1] });
    expectError(
      body({ batch: new Array(MAX_BATCH + 1).fill(item) }),
      400,
      /field "batch" must be an array of 1 to 4096.*4097 items/,
    );
  });

  it('413 for a body over 96 MiB, before parsing it', () => {
    const huge = `{"image":"${'A'.repeat(MAX_BODY_BYTES)}"}`;
    expectError(huge, 413, /larger than the limit of 100663296 bytes/);
  });

  it('413 counts UTF-8 bytes, not characters', () => {
    const text = body(valid({ note: 'ü'.repeat(600) }));
    const limit = text.length + 10; // 600 two-byte characters push the UTF-8 length over it
    expect(utf8Length(text)).toBe(text.length + 600);
    const r = parseRequestBody(text, limit);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.status).toBe(413);
    expect(parseRequestBody(text, utf8Length(text)).ok).toBe(true);
  });
});

describe('parseRequestBody never throws', () => {
  const check = (text: string | undefined) => {
    const r = parseRequestBody(text);
    if (r.ok) {
      expect(r.value.items.length).toBeGreaterThan(0);
      for (const it of r.value.items) expect(it.pixels.length).toBe(it.width * it.height * it.channel);
    } else {
      expect([400, 413]).toContain(r.status);
      expect(typeof r.error).toBe('string');
      expect(r.error.length).toBeGreaterThan(5);
    }
  };

  it('on arbitrary strings', () =>
    fc.assert(fc.property(fc.string({ unit: 'binary' }), check), { numRuns: 300 }));

  it('on arbitrary JSON values', () =>
    fc.assert(
      fc.property(fc.jsonValue(), (v) => check(JSON.stringify(v))),
      { numRuns: 300 },
    ));

  const field = fc.oneof(
    fc.constant(undefined),
    fc.integer({ min: -3, max: 40 }),
    fc.double(),
    fc.string(),
    fc.constant(null),
    fc.array(fc.integer({ min: -2, max: 30 }), { maxLength: 3 }),
  );
  const looksValid = fc.record(
    {
      image: fc.oneof(fc.base64String({ maxLength: 120 }), fc.string(), fc.integer()),
      image_size: fc.oneof(fc.tuple(fc.integer({ min: -1, max: 9 }), fc.integer({ min: -1, max: 9 })), field),
      channel: fc.oneof(fc.constantFrom(1, 3), field),
      seed: fc.oneof(fc.integer({ min: -5, max: 2 ** 33 }), field),
      extra: field,
    },
    { requiredKeys: [] },
  );

  it('on random valid-looking requests and batches', () =>
    fc.assert(
      fc.property(fc.oneof(looksValid, fc.record({ batch: fc.array(looksValid, { maxLength: 4 }) })), (v) =>
        check(JSON.stringify(v)),
      ),
      { numRuns: 500 },
    ));
});

describe('a body with more JSON structure than any valid request (a JSON bomb)', () => {
  const img = encodeBase64(new Uint8Array(784));
  it('counts arrays, objects, keys and list items outside strings only', () => {
    const text = '{"a":"\\\\","b":[1,2,3],"c":"\\"[,,,:{"}';
    // { : , : [ , , , :  → 9 tokens; the brackets, commas and colon inside strings do not count
    expect(jsonTokensOver(text, 9)).toBe(false);
    expect(jsonTokensOver(text, 8)).toBe(true);
    expect(jsonTokensOver('"never closed [[[[', 0)).toBe(false);
  });

  it('refuses 3 MB of empty arrays in an ignored field with a 400 naming the limit, unparsed', () => {
    const bomb = `{"image":"${img}","image_size":[28,28],"channel":1,"x":[${'[],'.repeat(1e6)}0]}`;
    const r = parseRequestBody(bomb);
    expect(r).toEqual({
      ok: false,
      status: 400,
      error:
        `request body has more than ${MAX_JSON_TOKENS} JSON arrays, objects, keys and list items; no valid request ` +
        `has that many (a batch of ${MAX_BATCH} requests has about ${12 * MAX_BATCH}), so it was not parsed`,
    });
  });

  it('takes the largest valid batch, with seeds, as before', () => {
    const batch = JSON.stringify({
      batch: Array.from({ length: MAX_BATCH }, (_, i) => ({
        image: img,
        image_size: [28, 28],
        channel: 1,
        seed: i,
      })),
      seed: 3,
    });
    const r = parseRequestBody(batch);
    expect(r.ok && r.value.items.length).toBe(MAX_BATCH);
  });
});
