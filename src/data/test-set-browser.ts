/** Loads the shipped Fashion-MNIST test set in the browser (gzip via DecompressionStream). */
import { type TestSet, testSetFromIdx } from './idx';

async function gunzipUrl(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`${url} answered HTTP ${res.status}`);
  const stream = res.body.pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

let cached: Promise<TestSet> | null = null;

export function loadTestSet(base = new URL('data/', document.baseURI).href): Promise<TestSet> {
  if (!cached) {
    cached = Promise.all([
      gunzipUrl(`${base}t10k-images-idx3-ubyte.gz`),
      gunzipUrl(`${base}t10k-labels-idx1-ubyte.gz`),
    ]).then(([im, lb]) => testSetFromIdx(im, lb));
    cached.catch(() => {
      cached = null;
    });
  }
  return cached;
}
