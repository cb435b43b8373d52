/**
 * Experiment configuration (`npm run experiment -- --config <file.json>`): a strict zod schema
 * (unknown fields are rejected, every message names the field path), its resolution into the exact
 * work list (model IDs, test-set indices, attack keys), and the deterministic per-row seeds.
 * Pure: runs in Node (the runner, merge, tests) and in the page.
 */

import { z } from 'zod';
import { APGD_PARAMS, APGD_T_PARAMS, resolveApgdParams } from '../../src/attacks/apgd';
import { AUTOATTACK_PARAMS, resolveAutoAttackParams } from '../../src/attacks/autoattack';
import { FAB_PARAMS, resolveFabParams } from '../../src/attacks/fab';
import { ATTACKS, attackKey as libraryAttackKey, snakeCase } from '../../src/attacks/index';
import { EPS, epsProblem, NORM } from '../../src/attacks/params';
import { FGSM_PARAMS, PGD_PARAMS, type PgdParams, resolvePgdParams } from '../../src/attacks/whitebox';
import { CERTIFY_PARAMS } from '../../src/certify/smoothing';
import { customModelId, customWeightsId } from '../../src/core/custom-models';
import { getModel, MODEL_IDS } from '../../src/core/models';
import { Rng } from '../../src/core/prng';
import { ADVERSARIAL_DIR, type AdversarialCard } from '../../src/data/adversarial';

export const TEST_SET_SIZE = 10_000;
/** Largest seed the API's `seed` extension and our derivations use (31 bits). */
/** Experiment seeds are 31-bit (they also index JavaScript bit operations); the API takes up to core/request MAX_SEED. */
export const MAX_EXPERIMENT_SEED = 0x7fffffff;

const budget = z.int().min(1).max(10_000_000);

/**
 * Clean classification. Randomized models: `eot_draws` seeded defense draws per image (default
 * EOT_DRAWS, 100) give `eot_success_rate` and the majority vote `eot_vote_pred`.
 */
const none = z.strictObject({ type: z.literal('none'), eot_draws: z.int().min(1).max(10_000).optional() });

/** Random noise inside the eps ball (L∞: uniform per pixel; L2: a random direction of length eps). */
const noise = z.strictObject({
  type: z.literal('noise'),
  eps: EPS,
  norm: NORM.optional(),
  /** noise draws per image; the first misclassified one counts (default 1) */
  max_queries: budget.optional(),
});

/** The library attacks an experiment can run; `none` and `noise` are the runner's own. */
/** Randomized smoothing's CERTIFY (src/certify/smoothing.ts) on a model behind the noise defense. */
const certify = z.strictObject({
  type: z.literal('certify'),
  sigma: CERTIFY_PARAMS.shape.sigma,
  n0: CERTIFY_PARAMS.shape.n0,
  n: CERTIFY_PARAMS.shape.n,
  alpha: CERTIFY_PARAMS.shape.alpha,
});

export const LIBRARY_ATTACKS = ['square', 'hopskipjump', 'boundary', 'simba'] as const;
export type LibraryAttack = (typeof LIBRARY_ATTACKS)[number];

/**
 * A library attack's config entry, derived from the parameters it declares (src/attacks/params.ts)
 * in snake_case (`pInit` is `p_init`), plus the required query budget.
 */
function libraryAttackSchema<T extends LibraryAttack>(type: T) {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, field] of Object.entries(ATTACKS[type].params.shape)) shape[snakeCase(k)] = field;
  return z.strictObject({ type: z.literal(type), max_queries: budget, ...shape });
}

/** The white-box attacks (src/attacks/whitebox.ts): gradient steps, no query budget. */
export const WHITEBOX_ATTACKS = [
  'fgsm',
  'pgd',
  'apgd-ce',
  'apgd-dlr',
  'apgd-t',
  'fab-t',
  'autoattack',
] as const;
export type WhiteBoxAttack = (typeof WHITEBOX_ATTACKS)[number];
const WHITEBOX_PARAMS = {
  fgsm: FGSM_PARAMS,
  pgd: PGD_PARAMS,
  'apgd-ce': APGD_PARAMS.omit({ loss: true }),
  'apgd-dlr': APGD_PARAMS.omit({ loss: true }),
  'apgd-t': APGD_T_PARAMS,
  'fab-t': FAB_PARAMS,
  autoattack: AUTOATTACK_PARAMS,
} as const;

/** A white-box attack's config entry: its declared parameters in snake_case (`step_size`). */
function whiteBoxSchema<T extends WhiteBoxAttack>(type: T) {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, field] of Object.entries(WHITEBOX_PARAMS[type].shape)) shape[snakeCase(k)] = field;
  return z.strictObject({ type: z.literal(type), ...shape });
}

export const attackSchema = z.discriminatedUnion('type', [
  none,
  noise,
  certify,
  ...(LIBRARY_ATTACKS.map(libraryAttackSchema) as [
    ReturnType<typeof libraryAttackSchema>,
    ...ReturnType<typeof libraryAttackSchema>[],
  ]),
  whiteBoxSchema('fgsm'),
  whiteBoxSchema('pgd'),
  whiteBoxSchema('apgd-ce'),
  whiteBoxSchema('apgd-dlr'),
  whiteBoxSchema('apgd-t'),
  whiteBoxSchema('fab-t'),
  whiteBoxSchema('autoattack'),
]);
export type AttackSpec = z.infer<typeof attackSchema>;
export const ATTACK_TYPES = ['none', 'noise', 'certify', ...LIBRARY_ATTACKS, ...WHITEBOX_ATTACKS] as const;
export type AttackType = (typeof ATTACK_TYPES)[number];

/**
 * `custom:<path>.onnx`: an ONNX classifier of your own (src/core/custom-models.ts), read by the CLI
 * from `<path>` (relative to the working directory) and run as model `custom/<file stem>`. Its
 * outputs are taken as logits (softmax is applied); `custom:<path>.onnx#probabilities` declares that
 * the model already outputs probabilities.
 */
export const CUSTOM_MODEL_REF = /^custom:(.+\.onnx)(#probabilities)?$/i;

const modelId = z.string().refine((id) => MODEL_IDS.includes(id) || CUSTOM_MODEL_REF.test(id), {
  error: (iss) =>
    `unknown model ${JSON.stringify(iss.input)}; the models are ${MODEL_IDS.join(', ')}, or "custom:<path>.onnx" (add "#probabilities" if it outputs probabilities) for a model of your own`,
});

const intSeed = z.int().min(0).max(MAX_EXPERIMENT_SEED);

const setName = z.string().regex(new RegExp(`^${ADVERSARIAL_DIR}/[A-Za-z0-9_-][A-Za-z0-9._-]*$`), {
  error: `must name an adversarial set as ${ADVERSARIAL_DIR}/<name> (see public/data/${ADVERSARIAL_DIR}/index.json)`,
});

/**
 * Which test images: `{count, seed}` (a seeded sample), `{indices}` (a list), or `{set, count?}`
 * (adversarial sets, src/data/adversarial.ts: the first `count` images of each, all by default;
 * labels are the clean test set's; several sets must cover the same test images). One object with
 * the combinations checked afterwards, so that an error names the field that is wrong.
 */
const imagesSchema = z
  .strictObject({
    count: z.int().min(1).max(TEST_SET_SIZE).optional(),
    seed: intSeed.optional(),
    indices: z
      .array(
        z
          .int()
          .min(0)
          .max(TEST_SET_SIZE - 1),
      )
      .min(1)
      .refine((ix) => new Set(ix).size === ix.length, { error: 'lists a test-set index twice' })
      .optional(),
    set: z
      .union([
        setName,
        z
          .array(setName)
          .min(1)
          .refine((xs) => new Set(xs).size === xs.length, { error: 'lists a set twice' }),
      ])
      .optional(),
  })
  .superRefine((v, ctx) => {
    const issue = (field: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [field], message });
    if (v.set !== undefined) {
      if (v.indices !== undefined) issue('indices', 'indices and set exclude each other');
      if (v.seed !== undefined)
        issue('seed', 'a set has fixed images: with set, count takes its first images and there is no seed');
    } else if (v.indices !== undefined) {
      if (v.count !== undefined)
        issue('count', 'count and indices exclude each other: give a list, or a seeded sample');
      if (v.seed !== undefined)
        issue('seed', 'seed and indices exclude each other: give a list, or a seeded sample');
    } else {
      if (v.count === undefined)
        issue(
          'count',
          'required field is missing: give {count, seed}, {indices: [...]} or {set: "adversarial/<name>"}',
        );
      if (v.seed === undefined) issue('seed', 'required field is missing (the seed of the sample)');
    }
  });

export const configSchema = z.strictObject({
  name: z.string().min(1).max(200),
  description: z.string().optional(),
  models: z.union([
    z.literal('all', { error: 'must be "all" or a non-empty list of model IDs' }),
    z
      .array(modelId)
      .min(1)
      .refine((ids) => new Set(ids).size === ids.length, { error: 'lists a model twice' }),
  ]),
  images: imagesSchema,
  attacks: z
    .array(attackSchema)
    .min(1)
    .superRefine((list, ctx) => {
      // the attack lab's and the attacks' own ε range, checked before any model runs
      list.forEach((a, i) => {
        if (!('eps' in a) || typeof a.eps !== 'number') return;
        const norm = 'norm' in a && (a.norm === 'l2' || a.norm === 'linf') ? a.norm : 'linf';
        const problem = epsProblem(a.eps, norm);
        if (problem) ctx.addIssue({ code: 'custom', path: [i, 'eps'], message: problem });
      });
    }),
  eot: z.int().min(1).max(10_000).default(1),
  seed: intSeed.default(0),
});

export type ExperimentConfig = z.infer<typeof configSchema>;

/** Whether `type` is a white-box attack (it reads gradients: /gradient, the page's gradient engine). */
export function isWhiteBoxAttack(type: string): type is WhiteBoxAttack {
  return (WHITEBOX_ATTACKS as readonly string[]).includes(type);
}

/** Whether `type` is run by the attack library (src/attacks) rather than by the runner itself. */
export function isLibraryAttack(type: string): type is LibraryAttack {
  return (LIBRARY_ATTACKS as readonly string[]).includes(type);
}

export interface ResolvedAttack {
  /** stable key, e.g. `square:eps=0.1,max_queries=1000,norm=linf` */
  key: string;
  type: AttackType;
  /** the config's parameters (snake_case, without `type`) */
  params: Record<string, string | number>;
  /** library attacks: the options passed to it, its own key and its fully resolved parameters (defaults included) */
  library?: { options: Record<string, unknown>; key: string; resolved: Record<string, unknown> };
  /** white-box attacks: PGD's resolved parameters */
  whiteBox?: { options: Record<string, unknown> };
}

/** An adversarial image set of a config, as config.json records it (a regenerated set is a different experiment). */
export interface ResolvedSet {
  /** `adversarial/<card name>` */
  name: string;
  images_sha256: string;
  source: string;
  source_sha256: string;
  /** from the card: how the set was crafted, and the source's own accuracy on it */
  card: Pick<AdversarialCard, 'attack' | 'seed' | 'count' | 'source_accuracy' | 'torch_version'>;
}

/** A `custom:<path>.onnx` entry of `models`: the file and the model ID it runs as. */
export interface ResolvedCustomModel {
  /** as written in the config */
  ref: string;
  path: string;
  /** `custom/<id>` (the rows' model) */
  model: string;
  id: string;
  /** what the model outputs (`#probabilities` in the ref), as the upload's tick box says */
  outputs: 'logits' | 'probabilities';
}

export interface ResolvedConfig {
  config: ExperimentConfig;
  /** model IDs; a `custom:<path>` entry becomes `custom/<file stem>` (see `custom`) */
  models: string[];
  /** the config's own ONNX files, which the runner must load before it runs (empty when none) */
  custom: ResolvedCustomModel[];
  /** test-set indices of the images (for adversarial sets: of their clean twins) */
  indices: number[];
  attacks: ResolvedAttack[];
  /** the adversarial sets the images come from, in config order; empty: the clean test set */
  sets: ResolvedSet[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid experiment config:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

// ---------------------------------------------------------------------------------------------
// error messages

export function pathName(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? String(p) : `.${String(p)}`;
  return s === '' ? '(config)' : s;
}

type Issue = z.core.$ZodIssue;

/** The fields an attack at `path` of a config may have (the only snake_case fields of a config). */
function fieldsAt(raw: unknown, path: readonly PropertyKey[]): string[] {
  if (path.length === 2 && path[0] === 'attacks' && typeof path[1] === 'number') {
    const type = (raw as { attacks?: { type?: unknown }[] } | null)?.attacks?.[path[1]]?.type;
    const option = attackSchema.options.find((o) => o.shape.type.value === type);
    return option ? Object.keys(option.shape) : [];
  }
  return [];
}

/** An unknown field; the library's camelCase (`pInit`) gets its snake_case config name (`p_init`). */
function unknownField(raw: unknown, path: readonly PropertyKey[], key: string): string {
  const snake = snakeCase(key);
  return snake !== key && fieldsAt(raw, path).includes(snake)
    ? `unknown field; did you mean ${snake}?`
    : 'unknown field (not allowed here)';
}

function flatten(
  issues: readonly Issue[],
  prefix: readonly PropertyKey[] = [],
  raw: unknown = undefined,
): { path: PropertyKey[]; message: string }[] {
  const out: { path: PropertyKey[]; message: string }[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0 && !issue.message.startsWith('must be')) {
      // report the branch that got furthest: fewest problems, then the deepest paths
      const ranked = [...issue.errors].sort((a, b) => {
        if (a.length !== b.length) return a.length - b.length;
        const depth = (xs: readonly Issue[]) => Math.max(...xs.map((x) => x.path.length));
        return depth(b) - depth(a);
      });
      out.push(...flatten(ranked[0], path, raw));
    } else if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) out.push({ path: [...path, k], message: unknownField(raw, path, k) });
    } else if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) {
      out.push({ path, message: `required field is missing (expected ${issue.expected})` });
    } else {
      out.push({ path, message: issue.message.replace(/^Invalid input: /, '') });
    }
  }
  return out;
}

/** @param raw the value that was validated, so an unknown field can be matched to a known one */
export function formatIssues(issues: readonly Issue[], raw?: unknown): string[] {
  return flatten(issues, [], raw).map((p) => `${pathName(p.path)}: ${p.message}`);
}

// ---------------------------------------------------------------------------------------------
// resolution

function formatParam(v: string | number): string {
  return typeof v === 'number' ? String(v) : v;
}

/** Stable key of an attack: its type, then its parameters sorted by name. */
export function attackKey(spec: AttackSpec): string {
  const params = attackParams(spec);
  const names = Object.keys(params).sort();
  if (names.length === 0) return spec.type;
  return `${spec.type}:${names.map((k) => `${k}=${formatParam(params[k])}`).join(',')}`;
}

export function attackParams(spec: AttackSpec): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(spec)) {
    if (k === 'type' || v === undefined) continue;
    out[k] = v as string | number;
  }
  return out;
}

/** snake_case config parameter names → the attack library's camelCase options (`max_queries` → `maxQueries`). */
export function libraryOptions(params: Record<string, string | number>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params))
    out[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  return out;
}

/**
 * What the attack library will run for a config entry: options (always `quantize`: the API carries
 * 8-bit images, so candidates are snapped to that grid), its key and resolved parameters.
 */
export function libraryAttack(spec: AttackSpec): ResolvedAttack['library'] {
  if (!isLibraryAttack(spec.type)) return undefined;
  const options: Record<string, unknown> = { ...libraryOptions(attackParams(spec)), quantize: true };
  const resolved = { ...ATTACKS[spec.type].resolve({ ...options, d: 784 }), maxQueries: options.maxQueries };
  return { options, key: libraryAttackKey(spec.type, options), resolved };
}

/**
 * What a white-box attack will run for a config entry: PGD's parameters with the defaults filled in
 * (FGSM is one step of size ε from x). Throws RangeError for a bad value.
 */
export function whiteBoxAttack(spec: AttackSpec): ResolvedAttack['whiteBox'] {
  if (!isWhiteBoxAttack(spec.type)) return undefined;
  const given = libraryOptions(attackParams(spec));
  if (spec.type === 'apgd-ce' || spec.type === 'apgd-dlr' || spec.type === 'apgd-t') {
    const { targets, loss: _loss, ...p } = resolveApgdParams(given);
    return { options: spec.type === 'apgd-t' ? { ...p, targets } : p };
  }
  if (spec.type === 'fab-t') return { options: resolveFabParams(given) };
  if (spec.type === 'autoattack') return { options: resolveAutoAttackParams(given) };
  const o = libraryOptions(attackParams(spec)) as Partial<PgdParams>;
  const fgsm = spec.type === 'fgsm' && { steps: 1, stepSize: o.eps, restarts: 1, randomStart: false };
  return { options: { ...resolvePgdParams({ ...o, ...fgsm }) } };
}

/** `count` distinct test-set indices drawn with Rng(seed) (a partial Fisher–Yates shuffle), in draw order. */
export function sampleIndices(count: number, seed: number, population = TEST_SET_SIZE): number[] {
  if (count > population) throw new RangeError(`cannot sample ${count} of ${population} images`);
  const rng = new Rng(seed);
  const pool = Int32Array.from({ length: population }, (_, i) => i);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(population - i);
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
    out.push(pool[i]);
  }
  return out;
}

/**
 * `certify` smooths the noise route a model already has: every model must be behind the Gaussian
 * noise defense (`_4`) with the attack's σ (the draws are the route's own).
 * @throws ConfigError naming each attack and model that do not fit
 */
function certifyProblems(config: ExperimentConfig, models: readonly string[]): void {
  const problems: string[] = [];
  config.attacks.forEach((a, i) => {
    if (a.type !== 'certify') return;
    for (const m of models) {
      const pre = getModel(m)?.preprocessor;
      if (pre?.kind !== 'noise')
        problems.push(
          `attacks[${i}]: certify needs models behind the Gaussian-noise defense (the _4 models); ${m} is not`,
        );
      else if (pre.sigma !== a.sigma)
        problems.push(`attacks[${i}].sigma: ${a.sigma}, but ${m} draws its noise with σ = ${pre.sigma}`);
    }
  });
  if (problems.length) throw new ConfigError(problems);
}

/** Validates a parsed JSON value; throws ConfigError naming every bad field. */
export function parseConfig(raw: unknown): ExperimentConfig {
  const r = configSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(formatIssues(r.error.issues, raw));
  const keys = r.data.attacks.map(attackKey);
  const problems: string[] = [];
  r.data.attacks.forEach((a, i) => {
    try {
      libraryAttack(a);
      whiteBoxAttack(a);
    } catch (e) {
      problems.push(`attacks[${i}]: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
  keys.forEach((k, i) => {
    const first = keys.indexOf(k);
    if (first !== i) problems.push(`attacks[${i}]: the same attack as attacks[${first}] (${k})`);
  });
  if (problems.length) throw new ConfigError(problems);
  return r.data;
}

/** The set names of a config (empty when it uses the clean test set). */
export function configSets(config: ExperimentConfig): string[] {
  const set = config.images.set;
  if (set === undefined) return [];
  return typeof set === 'string' ? [set] : [...set];
}

/**
 * @param cards the cards of the adversarial sets the config names (by set name), needed when it
 *   names any; the runner loads them (tools/lib/adversarial-node.ts)
 * @throws ConfigError for an invalid config, a set without a card, or sets that cover different images
 */
export function resolveConfig(raw: unknown, cards?: ReadonlyMap<string, AdversarialCard>): ResolvedConfig {
  const config = parseConfig(raw);
  const custom: ResolvedCustomModel[] = [];
  const models = (config.models === 'all' ? [...MODEL_IDS] : [...config.models]).map((ref) => {
    const match = CUSTOM_MODEL_REF.exec(ref);
    if (!match) return ref;
    const path = match[1];
    const outputs = match[2] ? 'probabilities' : 'logits';
    const id = customModelId(
      path,
      custom.map((c) => c.id),
    );
    custom.push({ ref, path, id, model: customWeightsId(id), outputs });
    return customWeightsId(id);
  });
  certifyProblems(config, models);
  const setNames = configSets(config);
  const sets: ResolvedSet[] = [];
  let indices: number[];
  if (config.images.set !== undefined) {
    const count = config.images.count;
    const subsets = setNames.map((name) => {
      const card = cards?.get(name);
      if (!card) throw new ConfigError([`images.set: no card loaded for ${name}`]);
      if (count !== undefined && count > card.count)
        throw new ConfigError([`images.count: ${count}, but ${name} holds ${card.count} images`]);
      sets.push({
        name,
        images_sha256: card.images_sha256,
        source: card.source.model,
        source_sha256: card.source.sha256,
        card: {
          attack: card.attack,
          seed: card.seed,
          count: card.count,
          source_accuracy: card.source_accuracy,
          torch_version: card.torch_version,
        },
      });
      return card.subset.indices.slice(0, count ?? card.count);
    });
    indices = subsets[0];
    subsets.forEach((ix, k) => {
      if (ix.length !== indices.length || ix.some((v, i) => v !== indices[i]))
        throw new ConfigError([
          `images.set: ${setNames[k]} covers other test images than ${setNames[0]}; put them in separate experiments`,
        ]);
    });
    const other = config.attacks.findIndex((a) => a.type !== 'none');
    if (other >= 0)
      throw new ConfigError([
        `attacks[${other}]: with images.set only { "type": "none" } is supported (the reports compare attacks against clean test images)`,
      ]);
  } else {
    const { indices: list, count, seed } = config.images;
    // the schema guarantees a list, or count and seed
    indices = list ? [...list] : sampleIndices(count!, seed!);
  }
  const attacks = config.attacks.map((a): ResolvedAttack => {
    const library = libraryAttack(a);
    const whiteBox = whiteBoxAttack(a);
    return {
      key: attackKey(a),
      type: a.type,
      params: attackParams(a),
      ...(library ? { library } : {}),
      ...(whiteBox ? { whiteBox } : {}),
    };
  });
  return { config, models, custom, indices, attacks, sets };
}

// ---------------------------------------------------------------------------------------------
// work items, shards, seeds

export interface WorkItem {
  model: string;
  attack: ResolvedAttack;
  index: number;
  /** the adversarial set of the image (undefined: the clean test set) */
  set?: string;
  /** position in the canonical (unsharded) order */
  ordinal: number;
}

export function rowKey(model: string, attack: string, index: number, set?: string): string {
  return set === undefined
    ? `${model}\u0000${attack}\u0000${index}`
    : `${model}\u0000${attack}\u0000${index}\u0000${set}`;
}

/**
 * Every (model, [set,] attack, image) in canonical order: model-major, then the adversarial set
 * (when the images come from sets), then attack, then image.
 */
export function enumerateWork(resolved: ResolvedConfig): WorkItem[] {
  const out: WorkItem[] = [];
  const sets = resolved.sets.length ? resolved.sets.map((s) => s.name) : [undefined];
  for (const model of resolved.models) {
    for (const set of sets) {
      for (const attack of resolved.attacks) {
        for (const index of resolved.indices)
          out.push(
            set === undefined
              ? { model, attack, index, ordinal: out.length }
              : { model, attack, index, set, ordinal: out.length },
          );
      }
    }
  }
  return out;
}

export interface Shard {
  /** 1-based, as Playwright's --shard */
  index: number;
  total: number;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new ConfigError([`--shard: expected i/n (for example 1/3), got ${JSON.stringify(text)}`]);
  const index = Number(m[1]);
  const total = Number(m[2]);
  if (total < 1 || index < 1 || index > total) {
    throw new ConfigError([
      `--shard: i must be between 1 and n (1-based, as Playwright's --shard), got ${text}`,
    ]);
  }
  return { index, total };
}

/**
 * The items of one shard: item k of the canonical order goes to shard (k mod n) + 1. Round-robin
 * rather than contiguous blocks, so every shard gets the same mix of models (a ResNet18 or ViT
 * block would otherwise land on one machine) and the shards finish at about the same time.
 */
export function shardWork(items: readonly WorkItem[], shard: Shard | null): WorkItem[] {
  if (!shard || shard.total === 1) return [...items];
  return items.filter((it) => it.ordinal % shard.total === shard.index - 1);
}

/** 32-bit FNV-1a of a string, finished with murmur3's mixer. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The seed of a row: a function of (config seed, model, attack key, test-set index) only. */
export function rowSeed(configSeed: number, model: string, attack: string, index: number): number {
  return hash32(`${configSeed}|${model}|${attack}|${index}`) & MAX_EXPERIMENT_SEED;
}

/**
 * The seed of the clean classification of (model, image), shared by all the attacks' rows so that
 * every attack sees the same clean prediction (and the `none` row's seed is this one).
 */
export function cleanSeed(configSeed: number, model: string, index: number): number {
  return rowSeed(configSeed, model, 'none', index);
}

/** Seeds of the fresh draws behind `eot_success_rate`, independent of the attack's own queries. */
export function eotDrawSeeds(seed: number, draws: number): number[] {
  return Array.from({ length: draws }, (_, j) => hash32(`eot|${seed}|${j}`) & MAX_EXPERIMENT_SEED);
}
