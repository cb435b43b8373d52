/** The shipped Fashion-MNIST test set, loaded once for the gallery and for `?img=test:N` links; the adversarial sets. */
import type { AdversarialSet } from '../data/adversarial';
import { loadAdversarialIndex, loadAdversarialSet } from '../data/adversarial-browser';
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

/** Loads the list of adversarial sets into the gallery store (once); failures leave the clean set only. */
export function ensureAdversarialIndex(): void {
  if (useGalleryStore.getState().adversarialIndex) return;
  loadAdversarialIndex().then(
    (index) => useGalleryStore.getState().setAdversarialIndex(index),
    (err: unknown) =>
      useGalleryStore
        .getState()
        .setSourceError(
          `The adversarial sets are unavailable: ${err instanceof Error ? err.message : String(err)}`,
        ),
  );
}

/** Chooses the gallery's image source: null for the clean test set, else an adversarial set. */
export async function chooseGallerySource(name: string | null): Promise<AdversarialSet | null> {
  const st = useGalleryStore.getState();
  st.setSource(name);
  if (name === null) return null;
  try {
    const set = await loadAdversarialSet(name);
    useGalleryStore.getState().setAdversarial(set);
    return set;
  } catch (err) {
    if (useGalleryStore.getState().source === name)
      useGalleryStore.getState().setSourceError(err instanceof Error ? err.message : String(err));
    return null;
  }
}
