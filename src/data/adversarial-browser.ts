/** Adversarial sets (src/data/adversarial.ts) in the page: the index, and one set with its card checked. */
import {
  ADVERSARIAL_DIR,
  type AdversarialIndex,
  type AdversarialSet,
  AdversarialSetError,
  adversarialIndexSchema,
  adversarialSetFromIdx,
  parseCard,
  setFileStem,
} from './adversarial';
import { fetchMaybeGzipped } from './test-set-browser';

async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  if (!res.ok) throw new AdversarialSetError(`${url} answered HTTP ${res.status}`);
  try {
    return await res.json();
  } catch (e) {
    throw new AdversarialSetError(`${url} is not valid JSON: ${e instanceof Error ? e.message : e}`);
  }
}

const dataBase = () => new URL('data/', document.baseURI).href;

let index: Promise<AdversarialIndex> | null = null;

/** `data/adversarial/index.json`: the sets the page offers. */
export function loadAdversarialIndex(base = dataBase()): Promise<AdversarialIndex> {
  if (!index) {
    index = fetchJson(`${base}${ADVERSARIAL_DIR}/index.json`).then((raw) => {
      const r = adversarialIndexSchema.safeParse(raw);
      if (!r.success) throw new AdversarialSetError(`${ADVERSARIAL_DIR}/index.json is malformed`);
      return r.data;
    });
    index.catch(() => {
      index = null;
    });
  }
  return index;
}

const sets = new Map<string, Promise<AdversarialSet>>();

/**
 * Set `name` (`adversarial/<stem>`): its card, its images, and the check that the card's source
 * sha256 is the shipped file's (`models/manifest.json`).
 * @throws AdversarialSetError naming the set and what does not match
 */
export function loadAdversarialSet(name: string, base = dataBase()): Promise<AdversarialSet> {
  let p = sets.get(name);
  if (!p) {
    p = (async () => {
      const stem = setFileStem(name);
      const card = parseCard(await fetchJson(`${base}${ADVERSARIAL_DIR}/${stem}.json`), `${name} card`, stem);
      const [idx, manifest] = await Promise.all([
        fetchMaybeGzipped(`${base}${ADVERSARIAL_DIR}/${card.images_file}`),
        fetchJson(new URL('models/manifest.json', document.baseURI).href) as Promise<{
          weights?: Record<string, { sha256?: string }>;
        }>,
      ]);
      return adversarialSetFromIdx(card, idx, manifest.weights?.[card.source.model]?.sha256);
    })();
    sets.set(name, p);
    p.catch(() => sets.delete(name));
  }
  return p;
}
