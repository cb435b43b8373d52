import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  argmax,
  argmaxRows,
  softmaxRow,
  softmaxRows,
  splitRows,
  wilsonInterval,
} from '../../../src/core/math';

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

describe('softmax', () => {
  it('matches the textbook formula on small logits', () => {
    const z = [0.5, -1, 2, 0, 0.1, 3, -2, 1, 0.7, -0.3];
    const e = z.map(Math.exp);
    const want = e.map((v) => v / sum(e));
    const got = softmaxRow(z);
    for (let i = 0; i < 10; i++) expect(got[i]).toBeCloseTo(want[i], 7);
  });

  it('is stable for huge logits (no Infinity / NaN)', () => {
    const p = softmaxRow([1000, 1001, -1000, 0, 0, 0, 0, 0, 0, 0]);
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
    expect(p[0]).toBeCloseTo(Math.exp(-1) / (1 + Math.exp(-1)), 6);
    expect(sum(p)).toBeCloseTo(1, 6);
  });

  it('gives +Infinity logits all the mass and NaN rows stay NaN', () => {
    expect(Array.from(softmaxRow([Number.POSITIVE_INFINITY, 0, Number.POSITIVE_INFINITY]))).toEqual([
      0.5, 0, 0.5,
    ]);
    expect(Array.from(softmaxRow([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]))).toEqual([0.5, 0.5]);
    expect(softmaxRow([0, Number.NaN]).every(Number.isNaN)).toBe(true);
  });

  it('rows of any finite float32 logits sum to 1 within 1e-5', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 10, maxLength: 10 }),
        (z) => {
          const p = softmaxRow(z);
          expect(Math.abs(sum(p) - 1)).toBeLessThan(1e-5);
          expect(p.every((v) => v >= 0 && v <= 1)).toBe(true);
          expect(p[argmax(z)]).toBe(Math.max(...p));
        },
      ),
    );
  });

  it('softmaxRows splits an N×10 matrix and checks its shape', () => {
    const logits = new Float32Array(30).map((_, i) => i % 10);
    const rows = softmaxRows(logits, 3);
    expect(rows).toHaveLength(3);
    expect(rows[2][9]).toBeGreaterThan(rows[2][0]);
    expect(() => softmaxRows(logits, 4)).toThrow(/40/);
    expect(splitRows(logits, 3)[1][3]).toBe(3);
  });
});

describe('argmax', () => {
  it('takes the first of equal maxima, as torch.max', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([-5, -1, -1])).toBe(1);
  });
  it('skips NaN and returns -1 for an empty array', () => {
    expect(argmax([Number.NaN, 1, 2])).toBe(2);
    expect(argmax([])).toBe(-1);
  });
  it('argmaxRows works per row', () => {
    expect(argmaxRows([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9], 2)).toEqual([1, 9]);
  });
});

describe('wilsonInterval', () => {
  it('matches published 95 % Wilson intervals (Brown, Cai & DasGupta 2001 tables; statsmodels wilson)', () => {
    const [lo0, hi0] = wilsonInterval(0, 10);
    expect(lo0).toBe(0);
    expect(hi0).toBeCloseTo(0.2775, 3);
    const [lo1, hi1] = wilsonInterval(1, 2);
    expect(lo1).toBeCloseTo(0.0945, 3);
    expect(hi1).toBeCloseTo(0.9055, 3);
    const [lo, hi] = wilsonInterval(41, 100);
    expect(lo).toBeCloseTo(0.3187, 3);
    expect(hi).toBeCloseTo(0.508, 3);
    expect(wilsonInterval(10, 10)[1]).toBeLessThanOrEqual(1);
    expect(wilsonInterval(0, 0)).toEqual([0, 1]);
  });
});
