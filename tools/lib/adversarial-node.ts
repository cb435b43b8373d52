/** Adversarial sets (src/data/adversarial.ts) read in Node: cards, images, checks against the shipped manifest. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  type AdversarialCard,
  type AdversarialSet,
  AdversarialSetError,
  adversarialSetFromIdx,
  parseCard,
  setFileStem,
} from '../../src/data/adversarial';
import { configSets, parseConfig, type ResolvedConfig, resolveConfig } from '../experiment/config';

/** The card of set `name` (`adversarial/<stem>`) under dataDir (public/data). */
export function loadCardNode(dataDir: string, name: string): AdversarialCard {
  const path = join(dataDir, 'adversarial', `${setFileStem(name)}.json`);
  if (!existsSync(path))
    throw new AdversarialSetError(
      `${name}: no card at ${path} (the sets are listed in ${join(dataDir, 'adversarial', 'index.json')}; make one with python3 -m training adversarial-set)`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new AdversarialSetError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseCard(raw, path, setFileStem(name));
}

/** sha256 of each shipped weight set's file, from `manifest.json` in modelsDir. */
export function shippedSha256(modelsDir: string): Record<string, string> {
  const manifest = JSON.parse(readFileSync(join(modelsDir, 'manifest.json'), 'utf8')) as {
    weights: Record<string, { sha256: string }>;
  };
  return Object.fromEntries(Object.entries(manifest.weights).map(([k, w]) => [k, w.sha256]));
}

/**
 * Loads set `name` with every check: card schema, source sha256 = the shipped file's, images sha256
 * = the card's, IDX dims = the card's count.
 * @throws AdversarialSetError with a message naming the set and the mismatch
 */
export function loadAdversarialSetNode(
  dataDir: string,
  modelsDir: string,
  name: string,
  card = loadCardNode(dataDir, name),
  /** the manifest's sha256 by weight set, when the caller has read it already */
  shipped: Record<string, string> = shippedSha256(modelsDir),
): AdversarialSet {
  const path = join(dataDir, 'adversarial', card.images_file);
  if (!existsSync(path)) throw new AdversarialSetError(`${name}: its images ${path} are missing`);
  const gz = readFileSync(path);
  const sha = createHash('sha256').update(gz).digest('hex');
  return adversarialSetFromIdx(card, new Uint8Array(gunzipSync(gz)), shipped[card.source.model], sha);
}

/**
 * resolveConfig with the cards of the adversarial sets the config names, read from dataDir.
 * @throws ConfigError for an invalid config, AdversarialSetError for a missing or invalid card
 */
export function resolveConfigNode(raw: unknown, dataDir: string): ResolvedConfig {
  const cards = new Map<string, AdversarialCard>();
  for (const name of configSets(parseConfig(raw))) cards.set(name, loadCardNode(dataDir, name));
  return resolveConfig(raw, cards);
}
