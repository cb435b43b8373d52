/**
 * results.jsonl on a full disk (a 64 KiB tmpfs, mounted here; the test is skipped, saying why, where
 * it cannot mount one): a row that does not fit leaves nothing of itself behind, so when space frees
 * up the next rows are whole lines, and the run's results read back without a repair by hand.
 * Before, a short write left half a row that the next append fused with.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendLine, readResults } from '../../tools/experiment/files';

const dir = mkdtempSync(join(tmpdir(), 'playground-tmpfs-'));
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
const why =
  mounted.status === 0
    ? ''
    : `cannot mount a tmpfs here (${(mounted.stderr || mounted.error?.message || '').trim()})`;
if (why) console.warn(`torn-row test skipped: ${why}; it needs root (CI runs as root)`);
afterAll(() => {
  if (!why) execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
});

describe('results.jsonl on a full disk', () => {
  it.skipIf(why !== '')('a row that does not fit leaves no part of itself; later rows are whole', () => {
    const results = join(dir, 'results.jsonl');
    const row = (i: number, size = 300) => ({ i, model: '0', attack: 'square', pad: 'x'.repeat(size) });
    appendLine(results, row(0));
    appendLine(results, row(1));
    const before = readFileSync(results);
    // fill the disk but for one 4 KiB page: a 9,000-byte row gets part way (the rest of the file's
    // page and the free one: the short write a full disk makes), then ENOSPC
    const avail = () =>
      Number(execFileSync('df', ['-B1', '--output=avail', dir], { encoding: 'utf8' }).split('\n')[1]);
    writeFileSync(join(dir, 'filler'), Buffer.alloc(avail() - 4096));
    expect(() => appendLine(results, row(2, 9000))).toThrow(/ENOSPC/);
    expect(readFileSync(results).equals(before)).toBe(true);
    // space frees up: the run goes on, and every line parses
    rmSync(join(dir, 'filler'));
    appendLine(results, row(3));
    const back = readResults(dir);
    expect(back.truncatedTail).toBe(false);
    expect(back.rows.map((r) => (r as unknown as { i: number }).i)).toEqual([0, 1, 3]);
  });
});
