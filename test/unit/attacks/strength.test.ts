/**
 * Attack-strength guard: every attack and norm with its defaults, on the first few
 * images of the committed reference against the real CNN `0` (Square: its PGD-retrained `0_1`),
 * on onnxruntime-node through the API router with 8-bit queries, must not be weaker than test/golden/attack-strength.json by more than the
 * spread between attack seeds that `npm run bench:attacks` measured there. A change that weakens an
 * attack (a coarser binary search, an ImageNet default) fails here; a stronger one passes, and
 * `npm run bench:attacks` then refreshes the reference.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeEngine } from '../../../server/node-engine';
import {
  runStrength,
  STRENGTH_CONFIGS,
  type StrengthConfig,
  type StrengthNoise,
  type StrengthSummary,
  summarizeOutcomes,
  weakerThan,
} from '../../../tools/lib/attack-strength';
import { loadTestSetNode } from '../../../tools/lib/test-set-node';

interface Reference {
  indices: number[];
  guard: {
    images: number;
    seed: number;
    configs: Record<string, { model: string; summary: StrengthSummary; noise: StrengthNoise }>;
  };
}

const reference = JSON.parse(readFileSync('test/golden/attack-strength.json', 'utf8')) as Reference;
const engine = createNodeEngine({ threads: 1 });
const testSet = loadTestSetNode();
afterAll(() => engine.release());

describe('attack strength on the real CNN is not below the committed reference', () => {
  const { images, seed } = reference.guard;
  const measure = async (config: StrengthConfig) =>
    summarizeOutcomes(
      await runStrength(engine, testSet, config.guardModel, config, reference.indices.slice(0, images), seed),
    );
  for (const config of STRENGTH_CONFIGS) {
    it(`${config.name}: ${images} images of ${config.guardModel}`, { timeout: 120_000 }, async () => {
      const ref = reference.guard.configs[config.name];
      expect(ref, `${config.name} is missing from the reference: run npm run bench:attacks`).toBeDefined();
      expect(ref.model).toBe(config.guardModel);
      const now = await measure(config);
      expect(now.attacked).toBe(ref.summary.attacked);
      expect(weakerThan(config, now, ref.summary, ref.noise)).toBeNull();
    });
  }

  // the guard's own check: a cut query budget and a too-small Square window (p_init 0.05) must each fail it
  const weakened: [string, Record<string, unknown>][] = [
    ['hopskipjump-l2', { maxQueries: 200 }],
    ['square-linf', { pInit: 0.05 }],
    ['square-l2', { pInit: 0.05 }],
  ];
  for (const [name, extra] of weakened) {
    it(`the guard catches a weaker ${name} (${JSON.stringify(extra)})`, { timeout: 120_000 }, async () => {
      const config = STRENGTH_CONFIGS.find((c) => c.name === name)!;
      const ref = reference.guard.configs[config.name];
      const weak = { ...config, options: { ...config.options, ...extra }, extra } as StrengthConfig;
      expect(weakerThan(config, await measure(weak), ref.summary, ref.noise)).not.toBeNull();
    });
  }
});
