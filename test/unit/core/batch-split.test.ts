/**
 * The worker pool's batch split (src/core/batch-split.ts) on the real router and onnxruntime-node:
 * a batch answered in parts, possibly by different engines, is the unsplit answer, for deterministic
 * and randomized models, seeded or not.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeEngine } from '../../../server/node-engine';
import { imageRequestBody } from '../../../src/core/api';
import { itemSeedsOf, mergeBatchAnswers, partition, splitBatchBody } from '../../../src/core/batch-split';
import { getModel } from '../../../src/core/models';
import { classifyInputs, createRouter, deriveSeed } from '../../../src/core/router';
import { parseIdx } from '../../../src/data/idx';

const DATA_DIR = process.env.FMNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const images = parseIdx(gunzipSync(readFileSync(join(DATA_DIR, 't10k-images-idx3-ubyte.gz'))));
const item = (i: number, seed?: number) =>
  imageRequestBody(images.data.subarray(i * 784, (i + 1) * 784), [28, 28], 1, seed);

// two engines, as two workers: the parts of a batch go to different ones
const engines = [createNodeEngine({ threads: 1 }), createNodeEngine({ threads: 1 })];
const routers = engines.map((e) => createRouter(e));
afterAll(async () => {
  for (const e of engines) await e.release();
});

async function split(path: string, body: string, fresh?: () => number) {
  const parts = splitBatchBody(body, 2, 4, fresh);
  expect(parts).not.toBeNull();
  const answers = await Promise.all(
    parts!.map((b, i) => routers[i].handle({ method: 'POST', path, body: b })),
  );
  return mergeBatchAnswers(answers)!;
}

describe('splitting a batch across engines', () => {
  it('partitions into near-equal parts of at least minPart items', () => {
    expect(partition(10, 2, 4)).toEqual([
      [0, 5],
      [5, 10],
    ]);
    expect(partition(7, 2, 4)).toEqual([[0, 7]]);
    expect(partition(9, 4, 2)).toEqual([
      [0, 2],
      [2, 4],
      [4, 6],
      [6, 9],
    ]);
  });

  it('leaves alone what it should not split: single requests, small batches, malformed bodies', () => {
    expect(splitBatchBody(JSON.stringify(item(0)), 2, 4)).toBeNull();
    expect(splitBatchBody(JSON.stringify({ batch: [item(0), item(1)] }), 2, 4)).toBeNull();
    expect(splitBatchBody('{"batch": [', 2, 4)).toBeNull();
    expect(splitBatchBody(JSON.stringify({ batch: [1, 2, 3, 4, 5, 6, 7, 8] }), 2, 4)).toBeNull();
    expect(splitBatchBody(JSON.stringify({ seed: -1, batch: Array(8).fill(item(0)) }), 2, 4)).toBeNull();
    // over MAX_BATCH: one worker answers the 400 the unsplit request gets
    expect(splitBatchBody(JSON.stringify({ batch: Array(4097).fill({}) }), 2, 4)).toBeNull();
    expect(splitBatchBody(JSON.stringify({ batch: Array(4096).fill({}) }), 2, 4)).toHaveLength(2);
  });

  it('a randomized model, seeded batch: the merged answer and X-Seed equal the unsplit ones', async () => {
    const body = JSON.stringify({
      seed: 1234,
      batch: Array.from({ length: 24 }, (_, i) => item(i, i === 5 ? 77 : undefined)),
    });
    for (const path of ['/0/3/score', '/2/4/decision', '/5/3/score']) {
      const whole = await routers[0].handle({ method: 'POST', path, body });
      const merged = await split(path, body);
      expect(whole.status).toBe(200);
      expect(merged.body).toEqual(whole.body);
      expect(merged.headers['X-Seed']).toBe('1234');
    }
  });

  it('an unseeded batch: the base the pool draws is reported, and replaying it gives the same answer', async () => {
    const body = JSON.stringify({ batch: Array.from({ length: 16 }, (_, i) => item(100 + i)) });
    const merged = await split('/0/4/score', body, () => 999);
    expect(merged.headers['X-Seed']).toBe('999');
    const replay = await routers[1].handle({
      method: 'POST',
      path: '/0/4/score',
      body: JSON.stringify({ seed: 999, batch: JSON.parse(body).batch }),
    });
    expect(merged.body).toEqual(replay.body);
  });

  it('a deterministic model: no X-Seed, the same answer', async () => {
    const body = `\ufeff${JSON.stringify({ batch: Array.from({ length: 10 }, (_, i) => item(200 + i)) })}`;
    const whole = await routers[1].handle({ method: 'POST', path: '/0/score', body });
    const merged = await split('/0/score', body);
    expect(merged.body).toEqual(whole.body);
    expect(merged.headers['X-Seed']).toBeUndefined();
  });

  it('a part that fails makes the merge refuse (the pool then asks one engine, whose error names the item)', async () => {
    const items = Array.from({ length: 8 }, (_, i) => item(i));
    items[6] = { ...items[6], image: 'not base64!' };
    const parts = splitBatchBody(JSON.stringify({ batch: items }), 2, 4)!;
    const answers = await Promise.all(
      parts.map((b) => routers[0].handle({ method: 'POST', path: '/0/score', body: b })),
    );
    expect(answers[1].status).toBe(400);
    expect(mergeBatchAnswers(answers)).toBeNull();
    const whole = await routers[0].handle({
      method: 'POST',
      path: '/0/score',
      body: JSON.stringify({ batch: items }),
    });
    expect((whole.body as { error: string }).error).toMatch(/batch\[6\]/);
  });

  it('classification in parts with itemSeedsOf equals the whole classification', async () => {
    const model = getModel('0_3')!;
    const inputs = Array.from({ length: 12 }, (_, i) =>
      Float32Array.from(images.data.subarray(i * 784, (i + 1) * 784), (v) => v / 255),
    );
    const whole = await classifyInputs(engines[0], model, inputs, 42);
    const seeds = itemSeedsOf(42, inputs.length);
    expect(seeds[0]).toBe(42);
    expect(seeds[3]).toBe(deriveSeed(42, 3));
    const a = await classifyInputs(engines[0], model, inputs.slice(0, 6), 42, {
      itemSeeds: seeds.slice(0, 6),
    });
    const b = await classifyInputs(engines[1], model, inputs.slice(6), 42, { itemSeeds: seeds.slice(6) });
    expect([...a.probs, ...b.probs]).toEqual(whole.probs);
  });
});
