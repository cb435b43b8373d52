/**
 * One line of `results.jsonl` per (model, attack, image), and the pieces every runner shares to
 * build them: byte/float conversion, distances, trajectory thinning, the EOT draw count.
 */

/** Fresh defense draws behind `eot_success_rate` (randomized models only). */
export const EOT_DRAWS = 100;

export interface ResultRow {
  model: string;
  /** the attack's stable key (config.ts attackKey) */
  attack: string;
  /** test-set index */
  index: number;
  /** the adversarial set the image came from (src/data/adversarial.ts); absent: the clean test set */
  set?: string;
  /** true class */
  label: number;
  /** the model's class for the clean image (for randomized models: the draw with the clean seed) */
  clean_pred: number | null;
  /** the class of the final (adversarial) image; clean_pred for `none` */
  adv_pred: number | null;
  /** the attack turned a correctly classified image into a misclassified one (within its budget) */
  success: boolean | null;
  /** model queries the attack spent (EOT queries included; the eot_success_rate draws are not) */
  queries: number | null;
  /** white-box attacks: gradient evaluations (images × EOT draws per step), apart from `queries` */
  gradient_evaluations?: number;
  /** distance of the final image from the clean one, in [0,1] pixel units, on the 8-bit grid */
  l2: number | null;
  linf: number | null;
  /** wall time of this row, ms (batch rows: their share of the batch) */
  ms: number;
  /** the row's seed (config.ts rowSeed): attack randomness and seeded defense draws */
  seed: number;
  /** randomized models: share of EOT_DRAWS fresh seeded draws that misclassify the final image */
  eot_success_rate?: number;
  /**
   * randomized models, `none` rows: the plurality class of the same draws (the `none` attack's
   * `eot_draws`, default EOT_DRAWS; ties: the larger summed probability, then the lower
   * class), the prediction of an attacker or user who averages the defense's randomness away
   */
  eot_vote_pred?: number;
  /**
   * `certify` rows (randomized smoothing): the certified L2 radius of the smoothed classifier's
   * answer (`adv_pred`, null when it abstains; then 0), and the lower confidence bound p_A
   */
  radius?: number;
  p_a_lower?: number;
  /**
   * decision attacks (HopSkipJump, Boundary): where their adversarial starting point came from —
   * a uniform-noise draw, a test image of another class (when no noise draw was adversarial), or
   * none found (the image then counts as robust only because the attack never started)
   */
  start?: 'noise' | 'data' | 'given' | 'none';
  /** AutoAttack: the stage whose image broke it (null: robust) */
  broken_by?: string | null;
  /** AutoAttack: the version run (standard, or rand for a randomized model) */
  version?: 'standard' | 'rand';
  /**
   * AutoAttack: the checks' flags raised on the images attacked with this one (random_output,
   * softmax_output, zero_gradient, too_few_classes); Square's is the summary's
   */
  flags?: string[];
  /** the clean image was already misclassified, so it was not attacked */
  skipped?: 'misclassified';
  /** thinned trajectory: [queries, distance in the attack's norm (or null)] */
  traj?: [number, number | null][];
  /** the final image as base64 of 784 gray bytes (successful attacks only) */
  adv?: string;
  /** what went wrong; the other result fields are null */
  error?: string;
}

const ROW_ORDER: (keyof ResultRow)[] = [
  'model',
  'attack',
  'index',
  'set',
  'label',
  'clean_pred',
  'adv_pred',
  'success',
  'queries',
  'gradient_evaluations',
  'l2',
  'linf',
  'ms',
  'seed',
  'eot_success_rate',
  'eot_vote_pred',
  'radius',
  'p_a_lower',
  'broken_by',
  'version',
  'flags',
  'start',
  'skipped',
  'error',
  'traj',
  'adv',
];

/** The row with its fields in the documented order (stable, readable lines). */
export function orderedRow(row: ResultRow): ResultRow {
  const out: Record<string, unknown> = {};
  for (const k of ROW_ORDER) if (row[k] !== undefined) out[k] = row[k];
  return out as unknown as ResultRow;
}

/** Rounds to 7 significant digits, so rows stay short and identical across re-runs. */
export function round(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  return Number(v.toPrecision(7));
}

export function bytesToFloat(bytes: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 255;
  return out;
}

export function floatToBytes(x: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, x[i])) * 255);
  return out;
}

/** L2 and L∞ distance between two byte images, in [0,1] units. */
export function byteDistances(a: ArrayLike<number>, b: ArrayLike<number>): { l2: number; linf: number } {
  let s = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / 255;
    s += d * d;
    if (d > m) m = d;
  }
  return { l2: Math.sqrt(s), linf: m };
}

/**
 * At most `max` trajectory points, spaced evenly on a log scale of queries, always keeping the
 * last one (the final state).
 */
export function thinTrajectory(
  points: readonly { queries: number; distance?: number }[],
  max = 32,
): [number, number | null][] {
  if (points.length === 0) return [];
  const pick = (p: { queries: number; distance?: number }): [number, number | null] => [
    p.queries,
    p.distance === undefined || !Number.isFinite(p.distance) ? null : round(p.distance),
  ];
  if (points.length <= max) return points.map(pick);
  const last = points[points.length - 1];
  const lo = Math.log(Math.max(1, points[0].queries));
  const hi = Math.log(Math.max(1, last.queries));
  const out: [number, number | null][] = [];
  let j = 0;
  for (let k = 0; k < max - 1; k++) {
    const target = Math.exp(lo + ((hi - lo) * k) / (max - 1));
    while (j < points.length - 1 && points[j + 1].queries <= target) j++;
    const p = pick(points[j]);
    if (out.length === 0 || out[out.length - 1][0] !== p[0]) out.push(p);
  }
  const end = pick(last);
  if (out[out.length - 1][0] !== end[0]) out.push(end);
  return out;
}

/** A run stopped by the user (SIGINT/SIGTERM): rows written so far stay, the rest resume later. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

/**
 * The backend stopped answering (an endpoint that died, a page that closed): the run stops at once,
 * writes no error row for the work it could not do, and a plain rerun continues where it stopped.
 */
export class BackendGone extends Interrupted {
  constructor(readonly reason: string) {
    super();
    this.name = 'BackendGone';
    this.message = reason;
  }
}

/**
 * An error row written when the backend could not be reached (rows of earlier versions, or of an
 * endpoint that failed between its health checks): a plain rerun redoes it.
 */
export function unreachableError(error: string): boolean {
  return /ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET|fetch failed|socket hang up/i.test(error);
}

/** An error's message, for an error row. */
export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
