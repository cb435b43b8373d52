import { describe, expect, it } from 'vitest';
import { ATTACK_NAMES, ATTACKS, attackKey, epsProblem, paramFields } from '../../../src/attacks/index';

describe('declared attack parameters (src/attacks/params.ts)', () => {
  it('declare every parameter that resolve() fills in, so the lab form and the config cover them all', () => {
    for (const name of ATTACK_NAMES) {
      const declared = Object.keys(ATTACKS[name].params.shape);
      const resolved = Object.keys(ATTACKS[name].resolve({ maxQueries: 100, norm: ATTACKS[name].norms[0] }));
      // random's `draws` appears only when capped below the budget; HopSkipJump's binarySearch only with quantize
      expect(
        resolved.filter((k) => !declared.includes(k)),
        name,
      ).toEqual([]);
    }
  });

  it('become form fields with the declared kinds, ranges and choices', () => {
    const square = paramFields(ATTACKS.square.params);
    expect(square.map((f) => f.key)).toEqual(['norm', 'eps', 'pInit', 'loss', 'marginOn']);
    const pInit = square.find((f) => f.key === 'pInit')!;
    expect(pInit).toMatchObject({ kind: 'number', min: 0, max: 1, range: 'a number in (0, 1]' });
    // the lower bound is exclusive: the form refuses 0 although HTML min is 0
    expect([pInit.accepts(0), pInit.accepts(0.5), pInit.accepts(1), pInit.accepts(1.5)]).toEqual([
      false,
      true,
      true,
      false,
    ]);
    expect(square.find((f) => f.key === 'loss')).toMatchObject({ kind: 'enum', options: ['margin', 'ce'] });
    const hsja = paramFields(ATTACKS.hopskipjump.params);
    expect(hsja.find((f) => f.key === 'maxNumEvals')).toMatchObject({
      kind: 'integer',
      min: 1,
      range: 'a whole number ≥ 1',
    });
    expect(paramFields(ATTACKS.boundary.params).find((f) => f.key === 'stepAdaptation')?.range).toBe(
      'a number > 1',
    );
    expect(hsja.find((f) => f.key === 'maxNumEvals')!.accepts(2.5)).toBe(false);
    // a literal (Boundary's norm 'l2') is nothing to choose
    expect(paramFields(ATTACKS.boundary.params).map((f) => f.key)).not.toContain('norm');
    expect(paramFields(ATTACKS.simba.params).find((f) => f.key === 'basis')?.options).toEqual([
      'dct',
      'pixel',
    ]);
  });

  it('are checked by resolve() with a message naming the attack and the parameter', () => {
    expect(() => ATTACKS.square.resolve({ pInit: 2 })).toThrow(/^Square pInit: .*got 2$/);
    expect(() => ATTACKS.square.resolve({ loss: 'hinge' })).toThrow(/Square loss: .*"hinge"/);
    expect(() => ATTACKS.hopskipjump.resolve({ initNumEvals: 0 })).toThrow(/HopSkipJump initNumEvals/);
    expect(() => ATTACKS.simba.resolve({ basis: 'dct', freqDims: 1.5 })).toThrow(/SimBA freqDims/);
    expect(() => ATTACKS.boundary.resolve({ stepAdaptation: 1 })).toThrow(/Boundary stepAdaptation/);
    expect(() => ATTACKS.random.resolve({ maxQueries: 10, drawsPerCall: 0 })).toThrow(
      /random noise drawsPerCall/,
    );
    expect(() => ATTACKS.hopskipjump.resolve({ norm: 'l1' })).toThrow(RangeError);
  });

  it('leave the attack keys of valid settings unchanged', () => {
    expect(attackKey('square', { norm: 'linf', eps: 0.1, maxQueries: 1000 })).toBe(
      'square|eps=0.1|loss=margin|marginOn=logit|maxQueries=1000|norm=linf|pInit=0.8|quantize=false|targeted=false',
    );
    expect(attackKey('hopskipjump', { norm: 'l2', maxQueries: 2000, quantize: true })).toBe(
      'hopskipjump|binarySearch=grid-path|gamma=1|initNumEvals=100|initTrials=100|maxIterations=50|maxNumEvals=10000|maxQueries=2000|norm=l2|quantize=true|targeted=false',
    );
  });
});

describe('the ε range (one check for the attacks, the lab and the experiment config)', () => {
  it('takes [0, 1] in L∞ and [0, 28] in L2, and names a gray-level ε as such', () => {
    expect(epsProblem(0.1, 'linf')).toBeNull();
    expect(epsProblem(0, 'linf')).toBeNull();
    expect(epsProblem(0, 'linf', false)).toBe('ε must be a number in (0, 1] for L∞ (pixels are in [0, 1])');
    expect(epsProblem(28, 'l2')).toBeNull();
    expect(epsProblem(Number.NaN, 'l2')).toBe('ε must be a number in [0, 28] for L2 (pixels are in [0, 1])');
    expect(epsProblem(25, 'linf')).toBe(
      'ε must be a number in [0, 1] for L∞ (pixels are in [0, 1]); 25 looks like gray levels, which is 0.098 on this scale',
    );
  });

  it('Square and random noise refuse an ε past the range instead of running unconstrained', () => {
    expect(() => ATTACKS.square.resolve({ norm: 'linf', eps: 25, maxQueries: 100 })).toThrow(
      /^Square: ε must be a number in \[0, 1\] for L∞ .*, got 25$/,
    );
    expect(() => ATTACKS.random.resolve({ norm: 'l2', eps: 40, maxQueries: 100 })).toThrow(
      /^random noise: ε must be a number in \[0, 28\] for L2 .*, got 40$/,
    );
  });
});
