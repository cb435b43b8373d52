/**
 * Adversarial test sets (`python -m training adversarial-set`): test images crafted white-box with
 * L∞ PGD on one shipped weight set, quantised to 8 bits, stored as IDX `.gz` under
 * `public/data/adversarial/` with a JSON card. Labels are the clean test set's at the card's
 * indices. Pure (no DOM, no fs): the page, the experiment runner and the tests share it.
 */
import { z } from 'zod';
import { parseIdx } from './idx';

/** Where the sets live, relative to the data folder (`public/data/`); set names carry this prefix. */
export const ADVERSARIAL_DIR = 'adversarial';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256');

/** The card written beside each set (training/adversarial_set.py); fields the runner and page rely on. */
export const adversarialCardSchema = z.looseObject({
  format: z.literal(1),
  name: z.string().regex(/^[A-Za-z0-9._-]+$/),
  description: z.string(),
  images_file: z.string().regex(/^[A-Za-z0-9._-]+\.idx\.gz$/),
  images_sha256: sha256,
  count: z.int().min(1).max(10_000),
  source: z.looseObject({ model: z.string(), file: z.string(), sha256 }),
  attack: z.looseObject({
    name: z.string(),
    norm: z.enum(['linf', 'l2']),
    eps: z.number().gt(0),
    steps: z.int().min(1),
  }),
  seed: z.int(),
  subset: z.looseObject({ indices: z.array(z.int().min(0).max(9_999)) }),
  source_accuracy: z.looseObject({ clean: z.number(), adversarial: z.number() }),
  torch_version: z.string(),
});
export type AdversarialCard = z.infer<typeof adversarialCardSchema>;

/** index.json: one summary line per set (what the page lists). */
export const adversarialIndexSchema = z.looseObject({
  format: z.literal(1),
  sets: z.array(
    z.looseObject({
      name: z.string(),
      card: z.string(),
      source: z.string(),
      eps: z.number(),
      count: z.int(),
      source_accuracy: z.number(),
    }),
  ),
});
export type AdversarialIndex = z.infer<typeof adversarialIndexSchema>;

export interface AdversarialSet {
  /** `adversarial/<card name>`, as an experiment config names it */
  name: string;
  card: AdversarialCard;
  /** 784 gray bytes per image, in card order */
  images: Uint8Array;
  /** test-set index → position in `images` */
  position: Map<number, number>;
}

export class AdversarialSetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdversarialSetError';
  }
}

/** `adversarial/pgd-eps0.1-from-0` → `pgd-eps0.1-from-0`; throws for anything else. */
export function setFileStem(name: string): string {
  const m = new RegExp(`^${ADVERSARIAL_DIR}/([A-Za-z0-9._-]+)$`).exec(name);
  if (!m || m[1].startsWith('.'))
    throw new AdversarialSetError(
      `${JSON.stringify(name)} is not an adversarial set name (expected ${ADVERSARIAL_DIR}/<name>, e.g. ${ADVERSARIAL_DIR}/pgd-eps0.1-from-0)`,
    );
  return m[1];
}

/**
 * Validates a parsed card; throws AdversarialSetError naming the file and the bad fields.
 * @param stem the file stem the card was read from (`<stem>.json`): its `name` must be the same
 */
export function parseCard(raw: unknown, where: string, stem?: string): AdversarialCard {
  const r = adversarialCardSchema.safeParse(raw);
  if (!r.success)
    throw new AdversarialSetError(
      `${where} is not an adversarial-set card: ${r.error.issues.map((i) => `${i.path.join('.') || '(card)'}: ${i.message}`).join('; ')}`,
    );
  const c = r.data;
  if (stem !== undefined && c.name !== stem)
    throw new AdversarialSetError(
      `${where} names the set ${JSON.stringify(c.name)}, but its file is ${stem}.json`,
    );
  if (c.subset.indices.length !== c.count)
    throw new AdversarialSetError(`${where}: count ${c.count} but ${c.subset.indices.length} indices`);
  if (new Set(c.subset.indices).size !== c.count)
    throw new AdversarialSetError(`${where}: subset.indices lists a test image twice`);
  return c;
}

/**
 * Builds a set from its card and its decompressed IDX bytes.
 * @param shippedSha256 sha256 of the shipped source weight file (manifest); a card naming another
 *   file is refused: its images were crafted on weights this playground no longer serves.
 * @param imagesSha256 sha256 of the `.idx.gz` file as stored, when the caller computed it
 * @throws AdversarialSetError naming the set and what does not match
 */
export function adversarialSetFromIdx(
  card: AdversarialCard,
  idx: Uint8Array,
  shippedSha256: string | undefined,
  imagesSha256?: string,
): AdversarialSet {
  const name = `${ADVERSARIAL_DIR}/${card.name}`;
  if (shippedSha256 === undefined)
    throw new AdversarialSetError(
      `${name} was crafted on model ${card.source.model}, which is not a shipped weight set`,
    );
  if (card.source.sha256 !== shippedSha256)
    throw new AdversarialSetError(
      `${name} was crafted on a different file of model ${card.source.model} (card sha256 ${card.source.sha256.slice(0, 12)}…, ` +
        `shipped ${shippedSha256.slice(0, 12)}…): regenerate it with \`python3 -m training adversarial-set --source ${card.source.model}\``,
    );
  if (imagesSha256 !== undefined && imagesSha256 !== card.images_sha256)
    throw new AdversarialSetError(
      `${name}: ${card.images_file} has sha256 ${imagesSha256.slice(0, 12)}…, its card says ${card.images_sha256.slice(0, 12)}…`,
    );
  let parsed: ReturnType<typeof parseIdx>;
  try {
    parsed = parseIdx(idx);
  } catch (e) {
    throw new AdversarialSetError(`${name}: ${card.images_file}: ${e instanceof Error ? e.message : e}`);
  }
  const { dims, data } = parsed;
  if (dims.length !== 3 || dims[0] !== card.count || dims[1] !== 28 || dims[2] !== 28)
    throw new AdversarialSetError(
      `${name}: ${card.images_file} has dims [${dims.join(',')}], the card says [${card.count},28,28]`,
    );
  const position = new Map(card.subset.indices.map((ix, k) => [ix, k]));
  return { name, card, images: data, position };
}

/** The set's image of test-set index `index` (784 bytes, a view). */
export function adversarialImageAt(set: AdversarialSet, index: number): Uint8Array {
  const k = set.position.get(index);
  if (k === undefined)
    throw new RangeError(
      `${set.name} has no image of test-set index ${index} (it covers ${set.card.count} images)`,
    );
  return set.images.subarray(k * 784, (k + 1) * 784);
}
