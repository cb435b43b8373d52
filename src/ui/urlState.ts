/**
 * The shareable part of the view lives in the URL: `?img=test:123` (a test-set index) or
 * `?img=px:<base64 of 784 bytes>` (drawn or uploaded pixels), `?models=0,0_3,0_4`, and
 * `?endpoint=<url>` (the attack lab's and API console's HTTP target; absent: the page's models).
 */
import { useEffect } from 'react';
import { decodeBase64, encodeBase64 } from '../core/base64';
import { customIdOf } from '../core/custom-models';
import { MODEL_IDS } from '../core/models';
import { type AdversarialSet, adversarialImageAt } from '../data/adversarial';
import { imageAt } from '../data/idx';
import { useDrawStore } from '../stores/drawStore';
import { normalizeEndpoint, useEndpointStore } from '../stores/endpointStore';
import { reportError } from '../stores/errorStore';
import { useImageStore } from '../stores/imageStore';
import { useModelStore } from '../stores/modelStore';
import { usePrefsStore } from '../stores/prefsStore';
import { findModel, restoreCustomModels } from './customModels';
import { ensureTestSet } from './testSet';

/** URL-safe base64 without padding (decodeBase64 reads both alphabets). */
export function encodePixels(p: Uint8Array): string {
  return encodeBase64(p).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodePixels(text: string): Uint8Array {
  // a "+" that was not percent-encoded arrives as a space
  const bytes = decodeBase64(text.replace(/ /g, '+'));
  if (bytes.length !== 784) throw new Error(`the link holds ${bytes.length} bytes, a 28×28 image needs 784`);
  return bytes;
}

export function imageParamFor(): string | null {
  const { pixels, source } = useImageStore.getState();
  if (!pixels || !source) return null;
  if (source.kind === 'test') return `test:${source.index}`;
  return `px:${encodePixels(pixels)}`;
}

/**
 * Uploaded models (`custom/<id>…`) a link selected that are still being restored from this
 * browser's storage: kept in the link meanwhile, so that a reload in that moment does not lose them.
 */
let pendingUploaded: string[] = [];

function modelsParam(): string {
  const selected = useModelStore.getState().selected;
  return [...selected, ...pendingUploaded.filter((id) => !selected.includes(id))].join(',');
}

export function shareUrl(): string {
  const url = new URL(location.href);
  const img = imageParamFor();
  if (img) url.searchParams.set('img', img);
  url.searchParams.set('models', modelsParam());
  return url.href;
}

/** Makes set's image of test-set index `index` the current image (labelled with the clean twin's class). */
export async function showAdversarialImage(set: AdversarialSet, index: number): Promise<void> {
  const clean = await ensureTestSet();
  useImageStore.getState().setImage(adversarialImageAt(set, index).slice(), {
    kind: 'adversarial',
    set: set.name,
    index,
    label: clean.labels[index],
    sourceModel: set.card.source.model,
    eps: set.card.attack.eps,
  });
}

export async function showTestImage(index: number): Promise<void> {
  const set = await ensureTestSet();
  const px = imageAt(set, index);
  useImageStore.getState().setImage(px.slice(), { kind: 'test', index, label: set.labels[index] });
}

async function applyImageParam(param: string | null): Promise<void> {
  if (param?.startsWith('px:')) {
    try {
      const px = decodePixels(param.slice(3));
      useImageStore.getState().setImage(px, { kind: 'link' });
      useDrawStore.getState().setPixels(px.slice());
      usePrefsStore.getState().setInputTab('draw');
      return;
    } catch (err) {
      reportError(
        'Could not read the image in the link',
        err instanceof Error ? err.message : String(err),
        'url-img',
      );
    }
  } else if (param?.startsWith('test:')) {
    const index = Number(param.slice(5));
    try {
      await showTestImage(index);
      usePrefsStore.getState().setInputTab('gallery');
      return;
    } catch (err) {
      reportError(
        'Could not open the linked test image',
        err instanceof Error ? err.message : String(err),
        'url-img',
      );
    }
  } else if (param) {
    reportError(
      'Could not read the image in the link',
      `“img=${param}” is neither test:<index> nor px:<base64>`,
      'url-img',
    );
  }
  // default view: the first test image (an ankle boot)
  try {
    await showTestImage(0);
  } catch {
    /* the test set failed to load; ensureTestSet reported it */
  }
}

/** Read the URL once at start-up, then keep it in step with the view. */
export function useUrlState(): void {
  useEffect(() => {
    const params = new URLSearchParams(location.search);
    const models = params.get('models');
    if (models !== null) {
      const ids = models.split(',').filter((id) => id !== '');
      const uploaded = ids.filter((id) => customIdOf(id) !== null);
      const unknown = ids.filter((id) => !MODEL_IDS.includes(id) && customIdOf(id) === null);
      if (unknown.length)
        reportError('Unknown models in the link', `Ignored: ${unknown.join(', ')}`, 'url-models', 'warning');
      useModelStore.getState().setSelected(ids.filter((id) => MODEL_IDS.includes(id)));
      // uploaded models (custom/<id>…) exist once this browser's saved ones are restored
      pendingUploaded = uploaded;
      if (uploaded.length)
        void restoreCustomModels().then(() => {
          pendingUploaded = [];
          const have = uploaded.filter((id) => findModel(id) !== undefined);
          const missing = uploaded.filter((id) => !have.includes(id));
          if (missing.length)
            reportError(
              'Models in the link are not uploaded in this browser',
              `Ignored: ${missing.join(', ')}. Upload the files under "Your models".`,
              'url-custom-models',
              'warning',
            );
          const sel = useModelStore.getState();
          sel.setSelected([...sel.selected, ...have]);
        });
    }
    void applyImageParam(params.get('img'));
    const endpoint = params.get('endpoint');
    if (endpoint) {
      const url = normalizeEndpoint(endpoint);
      if (url instanceof Error)
        reportError('Could not use the endpoint in the link', url.message, 'url-endpoint');
      else useEndpointStore.getState().setEndpoint(url);
    }

    // The selection and the endpoint reach the URL at once (a reload right after a change must
    // not bring back the old ones); the drawn image, which changes with every stroke, after 300 ms.
    let timer: ReturnType<typeof setTimeout> | null = null;
    const writeNow = () => {
      if (timer) clearTimeout(timer);
      timer = null;
      const url = new URL(location.href);
      const img = imageParamFor();
      if (img) url.searchParams.set('img', img);
      url.searchParams.set('models', modelsParam());
      const endpoint = useEndpointStore.getState().endpoint;
      if (endpoint) url.searchParams.set('endpoint', endpoint);
      else url.searchParams.delete('endpoint');
      if (url.href !== location.href) history.replaceState(history.state, '', url.href);
    };
    const writeSoon = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(writeNow, 300);
    };
    const unsubs = [
      useImageStore.subscribe((s, p) => {
        if (s.version !== p.version) writeSoon();
      }),
      useModelStore.subscribe((s, p) => {
        if (s.selected !== p.selected) writeNow();
      }),
      useEndpointStore.subscribe((s, p) => {
        if (s.endpoint !== p.endpoint) writeNow();
      }),
    ];
    return () => {
      if (timer) clearTimeout(timer);
      for (const u of unsubs) u();
    };
  }, []);
}
