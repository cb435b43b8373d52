/**
 * The shareable part of the view lives in the URL: the image — `?img=test:123` (a test-set index),
 * `?img=set:<set>:123` (an adversarial set's image of test index 123, `<set>` as in
 * public/data/adversarial/index.json) or `?img=px:<base64 of 784 bytes>` (drawn or uploaded
 * pixels) —, `?models=0,0_3,0_4`, `?endpoint=<url>` (the attack lab's and API console's HTTP target;
 * absent: the page's models), and how results are shown: `?mode=score` (default decision),
 * `?sample=on` (sample randomized models; default off), `?draws=N` (draws per sample, 1..500,
 * default 20), `?seed=S` (default none: fresh randomness).
 *
 * A link is applied as given and stays in the address bar as given (a typo stays visible beside the
 * warning about it) until the user changes the view; from then on the URL follows the view.
 */
import { useEffect } from 'react';
import { intParam, warnParam } from '../app/url-params';
import { decodeBase64, encodeBase64 } from '../core/base64';
import { customIdOf } from '../core/custom-models';
import { MODEL_IDS } from '../core/models';
import { ADVERSARIAL_DIR, type AdversarialSet, adversarialImageAt } from '../data/adversarial';
import { loadAdversarialIndex } from '../data/adversarial-browser';
import { imageAt, type TestSet } from '../data/idx';
import { useDrawStore } from '../stores/drawStore';
import { normalizeEndpoint, useEndpointStore } from '../stores/endpointStore';
import { reportError } from '../stores/errorStore';
import { GALLERY_PAGE_SIZE, useGalleryStore } from '../stores/galleryStore';
import { useImageStore } from '../stores/imageStore';
import { useModelStore } from '../stores/modelStore';
import { usePrefsStore } from '../stores/prefsStore';
import {
  DEFAULT_SAMPLE_COUNT,
  MAX_SAMPLE_COUNT,
  MAX_SEED,
  parseSeed,
  useResultsStore,
} from '../stores/resultsStore';
import { findModel, restoreCustomModels } from './customModels';
import { chooseGallerySource, ensureTestSet } from './testSet';

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

/** `adversarial/pgd-eps0.1-from-0` → `pgd-eps0.1-from-0` (how `img=set:…` names a set). */
const setStem = (name: string) => name.slice(ADVERSARIAL_DIR.length + 1);

export function imageParamFor(): string | null {
  const { pixels, source } = useImageStore.getState();
  if (!pixels || !source) return null;
  if (source.kind === 'test') return `test:${source.index}`;
  if (source.kind === 'adversarial') return `set:${setStem(source.set)}:${source.index}`;
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

function setOrDelete(url: URL, name: string, value: string | null): void {
  if (value === null) url.searchParams.delete(name);
  else url.searchParams.set(name, value);
}

/** The current URL brought in step with the view (defaults of mode, sampling and seed left out). */
function viewUrl(): URL {
  const url = new URL(location.href);
  const img = imageParamFor();
  if (img) url.searchParams.set('img', img);
  url.searchParams.set('models', modelsParam());
  setOrDelete(url, 'endpoint', useEndpointStore.getState().endpoint || null);
  const { mode, sampling, sampleCount, seedText } = useResultsStore.getState();
  setOrDelete(url, 'mode', mode === 'decision' ? null : mode);
  setOrDelete(url, 'sample', sampling ? 'on' : null);
  setOrDelete(url, 'draws', sampleCount === DEFAULT_SAMPLE_COUNT ? null : String(sampleCount));
  // a seed field the page does not use (not an integer in range) is not part of the view
  const seed = parseSeed(seedText);
  setOrDelete(url, 'seed', seed === undefined ? null : String(seed));
  return url;
}

export function shareUrl(): string {
  return viewUrl().href;
}

/**
 * True while the page applies what a link asked for: those changes are not the user's, so they do
 * not rewrite the URL (which keeps showing the link as given, typos included).
 */
let applyingLink = false;

function fromLink(apply: () => void): void {
  applyingLink = true;
  try {
    apply();
  } finally {
    applyingLink = false;
  }
}

/** Opens the gallery's page holding test index `index` of `set` (or of the clean test set). */
export function revealInGallery(index: number, set: AdversarialSet | null): void {
  const gallery = useGalleryStore.getState();
  gallery.setClassFilter(null);
  const pos = set ? set.card.subset.indices.indexOf(index) : index;
  gallery.setPage(Math.floor(Math.max(0, pos) / GALLERY_PAGE_SIZE));
}

function setAdversarialImage(set: AdversarialSet, clean: TestSet, index: number): void {
  useImageStore.getState().setImage(adversarialImageAt(set, index).slice(), {
    kind: 'adversarial',
    set: set.name,
    index,
    label: clean.labels[index],
    sourceModel: set.card.source.model,
    eps: set.card.attack.eps,
  });
}

function setTestImage(set: TestSet, index: number): void {
  const px = imageAt(set, index);
  useImageStore.getState().setImage(px.slice(), { kind: 'test', index, label: set.labels[index] });
}

/** Makes set's image of test-set index `index` the current image (labelled with the clean twin's class). */
export async function showAdversarialImage(set: AdversarialSet, index: number): Promise<void> {
  setAdversarialImage(set, await ensureTestSet(), index);
}

export async function showTestImage(index: number): Promise<void> {
  setTestImage(await ensureTestSet(), index);
}

/** Why the image in a link cannot be shown: `title` heads the banner. */
class LinkImageError extends Error {
  constructor(
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

/** The index in `test:<index>` / `set:<set>:<index>`, checked to be a whole number in the test set. */
function linkIndex(text: string, count: number, title: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new LinkImageError(title, `index “${text}” is not a whole number`);
  const n = Number(text);
  if (n < 0 || n >= count) throw new LinkImageError(title, `index ${n} is outside 0..${count - 1}`);
  return n;
}

function openLinkedPixels(text: string): void {
  let px: Uint8Array;
  try {
    px = decodePixels(text);
  } catch (err) {
    throw new LinkImageError(
      'Could not read the image in the link',
      err instanceof Error ? err.message : String(err),
    );
  }
  fromLink(() => {
    useImageStore.getState().setImage(px, { kind: 'link' });
    useDrawStore.getState().setPixels(px.slice());
    usePrefsStore.getState().setInputTab('draw');
  });
}

async function openLinkedTestImage(text: string): Promise<void> {
  const title = 'Could not open the linked test image';
  const clean = await ensureTestSet();
  const index = linkIndex(text, clean.count, title);
  fromLink(() => {
    setTestImage(clean, index);
    usePrefsStore.getState().setInputTab('gallery');
    revealInGallery(index, null);
  });
}

/** `set:<set>:<index>`: opens that adversarial set in the gallery at that image. */
async function openLinkedSetImage(text: string): Promise<void> {
  const title = 'Could not open the linked adversarial image';
  const colon = text.lastIndexOf(':');
  if (colon < 0) throw new LinkImageError(title, `“set:${text}” is not set:<set>:<index>`);
  const stem = text.slice(0, colon);
  const clean = await ensureTestSet();
  const index = linkIndex(text.slice(colon + 1), clean.count, title);
  let offered: string[];
  try {
    offered = (await loadAdversarialIndex()).sets.map((s) => s.name);
  } catch (err) {
    throw new LinkImageError(title, err instanceof Error ? err.message : String(err));
  }
  if (!offered.includes(stem))
    throw new LinkImageError(
      title,
      `there is no adversarial set “${stem}”; the gallery offers ${offered.join(', ') || 'none'}`,
    );
  const set = await chooseGallerySource(`${ADVERSARIAL_DIR}/${stem}`);
  if (!set) {
    const why = useGalleryStore.getState().sourceError;
    useGalleryStore.getState().setSource(null);
    throw new LinkImageError(title, `set ${stem} could not be loaded: ${why ?? 'unknown error'}`);
  }
  if (!set.position.has(index)) {
    useGalleryStore.getState().setSource(null);
    throw new LinkImageError(
      title,
      `set ${stem} has no image of test index ${index} (it holds ${set.card.count.toLocaleString('en')} of the ${clean.count.toLocaleString('en')} test images)`,
    );
  }
  fromLink(() => {
    setAdversarialImage(set, clean, index);
    usePrefsStore.getState().setInputTab('gallery');
    revealInGallery(index, set);
  });
}

async function openLinkedImage(param: string): Promise<void> {
  if (param.startsWith('px:')) openLinkedPixels(param.slice(3));
  else if (param.startsWith('test:')) await openLinkedTestImage(param.slice(5));
  else if (param.startsWith('set:')) await openLinkedSetImage(param.slice(4));
  else
    throw new LinkImageError(
      'Could not read the image in the link',
      `“img=${param}” is none of test:<index>, set:<set>:<index> or px:<base64>`,
    );
}

async function applyImageParam(param: string | null): Promise<void> {
  if (param) {
    try {
      await openLinkedImage(param);
      return;
    } catch (err) {
      // a test set that failed to load was reported by ensureTestSet
      if (err instanceof LinkImageError)
        reportError(err.title, `${err.message}; showing test image #0 (the default) instead`, 'url-img');
    }
  }
  // default view: the first test image (an ankle boot)
  try {
    const clean = await ensureTestSet();
    fromLink(() => setTestImage(clean, 0));
  } catch {
    /* the test set failed to load; ensureTestSet reported it */
  }
}

/** `?mode`, `?sample`, `?draws`, `?seed`: how results are shown. */
function applyResultParams(params: URLSearchParams): void {
  const st = useResultsStore.getState();
  const mode = params.get('mode');
  if (mode === 'decision' || mode === 'score') st.setMode(mode);
  else if (mode !== null) warnParam('mode', mode, 'decision or score', 'decision');
  const sample = params.get('sample');
  if (sample === 'on' || sample === 'off') st.setSampling(sample === 'on');
  else if (sample !== null) warnParam('sample', sample, 'on or off', 'off');
  const draws = intParam(params, 'draws', 1, MAX_SAMPLE_COUNT, String(DEFAULT_SAMPLE_COUNT));
  if (draws !== undefined) st.setSampleCount(draws);
  const seed = params.get('seed');
  if (seed !== null) {
    const s = parseSeed(seed);
    if (s !== undefined) st.setSeedText(String(s));
    else warnParam('seed', seed, `a whole number 0..${MAX_SEED}`, 'no seed (fresh randomness)');
  }
}

function applyModelsParam(models: string): void {
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
      fromLink(() => sel.setSelected([...sel.selected, ...have]));
    });
}

function applyLink(params: URLSearchParams): void {
  const models = params.get('models');
  if (models !== null) applyModelsParam(models);
  applyResultParams(params);
  void applyImageParam(params.get('img'));
  const endpoint = params.get('endpoint');
  if (endpoint) {
    const url = normalizeEndpoint(endpoint);
    if (url instanceof Error)
      reportError('Could not use the endpoint in the link', url.message, 'url-endpoint');
    else useEndpointStore.getState().setEndpoint(url);
  }
}

/**
 * Keeps the URL in step with the user's changes. The selection, the endpoint and how results are
 * shown reach the URL at once (a reload right after a change must not bring back the old ones);
 * the drawn image, which changes with every stroke, after 300 ms.
 */
function followView(): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const writeNow = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    const url = viewUrl();
    if (url.href !== location.href) history.replaceState(history.state, '', url.href);
  };
  const writeSoon = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(writeNow, 300);
  };
  const unsubs = [
    useImageStore.subscribe((s, p) => {
      if (!applyingLink && s.version !== p.version) writeSoon();
    }),
    useModelStore.subscribe((s, p) => {
      if (!applyingLink && s.selected !== p.selected) writeNow();
    }),
    useEndpointStore.subscribe((s, p) => {
      if (!applyingLink && s.endpoint !== p.endpoint) writeNow();
    }),
    useResultsStore.subscribe((s, p) => {
      const changed =
        s.mode !== p.mode ||
        s.sampling !== p.sampling ||
        s.sampleCount !== p.sampleCount ||
        s.seedText !== p.seedText;
      if (!applyingLink && changed) writeNow();
    }),
  ];
  return () => {
    if (timer) clearTimeout(timer);
    for (const u of unsubs) u();
  };
}

/** Read the URL once at start-up, then keep it in step with the view. */
export function useUrlState(): void {
  useEffect(() => {
    applyLink(new URLSearchParams(location.search));
    return followView();
  }, []);
}
