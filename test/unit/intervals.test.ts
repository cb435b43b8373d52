/**
 * Clopper–Pearson bounds against closed forms (k = 0 and k = n) and published values, and the
 * normal quantile against its tables.
 */
import { describe, expect, it } from 'vitest';
import { clopperPearson, clopperPearsonLower, standardNormalQuantile } from '../../src/core/intervals';

describe('Clopper–Pearson', () => {
  it('matches the closed forms at k = 0 and k = n', () => {
    for (const n of [1, 10, 200, 10_000]) {
      expect(clopperPearson(0, n)[1]).toBeCloseTo(1 - 0.025 ** (1 / n), 12);
      expect(clopperPearson(n, n)[0]).toBeCloseTo(0.025 ** (1 / n), 12);
      expect(clopperPearsonLower(n, n, 0.001)).toBeCloseTo(0.001 ** (1 / n), 12);
      expect(clopperPearson(0, n)[0]).toBe(0);
      expect(clopperPearson(n, n)[1]).toBe(1);
    }
  });

  it('matches published intervals', () => {
    // 1 of 10: (0.0025, 0.4450), 5 of 100: (0.0164, 0.1128) — statsmodels proportion_confint(method="beta")
    const [a, b] = clopperPearson(1, 10);
    expect(a).toBeCloseTo(0.00253, 5);
    expect(b).toBeCloseTo(0.44502, 5);
    const [c, d] = clopperPearson(5, 100);
    expect(c).toBeCloseTo(0.01643, 4);
    expect(d).toBeCloseTo(0.11284, 4);
  });

  it('refuses counts outside 0…n and α outside (0, 1)', () => {
    expect(() => clopperPearson(11, 10)).toThrow(/k must be an integer in 0…10/);
    expect(() => clopperPearson(1.5, 10)).toThrow(/k must be an integer/);
    expect(() => clopperPearson(1, 0)).toThrow(/n must be a positive integer/);
    expect(() => clopperPearsonLower(1, 10, 0)).toThrow(/alpha must lie in/);
  });
});

describe('standard normal quantile', () => {
  it('matches the tables', () => {
    expect(standardNormalQuantile(0.975)).toBeCloseTo(1.959964, 6);
    expect(standardNormalQuantile(0.5)).toBe(0);
    expect(standardNormalQuantile(0.999)).toBeCloseTo(3.090232, 6);
    expect(standardNormalQuantile(0.001)).toBeCloseTo(-3.090232, 6);
  });
});
