/**
 * The experiment's use of the thesis API contract (SPEC §4): `/score` requests for 28×28 gray
 * images with a per-item `seed`, in the batch extension's form when there is more than one, and
 * the parsing of the answer. Shared by the page API and the Node runner's `--endpoint` mode so that
 * both send byte-identical requests.
 */

export interface ScoreItem {
  /** base64 of 784 gray bytes */
  image: string;
  /** makes a randomized defense's draw reproducible (ignored by deterministic models) */
  seed: number;
}

/** The canonical route: `/0/score`, `/0/4/score` for model `0_4`. */
export function scoreRoute(model: string): string {
  // `0_4` → /0/4/score; an uploaded model `custom/<id>` → /custom/<id>/score
  return `/${model.split(/[_/]/).map(encodeURIComponent).join('/')}/score`;
}

export function scoreBody(items: readonly ScoreItem[], batch: boolean): string {
  const one = (it: ScoreItem) => ({ image: it.image, image_size: [28, 28], channel: 1, seed: it.seed });
  if (!batch) {
    if (items.length !== 1)
      throw new RangeError('a request without the batch extension carries exactly one image');
    return JSON.stringify(one(items[0]));
  }
  return JSON.stringify({ batch: items.map(one) });
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function isProbs(v: unknown): v is number[] {
  return Array.isArray(v) && v.length === 10 && v.every((p) => typeof p === 'number' && Number.isFinite(p));
}

/** The probability vectors of an answer, or an ApiError with the server's own words. */
export function parseScoreAnswer(status: number, body: unknown, n: number, batch: boolean): number[][] {
  const error =
    body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string'
      ? (body as { error: string }).error
      : null;
  if (status !== 200) {
    const text =
      error ?? (typeof body === 'string' ? body.slice(0, 300) : JSON.stringify(body)?.slice(0, 300));
    throw new ApiError(status, `HTTP ${status}: ${text}`);
  }
  const data = body && typeof body === 'object' ? (body as { data?: unknown }).data : undefined;
  if (!batch) {
    if (!isProbs(data)) throw new ApiError(status, `answer has no list of 10 probabilities in "data"`);
    return [data];
  }
  if (!Array.isArray(data) || data.length !== n) {
    throw new ApiError(
      status,
      `batch answer has ${Array.isArray(data) ? data.length : 'no'} items, expected ${n}`,
    );
  }
  return data.map((d, i) => {
    if (!isProbs(d)) throw new ApiError(status, `batch answer item ${i} is not a list of 10 probabilities`);
    return d;
  });
}

/** Index of the largest probability; ties go to the lowest index (the API's argmax rule). */
export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}
