/**
 * Splitting one batch across several engines (the in-page worker pool, src/engine/pool.ts) so that
 * the merged answer is the unsplit one: every item is sent with the seed the router would have
 * derived for it (deriveSeed(base, its index in the whole batch)), and every part carries the
 * batch's base seed, which the answer's X-Seed reports. Pure: shared by the page and the tests.
 */
import type { ApiResponse } from './api';
import { deriveSeed, freshSeed } from './prng';
import { MAX_BATCH, MAX_BODY_BYTES, seedSchema, utf8Length } from './request';
import type { ClassifyResult } from './router';

/** Smallest part of a split batch (images): below it the extra message costs more than it saves. */
export const MIN_PART = 8;

/** Roughly the images in a request body (a gray 28×28 item is about 1.1 kB of JSON). */
export const imagesIn = (body: string | undefined): number =>
  Math.max(1, Math.round((body?.length ?? 0) / 1100));

/**
 * [start, end) of `parts` near-equal consecutive parts of `n` items, each at least `minPart` long
 * (fewer parts when n is small; one part means: do not split).
 */
export function partition(n: number, parts: number, minPart: number): [number, number][] {
  const k = Math.max(1, Math.min(parts, Math.floor(n / Math.max(1, minPart))));
  const out: [number, number][] = [];
  for (let i = 0; i < k; i++) out.push([Math.floor((i * n) / k), Math.floor(((i + 1) * n) / k)]);
  return out;
}

/**
 * The bodies of a `{"batch": [...]}` request split into up to `parts` requests of at least `minPart`
 * items, or null when it should go to one engine as it is: not a batch, too small, or not
 * well-formed enough to split (a worker then answers it, with its own error). Items are not
 * validated here: when a part fails, the caller sends the whole request again to one engine, so
 * that an error names the item's index in the whole batch.
 * @param fresh draws the base seed of a batch that has none (the router's own default)
 */
export function splitBatchBody(
  body: string | undefined,
  parts: number,
  minPart: number,
  fresh: () => number = freshSeed,
): string[] | null {
  if (typeof body !== 'string' || parts < 2 || body.length < 2) return null;
  // over the router's limits: one worker answers with the same 413/400 the unsplit request gets
  if (body.length * 3 > MAX_BODY_BYTES && utf8Length(body) > MAX_BODY_BYTES) return null;
  let json: unknown;
  try {
    json = JSON.parse(body.charCodeAt(0) === 0xfeff ? body.slice(1) : body);
  } catch {
    return null;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return null;
  const { batch, seed, ...rest } = json as { batch?: unknown; seed?: unknown };
  if (!Array.isArray(batch) || batch.length > MAX_BATCH) return null;
  const given = seedSchema.optional().safeParse(seed);
  if (!given.success) return null;
  if (!batch.every((it) => typeof it === 'object' && it !== null && !Array.isArray(it))) return null;
  const ranges = partition(batch.length, parts, minPart);
  if (ranges.length < 2) return null;
  const base = given.data ?? fresh();
  const seeded = batch.map((it: Record<string, unknown>, i) =>
    it.seed === undefined ? { ...it, seed: deriveSeed(base, i) } : it,
  );
  return ranges.map(([a, b]) => JSON.stringify({ ...rest, seed: base, batch: seeded.slice(a, b) }));
}

/**
 * One answer from the answers of the parts, in order: their `data` lists concatenated, the first
 * part's headers, X-Inference-Ms the longest part's (the parts ran side by side). Null when a part
 * is not a 200 with a `data` list: the caller then asks one engine for the whole batch.
 */
export function mergeBatchAnswers(answers: readonly ApiResponse[]): ApiResponse | null {
  const data: unknown[] = [];
  let inferenceMs = 0;
  for (const a of answers) {
    const d = (a.body as { data?: unknown } | null)?.data;
    if (a.status !== 200 || !Array.isArray(d)) return null;
    data.push(...d);
    inferenceMs = Math.max(inferenceMs, Number(a.headers['X-Inference-Ms'] ?? 0));
  }
  const headers = { ...answers[0].headers };
  if ('X-Inference-Ms' in headers) headers['X-Inference-Ms'] = inferenceMs.toFixed(2);
  return { status: 200, headers, body: { data } };
}

/**
 * The per-item seeds of `n` inputs classified with base seed `base` (as classifyInputs derives
 * them), for sending parts of one classification to different engines.
 */
export function itemSeedsOf(base: number, n: number, given?: readonly (number | undefined)[]): number[] {
  return Array.from({ length: n }, (_, i) => given?.[i] ?? deriveSeed(base, i));
}

/** One classification from its parts' results, in order (seed: the first part's, i.e. the base). */
export function mergeClassifyResults(parts: readonly ClassifyResult[]): ClassifyResult {
  return {
    logits: parts.flatMap((p) => p.logits),
    probs: parts.flatMap((p) => p.probs),
    preds: parts.flatMap((p) => p.preds),
    modelInputs: parts.flatMap((p) => p.modelInputs),
    draws: parts.flatMap((p) => p.draws),
    seed: parts[0].seed,
    inferenceMs: Math.max(...parts.map((p) => p.inferenceMs)),
  };
}
