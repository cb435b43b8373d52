/**
 * The experiment runner's pure parts: config schema and its error messages, sampling, attack keys,
 * shards, seeds, summary arithmetic, results.jsonl repair, the PNG encoder and the report.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { ATTACKS, snakeCase } from '../../src/attacks/index';
import { drawNoise } from '../../src/attacks/random';
import { MODEL_IDS } from '../../src/core/models';
import { Rng } from '../../src/core/prng';
import { startCandidates } from '../../src/data/start-candidates';
import { scoreBody, scoreRoute } from '../../src/experiment/api';
import type { ExperimentBackend } from '../../tools/experiment/backends';
import {
  attackSchema,
  ConfigError,
  cleanSeed,
  enumerateWork,
  eotDrawSeeds,
  LIBRARY_ATTACKS,
  libraryOptions,
  parseShard,
  resolveConfig,
  rowSeed,
  sampleIndices,
  shardWork,
} from '../../tools/experiment/config';
import { LOCK_FILE, lockOutDir, OutDirBusy, readResults, repairResults } from '../../tools/experiment/files';
import { configFile, precheckOutDir, prepareOutDir } from '../../tools/experiment/output';
import { encodeGrayPng } from '../../tools/experiment/png';
import { renderReport } from '../../tools/experiment/report';
import {
  bytesToFloat,
  floatToBytes,
  orderedRow,
  type ResultRow,
  thinTrajectory,
} from '../../tools/experiment/rows';
import { runExperiment, unstarted } from '../../tools/experiment/runner';
import { latestRows, robustAccuracyCurve, summarize, summaryCsv } from '../../tools/experiment/summary';

const read = (name: string) => JSON.parse(readFileSync(join('experiments', name), 'utf8'));

function problems(raw: unknown): string[] {
  try {
    resolveConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

const SMOKE = read('smoke.json');

describe('experiment config', () => {
  it("refuses ε on the gray-level scale with the attack lab's range, before any model runs", () => {
    const cfg = (attack: Record<string, unknown>) => ({ ...SMOKE, attacks: [{ type: 'none' }, attack] });
    expect(problems(cfg({ type: 'square', norm: 'linf', eps: 25, max_queries: 100 }))).toEqual([
      'attacks[1].eps: ε must be a number in [0, 1] for L∞ (pixels are in [0, 1]); 25 looks like gray levels, which is 0.098 on this scale',
    ]);
    expect(problems(cfg({ type: 'noise', eps: 2 }))).toEqual([
      'attacks[1].eps: ε must be a number in [0, 1] for L∞ (pixels are in [0, 1]); 2 looks like gray levels, which is 0.0078 on this scale',
    ]);
    expect(problems(cfg({ type: 'square', norm: 'l2', eps: 30, max_queries: 100 }))).toEqual([
      'attacks[1].eps: ε must be a number in [0, 28] for L2 (pixels are in [0, 1])',
    ]);
    expect(problems(cfg({ type: 'square', norm: 'l2', eps: 28, max_queries: 100 }))).toEqual([]);
    expect(problems(cfg({ type: 'square', norm: 'linf', eps: 0.1, max_queries: 100 }))).toEqual([]);
  });

  it('accepts the shipped configs', () => {
    const dc = resolveConfig(read('defense-comparison.json'));
    expect(dc.models).toEqual(MODEL_IDS);
    expect(dc.indices).toHaveLength(100);
    expect(new Set(dc.indices).size).toBe(100);
    expect(dc.attacks.map((a) => a.key)).toEqual([
      'none',
      'square:eps=0.1,max_queries=1000,norm=linf',
      'hopskipjump:max_queries=2000,norm=l2',
    ]);
    expect(enumerateWork(dc)).toHaveLength(15 * 3 * 100);
    // the attack library's own key and resolved parameters are recorded too
    expect(dc.attacks[0].library).toBeUndefined();
    expect(dc.attacks[1].library?.key).toMatch(
      /^square\|eps=0\.1\|.*maxQueries=1000\|norm=linf\|.*quantize=true/,
    );
    expect(dc.attacks[2].library?.options).toEqual({ norm: 'l2', maxQueries: 2000, quantize: true });
    expect(dc.attacks[2].library?.resolved).toMatchObject({ norm: 'l2', gamma: 1, maxQueries: 2000 });
    const smoke = resolveConfig(SMOKE);
    expect(smoke.models).toEqual(['0', '0_4']);
    expect(enumerateWork(smoke)).toHaveLength(20);
  });

  it("takes each library attack's declared parameters in snake_case, with their ranges", () => {
    const base = { type: 'square', norm: 'linf', eps: 0.1, max_queries: 10 };
    expect(problems({ ...SMOKE, attacks: [{ ...base, p_init: 2 }] })[0]).toMatch(/^attacks\[0\]\.p_init: /);
    // the library's camelCase name points to the config's snake_case one, where the attack has it
    expect(problems({ ...SMOKE, attacks: [{ ...base, pInit: 0.5 }] })).toEqual([
      'attacks[0].pInit: unknown field; did you mean p_init?',
    ]);
    const { max_queries: _, ...noBudget } = base;
    expect(problems({ ...SMOKE, attacks: [{ ...noBudget, maxQueries: 10 }] })).toContain(
      'attacks[0].maxQueries: unknown field; did you mean max_queries?',
    );
    expect(problems({ ...SMOKE, attacks: [{ type: 'none', pInit: 0.5 }] })).toEqual([
      'attacks[0].pInit: unknown field (not allowed here)',
    ]);
    for (const type of LIBRARY_ATTACKS) {
      const declared = Object.keys(ATTACKS[type].params.shape);
      const shape = (attackSchema.options.find((o) => o.shape.type.value === type) as { shape: object })
        .shape;
      expect(Object.keys(shape).sort(), type).toEqual(
        ['max_queries', 'type', ...declared.map(snakeCase)].sort(),
      );
    }
    const hsja = resolveConfig({
      ...SMOKE,
      attacks: [{ type: 'hopskipjump', norm: 'l2', max_queries: 50, max_num_evals: 20 }],
    });
    expect(hsja.attacks[0].library?.options).toMatchObject({ maxNumEvals: 20 });
  });

  it('names the field of every problem', () => {
    const bad = {
      ...SMOKE,
      extra: 1,
      models: ['0', 'nope'],
      images: { count: 5 },
      attacks: [
        { type: 'none' },
        { type: 'noise', eps: 'big' },
        { type: 'square', norm: 'linf', eps: 0.1 },
        { type: 'pgd' },
        { type: 'cw' },
      ],
      eot: 0,
    };
    const p = problems(bad).join('\n');
    expect(p).toMatch(/^extra: unknown field/m);
    expect(p).toMatch(/^models\[1\]: unknown model "nope"/m);
    expect(p).toMatch(/^images\.seed: required field is missing/m);
    expect(p).toMatch(/^attacks\[1\]\.eps: expected number, received string/m);
    expect(p).toMatch(/^attacks\[2\]\.max_queries: required field is missing/m);
    // the white-box attacks must state their threat model, as Square does
    expect(p).toMatch(/^attacks\[3\]\.eps: required field is missing/m);
    expect(p).toMatch(/^attacks\[4\]\.type: /m);
    expect(p).toMatch(/^eot: /m);
    expect(
      problems({ ...SMOKE, attacks: [{ type: 'autoattack', norm: 'linf', eps: 0.1, version: 'fast' }] })[0],
    ).toMatch(/^attacks\[0\]\.version: .*"standard".*"rand"/);
    expect(() =>
      resolveConfig({ ...SMOKE, models: ['0', '0_4'], attacks: [{ type: 'certify', sigma: 0.25 }] }),
    ).toThrow(
      /attacks\[0\]: certify needs models behind the Gaussian-noise defense \(the _4 models\); 0 is not[\s\S]*attacks\[0\]\.sigma: 0\.25, but 0_4 draws its noise with σ = 0\.1/,
    );
    expect(problems({ ...SMOKE, attacks: [{ type: 'fab-t', norm: 'l2', eps: 1.5 }] })[0]).toMatch(
      /^attacks\[0\]\.norm: /,
    );
    expect(problems({ ...SMOKE, attacks: [{ type: 'none', eps: 1 }] })).toEqual([
      'attacks[0].eps: unknown field (not allowed here)',
    ]);
    expect(problems({ ...SMOKE, attacks: [{ type: 'none' }, { type: 'none' }] })[0]).toMatch(
      /attacks\[1\]: the same attack as attacks\[0\]/,
    );
    expect(problems({ ...SMOKE, models: 'some' })[0]).toMatch(/^models: must be "all" or a non-empty list/);
    expect(problems({ ...SMOKE, images: { indices: [1, 1] } })[0]).toMatch(
      /^images\.indices: lists a test-set index twice/,
    );
    expect(problems({ ...SMOKE, images: { indices: [10000] } })[0]).toMatch(/^images\.indices\[0\]: /);
  });

  it('samples images and derives seeds deterministically', () => {
    expect(sampleIndices(10, 1)).toEqual(sampleIndices(10, 1));
    expect(sampleIndices(10, 1)).not.toEqual(sampleIndices(10, 2));
    expect(sampleIndices(10000, 3).sort((a, b) => a - b)).toEqual(Array.from({ length: 10000 }, (_, i) => i));
    const s = rowSeed(0, '0_4', 'none', 17);
    expect(s).toBe(rowSeed(0, '0_4', 'none', 17));
    expect(s).toBe(cleanSeed(0, '0_4', 17));
    expect(s).not.toBe(rowSeed(1, '0_4', 'none', 17));
    expect(Number.isInteger(s) && s >= 0 && s <= 0x7fffffff).toBe(true);
    const draws = eotDrawSeeds(s, 100);
    expect(new Set(draws).size).toBe(100);
  });

  it('splits work into disjoint, balanced shards (1-based, as Playwright)', () => {
    const work = enumerateWork(resolveConfig(read('defense-comparison.json')));
    expect(parseShard('2/3')).toEqual({ index: 2, total: 3 });
    expect(() => parseShard('0/3')).toThrow(/1-based/);
    expect(() => parseShard('4/3')).toThrow(ConfigError);
    expect(() => parseShard('x')).toThrow(/i\/n/);
    const shards = [1, 2, 3].map((index) => shardWork(work, { index, total: 3 }));
    expect(shards.map((s) => s.length)).toEqual([1500, 1500, 1500]);
    const all = shards.flat().map((w) => w.ordinal);
    expect(new Set(all).size).toBe(work.length);
    // every shard gets every model
    for (const s of shards) expect(new Set(s.map((w) => w.model)).size).toBe(15);
  });

  it('builds the API requests and library options', () => {
    expect(scoreRoute('0')).toBe('/0/score');
    expect(scoreRoute('0_4')).toBe('/0/4/score');
    expect(JSON.parse(scoreBody([{ image: 'AA==', seed: 3 }], false))).toEqual({
      image: 'AA==',
      image_size: [28, 28],
      channel: 1,
      seed: 3,
    });
    expect(JSON.parse(scoreBody([{ image: 'AA==', seed: 3 }], true)).batch).toHaveLength(1);
    expect(libraryOptions({ max_queries: 5, norm: 'l2', init_num_evals: 3 })).toEqual({
      maxQueries: 5,
      norm: 'l2',
      initNumEvals: 3,
    });
  });
});

describe('rows and noise', () => {
  it('draws noise on the 8-bit grid inside the eps ball', () => {
    const x = bytesToFloat(Uint8Array.from({ length: 784 }, (_, i) => (i * 7) % 256));
    expect(x[1] * 255).toBeCloseTo(7, 5);
    for (const norm of ['linf', 'l2'] as const) {
      const a = floatToBytes(drawNoise(x, 0.1, norm, new Rng(5), true));
      expect(a).toEqual(floatToBytes(drawNoise(x, 0.1, norm, new Rng(5), true)));
      let l2 = 0;
      for (let i = 0; i < 784; i++) {
        const d = Math.abs(a[i] / 255 - x[i]);
        if (norm === 'linf') expect(d).toBeLessThanOrEqual(0.1 + 1e-9);
        l2 += d * d;
      }
      if (norm === 'l2') expect(Math.sqrt(l2)).toBeLessThanOrEqual(0.1 + 1e-6);
    }
  });

  it('thins trajectories and keeps the final point', () => {
    const pts = Array.from({ length: 1000 }, (_, i) => ({ queries: i + 1, distance: 10 / (i + 1) }));
    const t = thinTrajectory(pts);
    expect(t.length).toBeLessThanOrEqual(32);
    expect(t[t.length - 1]).toEqual([1000, 0.01]);
    expect(t.map((p) => p[0])).toEqual([...t.map((p) => p[0])].sort((a, b) => a - b));
  });
});

function row(p: Partial<ResultRow>): ResultRow {
  return orderedRow({
    model: '0',
    attack: 'a',
    index: 0,
    label: 1,
    clean_pred: 1,
    adv_pred: 1,
    success: false,
    queries: 10,
    l2: 0,
    linf: 0,
    ms: 1,
    seed: 1,
    ...p,
  });
}

describe('starting points for decision attacks', () => {
  it('offers the nearest test image of each other class, nearest first', () => {
    const count = 40;
    const images = new Uint8Array(784 * count);
    const labels = new Uint8Array(count);
    // image i: every pixel = 6·i; label i mod 10. Image 12 (label 2) is nearest to 11, 13, 10, 14, …
    for (let i = 0; i < count; i++) {
      images.fill(6 * i, i * 784, (i + 1) * 784);
      labels[i] = i % 10;
    }
    const c = startCandidates({ count, images, labels }, 12);
    expect(c).toHaveLength(9);
    expect(c.map((img) => Math.round((img[0] * 255) / 6))).toEqual([11, 13, 10, 14, 9, 15, 8, 16, 7]);
    expect(c.every((img) => img.length === 784 && img.every((v) => v >= 0 && v <= 1))).toBe(true);
  });

  it('recognises rows whose attack never started, old and new', () => {
    const hsja = 'hopskipjump:max_queries=2000,norm=l2';
    expect(unstarted(row({ attack: hsja, success: false, l2: 0 }))).toBe(true); // before `start` existed
    expect(unstarted(row({ attack: hsja, success: false, l2: 0, start: 'none' }))).toBe(true);
    expect(unstarted(row({ attack: hsja, success: true, l2: 1.2, start: 'data' }))).toBe(false);
    expect(unstarted(row({ attack: hsja, success: true, l2: 1.2 }))).toBe(false);
    expect(unstarted(row({ attack: hsja, success: false, l2: 0, clean_pred: 3 }))).toBe(false); // misclassified
    expect(unstarted(row({ attack: 'square:eps=0.1', success: false, l2: 0 }))).toBe(false);
    // the random-noise baseline is decision-based but needs no start: a miss is a real miss
    expect(unstarted(row({ attack: 'noise:eps=0.1,norm=linf', success: false, l2: 0 }))).toBe(false);
    expect(
      unstarted(row({ attack: 'boundary:max_queries=1000', success: false, l2: 0, start: 'none' })),
    ).toBe(true);
  });
});

describe('summary', () => {
  it('computes clean/robust accuracy, success rate and medians as defined', () => {
    const resolved = resolveConfig({ ...SMOKE, models: ['0'], attacks: [{ type: 'noise', eps: 0.1 }] });
    const key = resolved.attacks[0].key;
    const rows = [
      row({ attack: key, index: 1, success: true, adv_pred: 2, queries: 1, l2: 1, linf: 0.1 }),
      row({ attack: key, index: 2, success: true, adv_pred: 3, queries: 3, l2: 2, linf: 0.1 }),
      row({ attack: key, index: 3 }),
      row({ attack: key, index: 4, clean_pred: 5, adv_pred: 5, skipped: 'misclassified', queries: 0 }),
      row({ attack: key, index: 5, error: 'boom', clean_pred: null, adv_pred: null, success: null }),
      // superseded by the retry below
      row({ attack: key, index: 6, error: 'first try failed', clean_pred: null }),
      row({ attack: key, index: 6 }),
    ];
    const [s] = summarize(resolved, rows);
    expect(s).toMatchObject({
      n: 5,
      errors: 1,
      clean_accuracy: 4 / 5,
      robust_accuracy: 2 / 5,
      success_rate: 2 / 4,
      median_queries: 2,
      median_l2: 1.5,
    });
    const csv = summaryCsv([s]).split('\n');
    expect(csv[0]).toBe(
      'model,attack,n,clean_accuracy,robust_accuracy,success_rate,median_queries,median_l2,median_linf,errors,eot_success_rate,eot_vote_accuracy,robust_ci95_low,robust_ci95_high',
    );
    // 2 of 5 robust: the Clopper–Pearson 95 % interval is [0.0527, 0.8534]
    expect(csv[1]).toBe('0,noise:eps=0.1,5,0.8000,0.4000,0.5000,2,1.5,0.1,1,,,0.0527,0.8534');
    expect(summaryCsv([{ ...s, attack: 'square:eps=0.1,norm=linf' }]).split('\n')[1]).toMatch(
      /^0,"square:eps=0.1,norm=linf",5,/,
    );
  });
});

describe('robustness curve', () => {
  it('robust accuracy at ε: correct and farther than ε; unflipped robust everywhere, misclassified nowhere', () => {
    const rs = [
      row({ index: 1, success: true, l2: 0.5, linf: 0.05 }),
      row({ index: 2, success: true, l2: 1.5, linf: 0.2 }),
      row({ index: 3, success: false }), // the attack found nothing: robust at every ε
      row({ index: 4, clean_pred: 5, skipped: 'misclassified' }), // not robust even at ε = 0
      row({ index: 5, error: 'boom' }), // left out
    ];
    expect(robustAccuracyCurve(rs, 'l2', [0, 0.5, 1, 1.5, 10])).toEqual([0.75, 0.5, 0.5, 0.25, 0.25]);
    expect(robustAccuracyCurve(rs, 'linf', [0.1])).toEqual([0.5]);
    expect(robustAccuracyCurve([], 'l2', [1])).toEqual([null]);
  });
});

describe('files', () => {
  it('ignores and repairs a partial last line of results.jsonl', () => {
    const dir = mkdtempSync(join(tmpdir(), 'exp-files-'));
    const a = JSON.stringify(row({ index: 1 }));
    writeFileSync(join(dir, 'results.jsonl'), `${a}\n${a.slice(0, 20)}`);
    const r = readResults(dir);
    expect(r.rows).toHaveLength(1);
    expect(r.truncatedTail).toBe(true);
    expect(repairResults(dir)).toBe(true);
    expect(readFileSync(join(dir, 'results.jsonl'), 'utf8')).toBe(`${a}\n`);
    expect(repairResults(dir)).toBe(false);
  });

  it('--redo-changed moves the rows of a retrained model to superseded.jsonl and nothing else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'exp-redo-'));
    const resolved = resolveConfig({ ...SMOKE, models: ['0', '0_1'], images: { indices: [1, 2] } });
    const env = (h01: string) => ({
      mode: 'browser',
      backend: { active: 'wasm' },
      models: { '0': { file_sha256: 'aa' }, '0_1': { file_sha256: h01 } },
    });
    const before = configFile(resolved, null, env('old'), 8, 8);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(before));
    const rows = [
      row({ model: '0', index: 1 }),
      row({ model: '0_1', index: 1 }),
      row({ model: '0', index: 2 }),
    ];
    writeFileSync(join(dir, 'results.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const after = configFile(resolved, null, env('new'), 8, 8);
    const opts = { outDir: dir, file: after, resume: true, fresh: false, force: false, log: () => {} };
    // without the flag: refused, naming the model and the way out; nothing touched
    expect(() => prepareOutDir(opts)).toThrow(/model 0_1's weight file changed.*--redo-changed/);
    expect(readResults(dir).rows).toHaveLength(3);
    const logs: string[] = [];
    expect(prepareOutDir({ ...opts, redoChanged: true, log: (l) => logs.push(l) })).toEqual({
      resumed: true,
    });
    expect(readResults(dir).rows).toEqual([rows[0], rows[2]]);
    const superseded = readFileSync(join(dir, 'superseded.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(superseded).toHaveLength(1);
    expect(superseded[0]).toMatchObject({
      ...rows[1],
      superseded: { reason: expect.stringContaining('0_1 → new') },
    });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(cfg.environment.models['0_1'].file_sha256).toBe('new');
    expect(cfg.redone).toMatchObject([{ models: ['0_1'], rows_superseded: 1, sha256: { '0_1': 'new' } }]);
    expect(logs.join('\n')).toMatch(/0_1 changed.*moved their 1 rows/);
    // a second resume finds nothing changed and moves nothing
    expect(prepareOutDir({ ...opts, redoChanged: true })).toEqual({ resumed: true });
    expect(readResults(dir).rows).toHaveLength(2);
    expect(readFileSync(join(dir, 'superseded.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('--redo-changed moves the rows of an attack whose library defaults changed, and nothing else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'exp-redo-attack-'));
    const cfg = {
      ...SMOKE,
      models: ['0'],
      images: { indices: [1, 2] },
      attacks: [{ type: 'none' }, { type: 'square', norm: 'linf', eps: 0.1, max_queries: 10 }],
    };
    const resolved = resolveConfig(cfg);
    const env = { mode: 'native', models: { '0': { file_sha256: 'aa' } } };
    const after = configFile(resolved, null, env, 4, 4);
    const squareKey = resolved.attacks[1].key;
    // the earlier run resolved Square with the old ImageNet p_init
    const oldLibrary = {
      ...resolved.attacks[1].library!,
      key: resolved.attacks[1].library!.key.replace('pInit=0.8', 'pInit=0.05'),
      resolved: { ...resolved.attacks[1].library!.resolved, pInit: 0.05 },
    };
    const before = configFile(resolved, null, env, 4, 4);
    before.resolved.attacks = [
      before.resolved.attacks[0],
      { ...before.resolved.attacks[1], library: oldLibrary },
    ];
    writeFileSync(join(dir, 'config.json'), JSON.stringify(before));
    const rows = [row({ attack: 'none', index: 1 }), row({ attack: squareKey, index: 1 })];
    writeFileSync(join(dir, 'results.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const opts = { outDir: dir, file: after, resume: true, fresh: false, force: false, log: () => {} };
    expect(() => precheckOutDir(opts)).toThrow(/the attacks differ/);
    expect(() => prepareOutDir(opts)).toThrow(/the attacks differ/);
    expect(() => precheckOutDir({ ...opts, redoChanged: true })).not.toThrow();
    expect(prepareOutDir({ ...opts, redoChanged: true })).toEqual({ resumed: true });
    expect(readResults(dir).rows).toEqual([rows[0]]);
    const superseded = JSON.parse(readFileSync(join(dir, 'superseded.jsonl'), 'utf8').trim());
    expect(superseded.superseded.reason).toMatch(/pInit=0.05.*→.*pInit=0.8/);
    const written = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(written.resolved.attacks[1].library.key).toMatch(/pInit=0.8/);
    expect(written.redone).toMatchObject([{ attacks: [{ key: squareKey }], rows_superseded: 1 }]);
  });

  it('--force never resumes into the rows of a different experiment, only across a changed environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'exp-force-'));
    const resolved = resolveConfig({ ...SMOKE, models: ['0'], images: { indices: [1] } });
    const before = configFile(resolved, null, { mode: 'browser', backend: { active: 'wasm' } }, 2, 2);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(before));
    writeFileSync(join(dir, 'results.jsonl'), `${JSON.stringify(row({ index: 1 }))}\n`);
    const other = resolveConfig({ ...SMOKE, models: ['0', '0_4'], images: { indices: [1] } });
    const file = configFile(other, null, { mode: 'browser', backend: { active: 'wasm' } }, 4, 4);
    const opts = { outDir: dir, file, resume: true, fresh: false, force: true, log: () => {} };
    expect(() => precheckOutDir(opts)).toThrow(/different experiment: .*model list differs.*--redo-all/);
    expect(() => prepareOutDir(opts)).toThrow(/--force only overrides a changed environment/);
    expect(readResults(dir).rows).toHaveLength(1);
    // the same experiment in another mode: --force resumes, with a warning
    const sameExperiment = configFile(resolved, null, { mode: 'native' }, 2, 2);
    const logs: string[] = [];
    expect(prepareOutDir({ ...opts, file: sameExperiment, log: (l) => logs.push(l) })).toEqual({
      resumed: true,
    });
    expect(logs.join('\n')).toMatch(/mode differs.*Resuming anyway/);
  });

  it('refuses another mode or backend before anything starts, with advice that fits the difference', () => {
    const dir = mkdtempSync(join(tmpdir(), 'exp-precheck-'));
    const resolved = resolveConfig({ ...SMOKE, models: ['0'], images: { indices: [1] } });
    const env = (mode: string, active?: string, sha = 'aa') => ({
      mode,
      ...(active ? { backend: { active } } : {}),
      models: { '0': { file_sha256: sha } },
    });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(configFile(resolved, null, env('native'), 2, 2)));
    writeFileSync(join(dir, 'results.jsonl'), `${JSON.stringify(row({ index: 1 }))}\n`);
    // the precheck runs before the backend: its file has no environment yet
    const opts = {
      outDir: dir,
      file: configFile(resolved, null, {}, 2, 2),
      resume: true,
      fresh: false,
      force: false,
      run: { mode: 'browser', backend: 'wasm' } as const,
    };
    const refusal = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    const early = refusal(() => precheckOutDir(opts));
    expect(early).toMatch(/the mode differs \(native vs browser\)\. Use --redo-all to rerun it here/);
    expect(early).toMatch(/--force to resume anyway \(mixing rows of both\), --fresh/);
    // --redo-changed reruns only models whose weight file changed: it cannot help here
    expect(early).not.toMatch(/--redo-changed/);
    expect(refusal(() => precheckOutDir({ ...opts, redoChanged: true }))).toBe(early);
    expect(() => precheckOutDir({ ...opts, force: true })).not.toThrow();
    expect(() => precheckOutDir({ ...opts, redoAll: true })).not.toThrow();
    expect(() => precheckOutDir({ ...opts, run: { mode: 'native' } })).not.toThrow();
    // the same advice when the mode is found only after the start (prepareOutDir)
    const late = refusal(() =>
      prepareOutDir({
        ...opts,
        file: configFile(resolved, null, env('browser', 'wasm'), 2, 2),
        log: () => {},
      }),
    );
    expect(late).toMatch(/the mode differs \(native vs browser\)\. Use --redo-all/);
    expect(late).not.toMatch(/--redo-changed/);

    // browser rows made on WebGPU: asking for WASM is known to differ, asking for WebGPU is not
    // (it may fall back to WASM), so that is left to the check after the start
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify(configFile(resolved, null, env('browser', 'webgpu'), 2, 2)),
    );
    expect(refusal(() => precheckOutDir(opts))).toMatch(/the inference backend differs \(webgpu vs wasm\)/);
    expect(() => precheckOutDir({ ...opts, run: { mode: 'browser', backend: 'webgpu' } })).not.toThrow();
    // only a weight file changed: --redo-changed is the way out, and it is offered
    const weights = refusal(() =>
      prepareOutDir({
        ...opts,
        file: configFile(resolved, null, env('browser', 'webgpu', 'bb'), 2, 2),
        log: () => {},
      }),
    );
    expect(weights).toMatch(/model 0's weight file changed.*Use --redo-changed/);
  });

  it('--redo-all moves every row to superseded.jsonl with why and the earlier environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'exp-redo-all-'));
    const resolved = resolveConfig({ ...SMOKE, models: ['0'], images: { indices: [1] } });
    const before = configFile(resolved, null, { mode: 'browser', backend: { active: 'wasm' } }, 2, 2);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(before));
    const rows = [row({ index: 1 }), row({ index: 1, attack: 'x' })];
    writeFileSync(join(dir, 'results.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const after = configFile(resolved, null, { mode: 'native' }, 2, 2);
    const opts = { outDir: dir, file: after, resume: true, fresh: false, force: false, log: () => {} };
    expect(() => prepareOutDir(opts)).toThrow(/mode differs/);
    expect(prepareOutDir({ ...opts, redoAll: true })).toEqual({ resumed: false });
    expect(readResults(dir).rows).toEqual([]);
    const superseded = readFileSync(join(dir, 'superseded.jsonl'), 'utf8').trim().split('\n');
    expect(superseded).toHaveLength(2);
    expect(JSON.parse(superseded[0]).superseded.reason).toMatch(
      /--redo-all.*mode differs \(browser vs native\)/,
    );
    const written = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(written.environment.mode).toBe('native');
    expect(written.redone[0].all.previous_environment.mode).toBe('browser');
  });

  it('encodes valid PNGs', () => {
    const px = Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 13) % 256);
    const png = PNG.sync.read(encodeGrayPng(px, 28, 28, 2));
    expect([png.width, png.height]).toEqual([56, 56]);
    expect(png.data[(2 * 56 + 2) * 4]).toBe(px[28 + 1]);
  });

  it('renders a self-contained report', () => {
    const resolved = resolveConfig({
      ...SMOKE,
      attacks: [{ type: 'none' }, { type: 'hopskipjump', norm: 'l2', max_queries: 100 }],
    });
    const key = resolved.attacks[1].key;
    const adv = Buffer.alloc(784, 7).toString('base64');
    const rows = resolved.indices.flatMap((index) => [
      row({ index, attack: 'none' }),
      row({
        index,
        attack: key,
        success: true,
        adv_pred: 3,
        queries: 50,
        l2: 1.2,
        linf: 0.3,
        adv,
        traj: [
          [10, 5],
          [50, 1.2],
        ],
      }),
      row({
        index,
        attack: key,
        model: '0_4',
        success: true,
        adv_pred: 3,
        queries: 70,
        l2: 2.2,
        linf: 0.5,
        eot_success_rate: 0.6,
      }),
    ]);
    const testSet = { count: 10000, images: new Uint8Array(784 * 10000), labels: new Uint8Array(10000) };
    const html = renderReport({
      name: 'unit',
      resolved,
      rows,
      summary: summarize(resolved, rows),
      expected: 20,
      environment: { mode: 'browser', browser: { version: '1' }, backend: { active: 'wasm', threads: 2 } },
      notes: [],
      testSet,
    });
    expect(html).toContain('<svg');
    expect(html).toContain('data:image/png;base64,');
    expect(html).toContain('median distance vs budget');
    // HopSkipJump (minimum distance): a robustness curve instead of a 0 % bar chart
    expect(html).toContain('robust accuracy vs ε');
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script|<link/i);
  });
});

/** A CSS colour as `#rrggbb` or `hsl(h s% l%)`, as sRGB in [0, 1]. */
function srgb(css: string): number[] {
  const hsl = /^hsl\(([\d.]+) ([\d.]+)% ([\d.]+)%\)$/.exec(css);
  if (!hsl) return [1, 3, 5].map((i) => Number.parseInt(css.slice(i, i + 2), 16) / 255);
  const [h, sat, l] = [Number(hsl[1]), Number(hsl[2]) / 100, Number(hsl[3]) / 100];
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return l - sat * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1));
  };
  return [f(0), f(8), f(4)];
}

/** CIE76 colour difference of two CSS colours (in CIELAB, D65). */
function deltaE(a: string, b: string): number {
  const lab = (css: string) => {
    const [r, g, bl] = srgb(css).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
    const x = f((0.4124 * r + 0.3576 * g + 0.1805 * bl) / 0.95047);
    const y = f(0.2126 * r + 0.7152 * g + 0.0722 * bl);
    const z = f((0.0193 * r + 0.1192 * g + 0.9505 * bl) / 1.08883);
    return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
  };
  const [p, q] = [lab(a), lab(b)];
  return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
}

describe('report', () => {
  const resolved = resolveConfig({
    ...SMOKE,
    models: 'all',
    attacks: [{ type: 'none' }, { type: 'square', norm: 'linf', eps: 0.1, max_queries: 100 }],
  });
  const key = resolved.attacks[1].key;
  const rows = resolved.models.flatMap((model, m) =>
    resolved.indices.flatMap((index, i) => [
      row({ model, index, attack: 'none' }),
      row({ model, index, attack: key, success: i <= m % 5, adv_pred: 3, queries: 5 + m, linf: 0.1 }),
    ]),
  );
  const html = renderReport({
    name: 'unit',
    resolved,
    rows,
    summary: summarize(resolved, rows),
    expected: rows.length,
    environment: { mode: 'native' },
    notes: [],
    testSet: null,
  });

  it('gives every model of a report a clearly different colour, the same in its chart and legend', () => {
    const chart = html.slice(html.indexOf('<h2>Success rate vs query budget</h2>'));
    const lines = [...chart.matchAll(/<path d="[^"]*" fill="none" stroke="([^"]+)"/g)].map((x) => x[1]);
    expect(lines).toHaveLength(15);
    // the five models of one architecture were shades of one hue (ΔE 8.5 between 0_2 and 0_3)
    for (let i = 0; i < lines.length; i++)
      for (let j = i + 1; j < lines.length; j++)
        expect(deltaE(lines[i], lines[j]), `${resolved.models[i]} vs ${resolved.models[j]}`).toBeGreaterThan(
          25,
        );
    const legend = chart.slice(chart.indexOf('<div class="legend">'));
    const keyed = [...legend.matchAll(/stroke="([^"]+)" stroke-width="4"\/><\/svg>([^<]+)</g)];
    expect(keyed.slice(0, 15).map((x) => [x[1], x[2].split(' ')[0]])).toEqual(
      lines.map((c, i) => [c, resolved.models[i]]),
    );
  });

  it('shows 0 errors as 0, and lets the summary table scroll sideways', () => {
    const table = html.slice(html.indexOf('<h2>Summary</h2>'), html.indexOf('</table>'));
    expect(table).toMatch(/^<h2>Summary<\/h2><div class="scroll"><table>/);
    expect(html).toMatch(/\.scroll\{overflow-x:auto\}/);
    const headers = [...table.matchAll(/<th>([^<]*)<\/th>/g)].map((x) => x[1]);
    const first = table.slice(table.indexOf('<tbody>'), table.indexOf('</tr>', table.indexOf('<tbody>')));
    const cells = [...first.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((x) => x[1]);
    expect(cells).toHaveLength(headers.length);
    expect(cells[headers.indexOf('errors')]).toBe('0');
  });
});

describe('runner (fake backend)', () => {
  /** A deterministic stand-in for a model: class = (sum of bytes + seed for randomized) mod 10. */
  function fakeBackend(failing: Set<string>, calls: { score: number }): ExperimentBackend {
    return {
      mode: 'endpoint',
      batch: true,
      async score(model, items) {
        calls.score++;
        if (failing.has(model)) throw new Error(`HTTP 503: model "${model}" is unavailable`);
        return items.map((it) => {
          const bytes = Buffer.from(it.image, 'base64');
          let s = 0;
          for (const b of bytes) s += b;
          const cls = (s + (model.includes('_') ? it.seed % 3 : 0)) % 10;
          return Array.from({ length: 10 }, (_, k) => (k === cls ? 0.9 : 0.1 / 9));
        });
      },
      async attack() {
        throw new Error('no attacks here');
      },
      async whiteBox() {
        throw new Error('no gradients here');
      },
      async environment() {
        return {};
      },
      async close() {},
    };
  }

  const set = {
    count: 10000,
    images: Uint8Array.from({ length: 784 * 10000 }, (_, i) => (i * 31) % 251),
    labels: new Uint8Array(10000),
  };
  for (let i = 0; i < 10000; i++) set.labels[i] = i % 10;
  const config = { ...SMOKE, models: ['0', '0_4', '2'], images: { indices: [0, 1, 2, 3, 4, 5, 6, 7] } };

  it('records a failing model as error rows, continues, and resumes only what is missing', async () => {
    const resolved = resolveConfig(config);
    const dir = mkdtempSync(join(tmpdir(), 'exp-runner-'));
    const calls = { score: 0 };
    const base = {
      resolved,
      outDir: dir,
      shard: null,
      testSet: set,
      batchSize: 3,
      retryErrors: false,
      signal: new AbortController().signal,
    };
    const s1 = await runExperiment({ ...base, backend: fakeBackend(new Set(['2']), calls) });
    expect(s1).toMatchObject({ total: 48, rows: 48, errors: 16, interrupted: false });
    const first = readResults(dir).rows;
    expect(first.filter((r) => r.model === '2').every((r) => /503/.test(r.error ?? ''))).toBe(true);
    expect(first.filter((r) => r.model !== '2').every((r) => r.error === undefined)).toBe(true);
    // the randomized model carries an EOT success rate
    expect(
      first
        .filter((r) => r.model === '0_4' && r.attack === 'none')
        .every((r) => typeof r.eot_success_rate === 'number'),
    ).toBe(true);
    // nothing left to do
    const s2 = await runExperiment({ ...base, backend: fakeBackend(new Set(), calls) });
    expect(s2.rows).toBe(0);
    // --retry-errors redoes the error rows only; the new rows supersede them
    const s3 = await runExperiment({ ...base, retryErrors: true, backend: fakeBackend(new Set(), calls) });
    expect(s3).toMatchObject({ rows: 16, errors: 0 });
    // the error rows moved to superseded.jsonl: results.jsonl keeps one row per item, nothing is lost
    const after = readResults(dir).rows;
    expect(after).toHaveLength(48);
    expect(after.every((r) => r.error === undefined)).toBe(true);
    const superseded = readFileSync(join(dir, 'superseded.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(superseded).toHaveLength(16);
    expect(
      superseded.every(
        (r) => r.model === '2' && /503/.test(r.error) && /retry-errors/.test(r.superseded.reason),
      ),
    ).toBe(true);
    const [summary2] = summarize(resolved, readResults(dir).rows).filter((r) => r.model === '2');
    expect(summary2.errors).toBe(0);
    expect(summary2.n).toBe(8);
    // batch size does not change any row (only timings)
    const dir1 = mkdtempSync(join(tmpdir(), 'exp-runner-'));
    await runExperiment({ ...base, outDir: dir1, batchSize: 1, backend: fakeBackend(new Set(), calls) });
    const strip = (rs: ResultRow[]) => rs.map(({ ms: _ms, ...r }) => JSON.stringify(r)).sort();
    expect(strip(readResults(dir1).rows)).toEqual(strip([...latestRows(readResults(dir).rows).values()]));
  });

  it('runs library attacks side by side (inFlight) and still writes every row in order, as a sequential run does', async () => {
    // labels the fake model gets right, so every image is attacked
    const labelled = { ...set, labels: new Uint8Array(10000) };
    for (let i = 0; i < 10000; i++) {
      let sum = 0;
      for (let p = 0; p < 784; p++) sum += set.images[i * 784 + p];
      labelled.labels[i] = sum % 10;
    }
    const resolved = resolveConfig({
      ...SMOKE,
      models: ['0'],
      images: { indices: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
      attacks: [{ type: 'square', norm: 'linf', eps: 0.1, max_queries: 50 }],
    });
    let running = 0;
    let most = 0;
    let started = 0;
    const attacking = (parallelism?: number): ExperimentBackend => ({
      ...fakeBackend(new Set(), { score: 0 }),
      parallelism,
      async attack(call) {
        running++;
        most = Math.max(most, running);
        // an attack started later finishes sooner: rows arrive out of order
        await new Promise((r) => setTimeout(r, Math.max(1, 40 - 4 * started++)));
        running--;
        const adversarial = Float32Array.from(call.x, (v, i) => (i === 0 ? 1 - v : v));
        return {
          adversarial,
          success: true,
          queries: 7 + (call.seed % 5),
          l2: 1,
          linf: 1,
          trajectory: [],
          adversarialLabel: (call.label + 1) % 10,
        };
      },
    });
    const run = async (backend: ExperimentBackend, inFlight?: number) => {
      const dir = mkdtempSync(join(tmpdir(), 'exp-runner-'));
      most = 0;
      started = 0;
      await runExperiment({
        resolved,
        outDir: dir,
        shard: null,
        testSet: labelled,
        batchSize: 4,
        retryErrors: false,
        signal: new AbortController().signal,
        backend,
        inFlight,
      });
      return { rows: readResults(dir).rows.map(({ ms: _ms, ...r }) => JSON.stringify(r)), most };
    };
    const sequential = await run(attacking());
    expect(sequential.most).toBe(1);
    const side = await run(attacking(3));
    expect(side.most).toBe(3);
    expect(side.rows).toEqual(sequential.rows);
    expect(side.rows.filter((r) => r.includes('"attack":"square')).length).toBe(10);
    // an explicit inFlight wins over the backend's parallelism
    expect((await run(attacking(3), 2)).most).toBe(2);
  });

  it('stops at once when aborted, writing no partial rows', async () => {
    const resolved = resolveConfig(config);
    const dir = mkdtempSync(join(tmpdir(), 'exp-runner-'));
    const controller = new AbortController();
    const calls = { score: 0 };
    const backend = fakeBackend(new Set(), calls);
    const slow: ExperimentBackend = {
      ...backend,
      async score(model, items) {
        if (calls.score === 4) controller.abort();
        return backend.score(model, items);
      },
    };
    const s = await runExperiment({
      resolved,
      outDir: dir,
      shard: null,
      testSet: set,
      batchSize: 3,
      retryErrors: false,
      signal: controller.signal,
      backend: slow,
    });
    expect(s.interrupted).toBe(true);
    expect(s.rows).toBeLessThan(48);
    expect(readResults(dir).rows).toHaveLength(s.rows);
  });
});

describe('output folder lock', () => {
  it('lets one run write to a folder at a time and says who holds it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'exp-lock-'));
    const release = lockOutDir(dir);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
    expect(() => lockOutDir(dir)).toThrow(OutDirBusy);
    expect(() => lockOutDir(dir)).toThrow(`pid ${process.pid}`);
    release();
    release(); // idempotent
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    lockOutDir(dir)();
  });

  it('takes over the lock of a killed run on this host at once, never one from another host', () => {
    const dir = mkdtempSync(join(tmpdir(), 'exp-lock-'));
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: hostname(), since: 'earlier' }));
    const release = lockOutDir(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    release();
    // an earlier process with this very pid (a restarted container) holds no lock any more
    writeFileSync(
      join(dir, LOCK_FILE),
      JSON.stringify({ pid: process.pid, host: hostname(), token: 'before' }),
    );
    lockOutDir(dir)();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    expect(readdirSync(dir)).toEqual([]); // no temp or guard files left
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: 'elsewhere', since: 'earlier' }));
    expect(() => lockOutDir(dir)).toThrow(/host elsewhere.*delete/);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
  });

  it.skipIf(process.platform !== 'linux')(
    'takes over the lock of a run killed a moment ago that its parent has not reaped yet (a zombie)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'exp-lock-'));
      // the background sleep exits after 0.1 s; its parent has exec'd into sleep, which never reaps it
      const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 30'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      try {
        const pid = Number(
          await new Promise<string>((r) => parent.stdout!.once('data', (d) => r(String(d)))),
        );
        await expect.poll(() => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0]).toBe('Z');
        writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, host: hostname(), since: 'a moment ago' }));
        const release = lockOutDir(dir);
        expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
        release();
      } finally {
        parent.kill('SIGKILL');
      }
    },
  );
});
