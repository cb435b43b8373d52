/**
 * Parity of the TypeScript preprocessing with Pillow / PyTorch / torchvision, against
 * test/golden/preprocess.json (written by `/usr/bin/python3 -m training golden-preprocess`).
 * Tolerances: gray and bilinear exact; bicubic, resize & pad and blur 1e-5 absolute.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../../src/core/base64';
import { gaussianBlur, resizePad, resizePadGeometry } from '../../../src/core/defenses';
import { grayToFloat, resizeBilinearPIL, rgbToGray, toModelInput } from '../../../src/core/image';
import { resizeBicubic } from '../../../src/core/resample';

const FLOAT_TOL = 1e-5;

interface Golden {
  gray: { name: string; width: number; height: number; rgb: string; gray: string }[];
  bilinear: { name: string; width: number; height: number; channel: 1 | 3; input: string; output: string }[];
  resize_pad: {
    input_u8: string;
    cases: {
      ratio: number;
      size: number;
      bicubic: string;
      padded: { a: number; b: number; left: number; top: number; output: string }[];
    }[];
  };
  bicubic: {
    in_width: number;
    in_height: number;
    out_width: number;
    out_height: number;
    input: string;
    output: string;
  }[];
  blur: {
    input_u8: string;
    cases: { kernel_width: number; kernel_height: number; sigma: number; output: string }[];
  };
}

const golden = JSON.parse(readFileSync(join(process.cwd(), 'test/golden/preprocess.json'), 'utf8')) as Golden;

const u8 = (b64: string) => decodeBase64(b64);
function f32(b64: string): Float32Array {
  const bytes = decodeBase64(b64);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function countDiffering(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

describe('RGB -> gray (PIL convert("L"))', () => {
  it.each(golden.gray.map((c) => [c.name, c] as const))('%s matches Pillow exactly', (_name, c) => {
    const out = rgbToGray(u8(c.rgb), c.width, c.height);
    expect(countDiffering(out, u8(c.gray))).toBe(0);
  });

  it('is not the floor(R*299/1000 + ...) formula (the golden cases tell them apart)', () => {
    const c = golden.gray[0];
    const rgb = u8(c.rgb);
    const floorFormula = new Uint8Array(c.width * c.height).map((_, i) =>
      Math.floor((rgb[3 * i] * 299 + rgb[3 * i + 1] * 587 + rgb[3 * i + 2] * 114) / 1000),
    );
    expect(countDiffering(floorFormula, u8(c.gray))).toBeGreaterThan(0);
  });
});

describe('bilinear resize to 28x28 (PIL Image.resize BILINEAR)', () => {
  it.each(golden.bilinear.map((c) => [c.name, c] as const))('%s matches Pillow exactly', (_name, c) => {
    const input = u8(c.input);
    const gray = c.channel === 3 ? rgbToGray(input, c.width, c.height) : input;
    const out = resizeBilinearPIL(gray, c.width, c.height, 28, 28);
    const want = u8(c.output);
    expect(countDiffering(out, want)).toBe(0);
    // and the full request pipeline gives the same model input
    expect(maxAbsDiff(toModelInput(input, c.width, c.height, c.channel), grayToFloat(want))).toBe(0);
  });
});

describe('bicubic resize (torch interpolate, align_corners=False)', () => {
  it.each(
    golden.bicubic.map((c) => [`${c.in_width}x${c.in_height} -> ${c.out_width}x${c.out_height}`, c] as const),
  )('%s within 1e-5', (_name, c) => {
    const out = resizeBicubic(f32(c.input), c.in_width, c.in_height, c.out_width, c.out_height);
    expect(maxAbsDiff(out, f32(c.output))).toBeLessThan(FLOAT_TOL);
  });
});

describe('random resize & pad (_3) building block', () => {
  const x = grayToFloat(u8(golden.resize_pad.input_u8));
  for (const c of golden.resize_pad.cases) {
    it(`ratio ${c.ratio}: side ${c.size}, bicubic within 1e-5 and padded as F.pad`, () => {
      expect(resizePadGeometry(c.ratio, 0, 0).size).toBe(c.size);
      expect(maxAbsDiff(resizeBicubic(x, 28, 28, c.size, c.size), f32(c.bicubic))).toBeLessThan(FLOAT_TOL);
      for (const p of c.padded) {
        const geo = resizePadGeometry(c.ratio, p.a, p.b);
        expect([geo.left, geo.top]).toEqual([p.left, p.top]);
        expect(maxAbsDiff(resizePad(x, c.ratio, p.a, p.b), f32(p.output))).toBeLessThan(FLOAT_TOL);
      }
    });
  }

  it('keeps the bicubic overshoot (no clamp), as the thesis did', () => {
    const out = resizePad(x, 0.06, 0.5, 0.5);
    expect(Math.min(...out)).toBeLessThan(-0.05);
  });
});

describe('Gaussian blur (torchvision gaussian_blur)', () => {
  const x = grayToFloat(u8(golden.blur.input_u8));
  it.each(
    golden.blur.cases.map((c) => [`${c.kernel_width}x${c.kernel_height} sigma ${c.sigma}`, c] as const),
  )('kernel %s within 1e-5', (_name, c) => {
    const out = gaussianBlur(x, c.kernel_width, c.kernel_height, c.sigma);
    expect(maxAbsDiff(out, f32(c.output))).toBeLessThan(FLOAT_TOL);
  });

  it('treats kernel_size as [width, height] (swapping them is detectably wrong)', () => {
    const c = golden.blur.cases[1];
    const swapped = gaussianBlur(x, c.kernel_height, c.kernel_width, c.sigma);
    expect(maxAbsDiff(swapped, f32(c.output))).toBeGreaterThan(1e-3);
  });
});
