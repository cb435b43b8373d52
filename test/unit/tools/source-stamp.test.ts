import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILD_STAMP_FILE, sourceStamp, staleBuild } from '../../../tools/lib/source-stamp';

const root = mkdtempSync(join(tmpdir(), 'stamp-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the build stamp: a stale dist/ by content, not by file times', () => {
  mkdirSync(join(root, 'src', 'ui'), { recursive: true });
  writeFileSync(join(root, 'src', 'ui', 'a.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'index.html'), '<!doctype html>\n');
  mkdirSync(join(root, 'dist'));

  it('says when dist/ has no stamp, matches a fresh one, ignores times and notices a changed byte', () => {
    expect(staleBuild(root)).toMatch(/no build-stamp.json/);
    writeFileSync(join(root, 'dist', BUILD_STAMP_FILE), JSON.stringify({ source_sha256: sourceStamp(root) }));
    expect(staleBuild(root)).toBeNull();
    // a checkout touches every file: same content, same stamp
    utimesSync(join(root, 'src', 'ui', 'a.ts'), new Date(), new Date(Date.now() + 60_000));
    expect(staleBuild(root)).toBeNull();
    writeFileSync(join(root, 'src', 'ui', 'a.ts'), 'export const a = 2;\n');
    expect(staleBuild(root)).toMatch(/changed since dist\/ was built/);
  });

  it('a renamed file changes the stamp even with the same bytes', () => {
    const before = sourceStamp(root);
    writeFileSync(join(root, 'src', 'b.ts'), '');
    const added = sourceStamp(root);
    expect(added).not.toBe(before);
    rmSync(join(root, 'src', 'b.ts'));
    writeFileSync(join(root, 'src', 'c.ts'), '');
    expect(sourceStamp(root)).not.toBe(added);
  });
});
