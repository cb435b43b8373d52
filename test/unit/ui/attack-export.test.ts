/** The attack lab's download encoders: `.npy` v1.0 (float32, 28×28) and the API request JSON. */
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../../src/core/base64';
import { parseRequestBody } from '../../../src/core/request';
import {
  apiRequestBody,
  apiRequestJson,
  downloadSeed,
  downloadStem,
  encodeGrayPng,
  encodeNpy,
  npyHeader,
  parseNpy,
  toGrayBytes,
} from '../../../src/ui/attack/export';
import { divergingColor, perturbation, quantize } from '../../../src/ui/attack/perturbation';

const ramp = () => Float32Array.from({ length: 784 }, (_, i) => (i % 256) / 255);

describe('encodeNpy', () => {
  it('writes the v1.0 preamble and numpy’s header dict, padded to 64 bytes', () => {
    const bytes = encodeNpy(ramp(), [28, 28]);
    expect(Array.from(bytes.subarray(0, 6))).toEqual([0x93, ...Array.from('NUMPY', (c) => c.charCodeAt(0))]);
    expect([bytes[6], bytes[7]]).toEqual([1, 0]);
    const headerLength = bytes[8] | (bytes[9] << 8);
    expect((10 + headerLength) % 64).toBe(0);
    const header = new TextDecoder('latin1').decode(bytes.subarray(10, 10 + headerLength));
    expect(header.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (28, 28), }")).toBe(true);
    expect(header.endsWith('\n')).toBe(true);
    expect(header.slice(0, -1).trimEnd()).toBe(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (28, 28), }",
    );
    expect(bytes.length).toBe(10 + headerLength + 784 * 4);
    // this exact header is 128 bytes in all, as numpy writes it
    expect(10 + headerLength).toBe(128);
  });

  it('stores little-endian float32 in C order', () => {
    const x = ramp();
    x[0] = 0.1;
    x[783] = 1;
    const bytes = encodeNpy(x);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect(view.getFloat32(128, true)).toBe(Math.fround(0.1));
    expect(view.getFloat32(128 + 4 * 783, true)).toBe(1);
    expect(view.getFloat32(128 + 4 * 29, true)).toBe(Math.fround(29 / 255));
  });

  it('round-trips through parseNpy (shape, flags, values)', () => {
    fc.assert(
      fc.property(fc.float32Array({ minLength: 784, maxLength: 784, noNaN: true }), (values) => {
        const parsed = parseNpy(encodeNpy(values, [28, 28]));
        expect(parsed.version).toEqual([1, 0]);
        expect(parsed.descr).toBe('<f4');
        expect(parsed.fortranOrder).toBe(false);
        expect(parsed.shape).toEqual([28, 28]);
        expect(Array.from(parsed.data).map((v) => (Object.is(v, -0) ? 0 : v))).toEqual(
          Array.from(values).map((v) => (Object.is(v, -0) ? 0 : v)),
        );
      }),
      { numRuns: 25 },
    );
  });

  it('writes 1-D shapes as a one-element tuple and keeps every header 64-aligned', () => {
    expect(npyHeader([784])).toContain("'shape': (784,), }");
    for (const shape of [[1], [784], [28, 28], [3, 28, 28], [10000, 28, 28]]) {
      expect((10 + npyHeader(shape).length) % 64).toBe(0);
    }
    const parsed = parseNpy(encodeNpy(ramp(), [784]));
    expect(parsed.shape).toEqual([784]);
  });

  it('rejects a shape that does not match the data', () => {
    expect(() => encodeNpy(ramp(), [27, 28])).toThrow(/holds 756 values/);
  });

  it('parseNpy rejects other files', () => {
    expect(() => parseNpy(new Uint8Array(200))).toThrow(/magic/);
    const bytes = encodeNpy(ramp());
    expect(() => parseNpy(bytes.subarray(0, bytes.length - 4))).toThrow(/data has/);
  });
});

describe('API request JSON', () => {
  it('is {image: base64 of 784 bytes Math.round(x·255), image_size: [28, 28], channel: 1}', () => {
    const x = ramp();
    x[5] = 0.5; // 127.5 → 128
    x[6] = -0.2; // clamped
    x[7] = 1.3;
    const body = apiRequestBody(x);
    expect(Object.keys(body).sort()).toEqual(['channel', 'image', 'image_size']);
    expect(body.image_size).toEqual([28, 28]);
    expect(body.channel).toBe(1);
    const bytes = decodeBase64(body.image);
    expect(bytes.length).toBe(784);
    expect([bytes[5], bytes[6], bytes[7], bytes[200]]).toEqual([128, 0, 255, 200]);
    expect(Array.from(bytes)).toEqual(Array.from(toGrayBytes(x)));
    expect(JSON.parse(apiRequestJson(x))).toEqual(body);
  });

  it('is accepted by the API’s own request parser and decodes to the same pixels', () => {
    const x = ramp();
    const r = parseRequestBody(apiRequestJson(x));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [item] = r.value.items;
    expect([item.width, item.height, item.channel]).toEqual([28, 28, 1]);
    expect(Array.from(item.pixels)).toEqual(Array.from(toGrayBytes(x)));
  });

  it('rejects images that are not 28×28', () => {
    expect(() => apiRequestBody(new Float32Array(100))).toThrow(/784/);
  });

  it('carries the run’s seed for a randomized defense only, and the API parser reads it', () => {
    const meta = { seed: 1234 };
    expect(downloadSeed(meta, true)).toBe(1234);
    expect(downloadSeed(meta, false)).toBeUndefined();
    const x = ramp();
    const seeded = JSON.parse(apiRequestJson(x, downloadSeed(meta, true)));
    expect(seeded.seed).toBe(1234);
    expect(seeded.image).toBe(apiRequestBody(x).image);
    expect('seed' in JSON.parse(apiRequestJson(x, downloadSeed(meta, false)))).toBe(false);
    const r = parseRequestBody(apiRequestJson(x, 1234));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.items[0].seed).toBe(1234);
  });
});

describe('grayscale PNG', () => {
  it('is an 8-bit, colour type 0 PNG whose pixels are the gray bytes (pngjs checks every CRC)', () => {
    const x = ramp();
    x[0] = 0.5;
    const gray = toGrayBytes(x);
    const bytes = encodeGrayPng(gray, 28, 28);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(bytes[24]).toBe(8); // IHDR bit depth
    expect(bytes[25]).toBe(0); // IHDR colour type: grayscale, no alpha
    const img = PNG.sync.read(Buffer.from(bytes));
    expect([img.width, img.height, img.colorType, img.depth]).toEqual([28, 28, 0, 8]);
    const decoded = Array.from({ length: 784 }, (_, i) => img.data[4 * i]);
    expect(decoded).toEqual(Array.from(gray));
  });

  it('keeps rows apart in a non-square image and rejects a wrong byte count', () => {
    const gray = Uint8Array.from({ length: 3 * 2 }, (_, i) => i * 40);
    const img = PNG.sync.read(Buffer.from(encodeGrayPng(gray, 3, 2)));
    expect([img.width, img.height]).toEqual([3, 2]);
    expect(Array.from({ length: 6 }, (_, i) => img.data[4 * i])).toEqual(Array.from(gray));
    expect(() => encodeGrayPng(gray, 2, 2)).toThrow(/2×2/);
  });
});

describe('perturbation view', () => {
  it('measures δ from the 8-bit original and maps it onto a symmetric diverging scale', () => {
    const x = ramp();
    const adv = quantize(x);
    adv[100] += 0.1;
    adv[101] -= 0.05;
    const p = perturbation(quantize(x), adv);
    expect(p.changed).toBe(2);
    expect(p.max).toBeCloseTo(0.1, 5);
    expect(p.min).toBeCloseTo(-0.05, 5);
    expect(p.absMax).toBeCloseTo(0.1, 5);
    expect(divergingColor(0)).toEqual([0xf7, 0xf7, 0xf7]);
    expect(divergingColor(1)).toEqual([0x67, 0x00, 0x1f]);
    expect(divergingColor(-1)).toEqual([0x05, 0x30, 0x61]);
    expect(divergingColor(5)).toEqual(divergingColor(1));
  });

  it('names downloads after model, attack, norm and seed', () => {
    expect(downloadStem({ model: '0_3', attack: 'square', norm: 'linf', seed: 7 })).toBe(
      'adversarial_0_3_square_linf_seed7',
    );
  });
});
