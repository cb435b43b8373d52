/**
 * Adversarial sets as an image source (issue: transfer attacks): the committed sets and their cards,
 * the checks that refuse a set crafted on another file, the config's `images.set`, and a native run
 * that evaluates a set through the API and reproduces the PyTorch accuracy written in its card.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MODEL_IDS } from '../../src/core/models';
import {
  AdversarialSetError,
  adversarialImageAt,
  adversarialIndexSchema,
  adversarialSetFromIdx,
  parseCard,
} from '../../src/data/adversarial';
import { imageAt } from '../../src/data/idx';
import { ConfigError, enumerateWork, resolveConfig } from '../../tools/experiment/config';
import type { ResultRow } from '../../tools/experiment/rows';
import { pluralityVote } from '../../tools/experiment/runner';
import { summarize, transferMatrix, transferMatrixMarkdown } from '../../tools/experiment/summary';
import { loadAdversarialSetNode, loadCardNode, resolveConfigNode } from '../../tools/lib/adversarial-node';
import { loadTestSetNode } from '../../tools/lib/test-set-node';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DATA = join(ROOT, 'public', 'data');
const MODELS = join(ROOT, 'public', 'models');
const TMP = mkdtempSync(join(tmpdir(), 'adversarial-test-'));
const SOURCES = ['0', '0_1', '0_2', '2', '2_1', '2_2', '5', '5_1', '5_2'];
const LEVELS = 25; // floor(255 * 0.1)

describe('the committed adversarial sets', () => {
  const index = adversarialIndexSchema.parse(
    JSON.parse(readFileSync(join(DATA, 'adversarial', 'index.json'), 'utf8')),
  );

  it('lists one PGD eps 0.1 set per shipped weight set, each within eps on the 8-bit grid', () => {
    expect(index.sets.map((s) => s.source).sort()).toEqual([...SOURCES].sort());
    const clean = loadTestSetNode(DATA);
    let first: number[] | null = null;
    for (const s of index.sets) {
      const set = loadAdversarialSetNode(DATA, MODELS, `adversarial/${s.name}`);
      expect(set.card.count).toBe(1000);
      expect(set.card.attack).toMatchObject({ name: 'PGD', norm: 'linf', eps: 0.1, steps: 20 });
      // the same test images for every source
      first ??= set.card.subset.indices;
      expect(set.card.subset.indices).toEqual(first);
      let worst = 0;
      for (const ix of set.card.subset.indices) {
        const a = adversarialImageAt(set, ix);
        const c = imageAt(clean, ix);
        for (let p = 0; p < 784; p++) worst = Math.max(worst, Math.abs(a[p] - c[p]));
      }
      expect(worst, s.name).toBeLessThanOrEqual(LEVELS);
      expect(worst, s.name).toBeGreaterThan(0);
      // white-box PGD hurts its own source
      expect(set.card.source_accuracy.adversarial).toBeLessThan(set.card.source_accuracy.clean);
    }
  });
});

describe('refusing sets that do not belong to the shipped files', () => {
  const card = loadCardNode(DATA, 'adversarial/pgd-eps0.1-from-0');
  const idx = new Uint8Array(gunzipSync(readFileSync(join(DATA, 'adversarial', card.images_file))));

  it('refuses a card whose source sha256 is not the shipped file', () => {
    expect(() => adversarialSetFromIdx(card, idx, 'f'.repeat(64))).toThrow(
      /crafted on a different file of model 0 .*regenerate it with `python3 -m training adversarial-set --source 0`/,
    );
  });

  it('refuses images whose sha256 is not the card one, and images of other dims', () => {
    expect(() => adversarialSetFromIdx(card, idx, card.source.sha256, '0'.repeat(64))).toThrow(
      /pgd-eps0\.1-from-0\.idx\.gz has sha256 000000000000…, its card says/,
    );
    expect(() => adversarialSetFromIdx({ ...card, count: 999 }, idx, card.source.sha256)).toThrow(
      /has dims \[1000,28,28\], the card says \[999,28,28\]/,
    );
  });

  it('refuses a copied set whose card names another source file (as the runner loads it)', () => {
    const dir = join(TMP, 'data');
    mkdirSync(join(dir, 'adversarial'), { recursive: true });
    copyFileSync(join(DATA, 'adversarial', card.images_file), join(dir, 'adversarial', card.images_file));
    const edited = { ...card, source: { ...card.source, sha256: 'a'.repeat(64) } };
    writeFileSync(join(dir, 'adversarial', 'pgd-eps0.1-from-0.json'), JSON.stringify(edited));
    expect(() => loadAdversarialSetNode(dir, MODELS, 'adversarial/pgd-eps0.1-from-0')).toThrow(
      AdversarialSetError,
    );
    expect(() => loadAdversarialSetNode(dir, MODELS, 'adversarial/pgd-eps0.1-from-0')).toThrow(
      /card sha256 aaaaaaaaaaaa…, shipped 83a8256b2324…/,
    );
  });

  it('refuses a card whose name is not its file name', () => {
    expect(() => parseCard({ ...card, name: 'other' }, 'x.json', 'pgd-eps0.1-from-0')).toThrow(
      /x\.json names the set "other", but its file is pgd-eps0\.1-from-0\.json/,
    );
  });

  it('names the file and the field of a malformed card', () => {
    expect(() => parseCard({ ...card, count: 'many' }, 'x.json')).toThrow(
      /^x\.json is not an adversarial-set card: count:/,
    );
  });
});

describe('images.set in an experiment config', () => {
  const base = { name: 't', models: ['0'], attacks: [{ type: 'none' }] };

  it('rejects names outside adversarial/ and sets without a card', () => {
    expect(() => resolveConfig({ ...base, images: { set: '../t10k' } })).toThrow(
      /images(\.set)?: must name an adversarial set as adversarial\/<name>/,
    );
    expect(() => resolveConfig({ ...base, images: { set: 'adversarial/x' } })).toThrow(
      /no card loaded for adversarial\/x/,
    );
    expect(() => resolveConfigNode({ ...base, images: { set: 'adversarial/nope' } }, DATA)).toThrow(
      /adversarial\/nope: no card at .*index\.json/,
    );
  });

  it('resolves to the sets × images work list, the first `count` images of each set', () => {
    const r = resolveConfigNode(
      {
        ...base,
        models: ['0', '2'],
        images: { set: ['adversarial/pgd-eps0.1-from-0', 'adversarial/pgd-eps0.1-from-2'], count: 5 },
      },
      DATA,
    );
    expect(r.sets.map((s) => s.source)).toEqual(['0', '2']);
    expect(r.indices).toEqual(loadCardNode(DATA, 'adversarial/pgd-eps0.1-from-0').subset.indices.slice(0, 5));
    const work = enumerateWork(r);
    expect(work).toHaveLength(2 * 2 * 5);
    expect(work.slice(0, 6).map((w) => w.set)).toEqual([
      ...Array(5).fill('adversarial/pgd-eps0.1-from-0'),
      'adversarial/pgd-eps0.1-from-2',
    ]);
    expect(() =>
      resolveConfigNode({ ...base, images: { set: 'adversarial/pgd-eps0.1-from-0', count: 1001 } }, DATA),
    ).toThrow(ConfigError);
  });

  it('names the field that is wrong in images', () => {
    const msg = (images: unknown) => {
      try {
        resolveConfig({ ...base, images });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(msg({ set: 'adversarial/x', seed: 1 })).toMatch(/images\.seed: a set has fixed images/);
    expect(msg({ count: 5, indices: [1, 2] })).toMatch(/images\.count: count and indices exclude each other/);
    expect(msg({ sets: ['adversarial/x'] })).toMatch(/images\.sets: unknown field/);
    expect(msg({ count: 5 })).toMatch(/images\.seed: required field is missing/);
  });

  it('takes only the none attack with images.set (reports compare attacks with clean images)', () => {
    expect(() =>
      resolveConfigNode(
        {
          ...base,
          images: { set: 'adversarial/pgd-eps0.1-from-0' },
          attacks: [{ type: 'none' }, { type: 'square', norm: 'linf', eps: 0.1, max_queries: 10 }],
        },
        DATA,
      ),
    ).toThrow(/attacks\[1\]: with images.set only \{ "type": "none" \} is supported/);
  });

  it('refuses sets that cover different test images', () => {
    const a = loadCardNode(DATA, 'adversarial/pgd-eps0.1-from-0');
    const b = { ...a, name: 'other', subset: { ...a.subset, indices: [...a.subset.indices].reverse() } };
    const cards = new Map([
      ['adversarial/pgd-eps0.1-from-0', a],
      ['adversarial/other', b],
    ]);
    expect(() =>
      resolveConfig(
        { ...base, images: { set: ['adversarial/pgd-eps0.1-from-0', 'adversarial/other'] } },
        cards,
      ),
    ).toThrow(/adversarial\/other covers other test images than adversarial\/pgd-eps0\.1-from-0/);
  });

  it('the committed transfer-matrix experiment names all fifteen models and the nine sets', () => {
    const r = resolveConfigNode(
      JSON.parse(readFileSync(join(ROOT, 'experiments', 'transfer-matrix.json'), 'utf8')),
      DATA,
    );
    expect(r.models).toEqual(MODEL_IDS);
    expect(r.sets.map((s) => s.source)).toEqual(SOURCES);
    expect(r.indices).toHaveLength(1000);
  });
});

describe('the EOT plurality vote and the transfer matrix', () => {
  const p = (c: number, v = 0.9) => Array.from({ length: 10 }, (_, i) => (i === c ? v : (1 - v) / 9));
  it('takes the class most draws predict; a tie goes to the larger summed probability, not the lower class', () => {
    expect(pluralityVote([p(3), p(3), p(7)])).toBe(3);
    // 2 draws each for 2 and 8; class 8's draws are more confident
    expect(pluralityVote([p(2, 0.5), p(2, 0.5), p(8, 0.95), p(8, 0.95)])).toBe(8);
    expect(pluralityVote([p(8, 0.5), p(8, 0.5), p(2, 0.95), p(2, 0.95)])).toBe(2);
  });

  it('marks white-box cells, same-weights cells and single-draw randomized cells', () => {
    const resolved = resolveConfigNode(
      {
        name: 't',
        models: ['0', '0_4', '2'],
        images: { set: ['adversarial/pgd-eps0.1-from-0'], count: 2 },
        attacks: [{ type: 'none', eot_draws: 5 }],
      },
      DATA,
    );
    const ix = resolved.indices;
    const set = 'adversarial/pgd-eps0.1-from-0';
    const row = (model: string, index: number, pred: number, vote?: number): ResultRow => ({
      model,
      attack: 'none:eot_draws=5',
      index,
      set,
      label: 1,
      clean_pred: pred,
      adv_pred: pred,
      success: false,
      queries: 1,
      l2: 0,
      linf: 0,
      ms: 1,
      seed: 0,
      ...(vote === undefined ? {} : { eot_vote_pred: vote }),
    });
    const rows = [
      row('0', ix[0], 2),
      row('0', ix[1], 1),
      row('0_4', ix[0], 2, 1),
      row('0_4', ix[1], 1, 1),
      row('2', ix[0], 1),
      row('2', ix[1], 1),
    ];
    const m = transferMatrix(resolved, summarize(resolved, rows))!;
    expect(m.relation[0]).toEqual(['same', 'weights', 'transfer']);
    expect(m.accuracy[0]).toEqual([0.5, 1, 1]); // 0_4: the vote (both right), not the single draw (one right)
    expect(m.singleDraw[0][1]).toBe(0.5);
    expect(m.eotDraws).toBe(5);
    const md = transferMatrixMarkdown(m);
    expect(md).toContain('| 0 | **50.0** | *100.0* | 100.0 |');
    // without the vote a randomized cell is the single draw, marked †
    const single = transferMatrix(
      resolved,
      summarize(
        resolved,
        rows.map(({ eot_vote_pred: _, ...r }) => r),
      ),
    )!;
    expect(transferMatrixMarkdown(single)).toContain('| 0 | **50.0** | *50.0†* | 100.0 |');
  });
});

function run(script: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tools', script), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('shards over adversarial sets', () => {
  it('merge, and refuse to merge shards of a regenerated set', { timeout: 120_000 }, async () => {
    const config = join(TMP, 'shards.json');
    writeFileSync(
      config,
      JSON.stringify({
        name: 'shards',
        models: ['0'],
        images: { set: ['adversarial/pgd-eps0.1-from-0', 'adversarial/pgd-eps0.1-from-2'], count: 3 },
        attacks: [{ type: 'none' }],
      }),
    );
    const dirs = [1, 2].map((k) => join(TMP, `shard${k}`));
    for (const [k, dir] of dirs.entries()) {
      const r = await run('experiment/main.ts', [
        '--config',
        config,
        '--out',
        dir,
        '--native',
        '--shard',
        `${k + 1}/2`,
        '--no-progress',
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
    const ok = await run('experiment/merge.ts', [...dirs, '--out', join(TMP, 'merged')]);
    expect(ok.code, ok.stderr).toBe(0);
    const merged = readFileSync(join(TMP, 'merged', 'results.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(merged).toHaveLength(6);
    // shard 2 says its set had other images: never mergeable, not even with --force
    const cfgPath = join(dirs[1], 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    cfg.resolved.sets[1].images_sha256 = '0'.repeat(64);
    writeFileSync(cfgPath, JSON.stringify(cfg));
    const bad = await run('experiment/merge.ts', [...dirs, '--out', join(TMP, 'merged2'), '--force']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/not shards of one experiment:[\s\S]*the adversarial image sets differ/);
  });
});

describe('a native run over an adversarial set', () => {
  it('evaluates the set through the API and reproduces the PyTorch accuracy of its card', {
    timeout: 180_000,
  }, async () => {
    const config = join(TMP, 'set.json');
    writeFileSync(
      config,
      JSON.stringify({
        name: 'set-run',
        models: ['0', '0_4'],
        images: { set: 'adversarial/pgd-eps0.1-from-0' },
        attacks: [{ type: 'none' }],
      }),
    );
    const out = join(TMP, 'set-run');
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'tools', 'experiment', 'main.ts'),
          '--config',
          config,
          '--out',
          out,
          '--native',
          '--no-progress',
        ],
        { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    const rows = readFileSync(join(out, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ResultRow);
    expect(rows).toHaveLength(2000);
    expect(new Set(rows.map((x) => x.set))).toEqual(new Set(['adversarial/pgd-eps0.1-from-0']));
    const card = loadCardNode(DATA, 'adversarial/pgd-eps0.1-from-0');
    const own = rows.filter((x) => x.model === '0');
    const acc = own.filter((x) => x.clean_pred === x.label).length / own.length;
    // onnxruntime-node on the 8-bit set vs the PyTorch interpretation of the same file
    expect(Math.abs(acc - card.source_accuracy.adversarial)).toBeLessThanOrEqual(0.002);
    // randomized targets carry the EOT majority vote
    const noisy = rows.filter((x) => x.model === '0_4');
    expect(noisy.every((x) => typeof x.eot_vote_pred === 'number')).toBe(true);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.resolved.sets[0]).toMatchObject({ source: '0', source_sha256: card.source.sha256 });
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(md).toMatch(/## Transfer matrix/);
    expect(md).toMatch(/\| 0 \| \*\*\d+\.\d\*\* \| \*\d+\.\d\* \|/); // 0_4: same weights (italic)
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/aria-label="transfer matrix heat map"/);
  });
});
