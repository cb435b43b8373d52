import { describe, expect, it } from 'vitest';
import {
  ATTACK_NAMES,
  ATTACKS,
  type AttackName,
  attackKey,
  createRouterOracle,
  type DecisionOracle,
  runAttack,
  withEOT,
} from '../../../src/attacks/index';
import { decodeBase64 } from '../../../src/core/base64';
import { CLASS_NAMES_DE } from '../../../src/core/labels';
import { Rng } from '../../../src/core/prng';
import { binaryProblem, inUnitBox, LinearModel, TallyOracle, threeClassProblem } from './linear';

/** The black-box attacks (FGSM and PGD read gradients: test/unit/attacks/whitebox.test.ts). */
const BLACK_BOX = ATTACK_NAMES.filter((n) => ATTACKS[n].kind !== 'gradient');

const extra: Partial<Record<AttackName, Record<string, unknown>>> = {
  hopskipjump: {},
  boundary: {},
  simba: {},
  square: { eps: 0.1 },
  random: { eps: 0.1 },
};

describe('attack registry', () => {
  it('lists the eleven attacks with kind, norms and defaults', () => {
    expect([...ATTACK_NAMES].sort()).toEqual([
      'apgd-ce',
      'apgd-t',
      'autoattack',
      'boundary',
      'fab-t',
      'fgsm',
      'hopskipjump',
      'pgd',
      'random',
      'simba',
      'square',
    ]);
    expect(BLACK_BOX).toHaveLength(5);
    expect(ATTACKS.pgd.kind).toBe('gradient');
    expect(ATTACKS['fab-t'].norms).toEqual(['linf']);
    expect(ATTACKS.autoattack.resolve({ eps: 0.1 })).toEqual({
      norm: 'linf',
      eps: 0.1,
      squareQueries: 5000,
      eot: 20,
    });
    expect(ATTACKS.fgsm.resolve({ eps: 0.2 })).toEqual({ norm: 'linf', eps: 0.2, loss: 'ce' });
    expect(ATTACKS.hopskipjump.kind).toBe('decision');
    expect(ATTACKS.boundary.norms).toEqual(['l2']);
    expect(ATTACKS.simba.kind).toBe('score');
    expect(ATTACKS.square.norms).toEqual(['linf', 'l2']);
    expect(ATTACKS.hopskipjump.defaults).toMatchObject({ gamma: 1, maxNumEvals: 1e4, initNumEvals: 100 });
    expect(ATTACKS.simba.defaults).toMatchObject({ epsilon: 0.2 });
  });

  it('every attack: budget to the query, [0,1] output, same seed → same result, through runAttack', async () => {
    const pb = threeClassProblem(2, 64, 0.3, 0.5);
    // pixels on the box edges, so clipping matters
    const x = Float32Array.from(pb.x, (v, i) => (i % 5 === 0 ? 0 : i % 5 === 1 ? 1 : v));
    const label = pb.model.label(x);
    for (const name of BLACK_BOX) {
      for (const budget of [0, 3, 61, 250]) {
        const tally = new TallyOracle(pb.model);
        const opts = { x, label, maxQueries: budget, seed: 7, ...extra[name] };
        const r = await runAttack(name, opts, tally);
        expect(tally.images, `${name} @ ${budget}`).toBeLessThanOrEqual(budget);
        expect(r.queries, name).toBe(tally.images);
        expect(inUnitBox(r.adversarial), name).toBe(true);
        expect(r.adversarial.length).toBe(64);
        expect(r.originalLabel).toBe(label);
        expect(r.success).toBe(r.adversarialLabel !== label);
        if (r.success) expect(pb.model.label(r.adversarial), name).toBe(r.adversarialLabel);
        expect(r.params.attack).toBe(name);
        expect(r.wallMs).toBeGreaterThanOrEqual(0);
        if (budget === 250) {
          const again = await runAttack(name, opts, pb.model);
          expect(Array.from(again.adversarial), name).toEqual(Array.from(r.adversarial));
          expect(again.queries).toBe(r.queries);
        }
      }
    }
  });

  it('every attack under EOT(k = 3): charged 3 queries per image, never over budget', async () => {
    const pb = binaryProblem(1, 64, 0.3);
    for (const name of BLACK_BOX) {
      const tally = new TallyOracle(pb.model);
      const eot = withEOT(tally, 3);
      const r = await runAttack(name, { x: pb.x, label: 0, maxQueries: 100, seed: 1, ...extra[name] }, eot);
      expect(tally.images, name).toBeLessThanOrEqual(100);
      expect(r.queries, name).toBe(tally.images);
      expect(r.queries % 3, name).toBe(0);
    }
  });

  it('white-box attacks refuse an oracle without gradients, saying where gradients come from', async () => {
    const pb = binaryProblem(1, 64, 0.3);
    await expect(runAttack('pgd', { x: pb.x, label: 0, maxQueries: 10, seed: 1 }, pb.model)).rejects.toThrow(
      /PGD is white-box: the oracle needs gradient\(\)/,
    );
  });

  it('decision attacks accept a score-only oracle; score attacks refuse a decision-only one', async () => {
    const pb = binaryProblem(1, 64, 0.3);
    const scoreOnly = { score: (xs: Float32Array[]) => pb.model.score(xs) };
    const r = await runAttack('hopskipjump', { x: pb.x, label: 0, maxQueries: 300, seed: 1 }, scoreOnly);
    expect(r.success).toBe(true);
    const decisionOnly: DecisionOracle = { decide: (xs) => pb.model.decide(xs) };
    await expect(
      runAttack('square', { x: pb.x, label: 0, maxQueries: 10, seed: 1 }, decisionOnly),
    ).rejects.toThrow(/score/);
  });

  it('attackKey: stable, from options or result params alike, per-sample values left out', async () => {
    const pb = binaryProblem(1, 64, 0.3);
    for (const name of BLACK_BOX) {
      const opts = { x: pb.x, label: 0, maxQueries: 40, seed: 1, ...extra[name] };
      const r = await runAttack(name, opts, pb.model);
      const k1 = attackKey(name, opts);
      expect(attackKey(name, r.params), name).toBe(k1);
      expect(attackKey(name, { ...opts, seed: 99, label: 3 })).toBe(k1);
      expect(attackKey(name, { ...opts, maxQueries: 41 })).not.toBe(k1);
      expect(attackKey(name, { ...opts, target: 1 })).toContain('targeted=true');
      expect(attackKey(name, { ...opts, target: 1 })).toBe(attackKey(name, { ...opts, target: 2 }));
      expect(k1.startsWith(`${name}|`)).toBe(true);
    }
    expect(attackKey('square', { maxQueries: 1000, eps: 0.1 })).toBe(
      'square|eps=0.1|loss=margin|marginOn=logit|maxQueries=1000|norm=linf|pInit=0.8|quantize=false|targeted=false',
    );
    expect(attackKey('hopskipjump', { maxQueries: 100, gamma: 2 })).not.toBe(
      attackKey('hopskipjump', { maxQueries: 100 }),
    );
    // SimBA's size-dependent defaults resolve for the 28×28 models when no image is given
    expect(attackKey('simba', { maxQueries: 10 })).toContain('freqDims=4');
  });
});

describe('through the HTTP contract (router oracle, 28×28, 8-bit)', () => {
  // A linear "model" behind a router that decodes the API body exactly as the server would.
  const rng = new Rng(3);
  const d = 784;
  const w = Array.from({ length: d }, () => rng.normal());
  const x = Float32Array.from({ length: d }, () => Math.round((0.3 + 0.4 * rng.uniform()) * 255) / 255);
  let g = 0;
  for (let i = 0; i < d; i++) g += w[i] * x[i];
  const model = new LinearModel(
    [new Array(d).fill(0), w],
    [0, -g - 0.3 * Math.sqrt(w.reduce((s, v) => s + v * v, 0))],
  );
  let served = 0;
  const oracle = createRouterOracle(
    async (req) => {
      const body = JSON.parse(req.body) as { batch?: { image: string }[]; image?: string };
      const decode = (b64: string) => Float32Array.from(decodeBase64(b64), (v) => v / 255);
      const images = body.batch ? body.batch.map((r) => decode(r.image)) : [decode(body.image as string)];
      served += images.length;
      const answers = req.path.endsWith('/decision')
        ? images.map((im) => CLASS_NAMES_DE[model.label(im)])
        : images.map((im) => Array.from(model.probs(im)));
      return { status: 200, body: JSON.stringify({ data: body.batch ? answers : answers[0] }) };
    },
    { modelId: '0', batch: true },
  );

  for (const name of ['hopskipjump', 'square'] as const) {
    it(`${name} with quantize: true reports the 8-bit image the server classified`, async () => {
      served = 0;
      const r = await runAttack(
        name,
        {
          x,
          label: 0,
          maxQueries: 600,
          seed: 2,
          quantize: true,
          norm: name === 'square' ? 'linf' : 'l2',
          eps: 0.05,
        },
        oracle,
      );
      expect(served).toBe(r.queries);
      expect(r.queries).toBeLessThanOrEqual(600);
      expect(r.success).toBe(true);
      expect(r.adversarial.every((v) => Math.abs(v * 255 - Math.round(v * 255)) < 1e-3)).toBe(true);
      // the reported image, sent again, gets the reported label
      expect(model.label(r.adversarial)).toBe(r.adversarialLabel);
      expect(await oracle.decide([r.adversarial])).toEqual([r.adversarialLabel]);
    });
  }
});
