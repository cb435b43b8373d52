/** Loads the shipped Fashion-MNIST test set in the browser (gzip via DecompressionStream). */
import { type TestSet, testSetFromIdx } from './idx';

/**
 * Some servers (vite preview among them) send `.gz` files with `Content-Encoding: gzip`, so the
 * browser has already inflated them and a second gunzip would fail: gunzip only when the bytes still
 * start with the gzip magic number.
 */
export async function fetchMaybeGzipped(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

let cached: Promise<TestSet> | null = null;

export function loadTestSet(base = new URL('data/', document.baseURI).href): Promise<TestSet> {
  if (!cached) {
    cached = Promise.all([
      fetchMaybeGzipped(`${base}t10k-images-idx3-ubyte.gz`),
      fetchMaybeGzipped(`${base}t10k-labels-idx1-ubyte.gz`),
    ]).then(([im, lb]) => testSetFromIdx(im, lb));
    cached.catch(() => {
      cached = null;
    });
  }
  return cached;
}
