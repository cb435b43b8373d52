/**
 * A content hash of what a production build is made from (src/ and index.html), written into
 * dist/build-stamp.json by the build (vite.config.ts) and compared by the experiment runner, so it
 * warns about a stale dist/ by content, not by file times (a checkout or a rebase touches those).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export const BUILD_STAMP_FILE = 'build-stamp.json';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** sha256 (hex) over the sorted relative paths and contents of src/** and index.html under `root`. */
export function sourceStamp(root: string): string {
  const files = [...filesUnder(join(root, 'src')), join(root, 'index.html')]
    .filter((f) => existsSync(f))
    .map((f) => ({ f, rel: relative(root, f).split(sep).join('/') }))
    .sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const h = createHash('sha256');
  for (const { f, rel } of files) {
    h.update(`${rel}\0`);
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex');
}

/** The source hash dist/ was built from; undefined without a stamp, null when it is unreadable. */
export function builtFrom(root: string): string | null | undefined {
  const path = join(root, 'dist', BUILD_STAMP_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const stamp = JSON.parse(readFileSync(path, 'utf8')) as { source_sha256?: unknown };
    return typeof stamp.source_sha256 === 'string' ? stamp.source_sha256 : null;
  } catch {
    return null;
  }
}

/** Why dist/ may not be the current code, or null when its stamp matches src/ and index.html. */
export function staleBuild(root: string): string | null {
  const built = builtFrom(root);
  if (built === undefined) return `dist/ has no ${BUILD_STAMP_FILE} (built before it existed)`;
  if (built === null) return `dist/${BUILD_STAMP_FILE} is unreadable`;
  return built === sourceStamp(root) ? null : 'src/ or index.html changed since dist/ was built';
}
