/** The shipped Fashion-MNIST test set, loaded once for the gallery and for `?img=test:N` links. */
import { type TestSet, testSetFromIdx } from '../data/idx';
import { loadTestSet } from '../data/test-set-browser';
import { reportError } from '../stores/errorStore';
import { useGalleryStore } from '../stores/galleryStore';

let pending: Promise<TestSet> | null = null;

/**
 * Some servers (vite preview among them) send `.gz` files with `Content-Encoding: gzip`, so the
 * browser has already inflated them and a second gunzip fails. Read the bytes and gunzip only
 * when they still start with the gzip magic number.
 */
async function fetchMaybeGzipped(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function loadTolerant(): Promise<TestSet> {
  try {
    return await loadTestSet();
  } catch (first) {
    const base = new URL('data/', document.baseURI).href;
    try {
      const [im, lb] = await Promise.all([
        fetchMaybeGzipped(`${base}t10k-images-idx3-ubyte.gz`),
        fetchMaybeGzipped(`${base}t10k-labels-idx1-ubyte.gz`),
      ]);
      return testSetFromIdx(im, lb);
    } catch {
      throw first;
    }
  }
}

export function ensureTestSet(): Promise<TestSet> {
  const st = useGalleryStore.getState();
  if (st.testSet) return Promise.resolve(st.testSet);
  if (!pending) {
    st.setLoading();
    pending = loadTolerant().then(
      (set) => {
        useGalleryStore.getState().setLoaded(set);
        return set;
      },
      (err: unknown) => {
        pending = null;
        const message = err instanceof Error ? err.message : String(err);
        useGalleryStore.getState().setFailed(message);
        reportError(
          'Test set unavailable',
          `The Fashion-MNIST test set could not be loaded: ${message}`,
          'testset',
        );
        throw err;
      },
    );
  }
  return pending;
}
