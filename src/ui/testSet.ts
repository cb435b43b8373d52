/** The shipped Fashion-MNIST test set, loaded once for the gallery and for `?img=test:N` links. */
import type { TestSet } from '../data/idx';
import { loadTestSet } from '../data/test-set-browser';
import { reportError } from '../stores/errorStore';
import { useGalleryStore } from '../stores/galleryStore';

let pending: Promise<TestSet> | null = null;

export function ensureTestSet(): Promise<TestSet> {
  const st = useGalleryStore.getState();
  if (st.testSet) return Promise.resolve(st.testSet);
  if (!pending) {
    st.setLoading();
    pending = loadTestSet().then(
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
