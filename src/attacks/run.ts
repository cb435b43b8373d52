/**
 * The bookkeeping every attack shares: a private budgeted counter around the caller's oracle, the
 * seeded Rng, the reference image, abort handling, cooperative yielding and the trajectory.
 */
import { Rng } from '../core/prng';
import { type AnyOracle, BudgetExhausted, CountingOracle } from './oracle';
import type { AttackOptions, AttackResult, TrajectoryPoint } from './types';
import { clip01, l2Distance, linfDistance, quantize } from './vec';

/** Internal signal: the budget is spent or the caller aborted; the attack returns its best so far. */
export class StopAttack extends Error {
  override readonly name = 'StopAttack';
  constructor(readonly reason: 'budget' | 'aborted') {
    super(reason);
  }
}

const now = (): number => globalThis.performance?.now() ?? Date.now();

/** A macrotask break, so a worker can receive an abort message between queries. */
const breathe = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export class AttackRun {
  readonly oracle: CountingOracle;
  readonly rng: Rng;
  /** The reference image: x clipped to [0, 1], and quantised when `quantize` is on. */
  readonly x: Float32Array;
  readonly d: number;
  readonly label: number;
  readonly target: number | undefined;
  readonly targeted: boolean;
  readonly quantize: boolean;
  readonly batchSize: number;
  readonly trajectory: TrajectoryPoint[] = [];
  private readonly t0 = now();
  private lastYield = now();
  private lastRecorded = Number.NEGATIVE_INFINITY;
  private readonly recordStride: number;

  constructor(
    private readonly options: AttackOptions,
    oracle: AnyOracle,
  ) {
    const { x, label, target, maxQueries } = options;
    if (!(x instanceof Float32Array) || x.length === 0)
      throw new TypeError('x must be a non-empty Float32Array');
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i])) throw new RangeError(`x[${i}] is not finite`);
    }
    if (!Number.isInteger(label) || label < 0)
      throw new RangeError(`label must be a class index, got ${label}`);
    if (target !== undefined && (!Number.isInteger(target) || target < 0 || target === label)) {
      throw new RangeError(`target must be a class index other than the label, got ${target}`);
    }
    if (!(Number.isInteger(maxQueries) && maxQueries >= 0)) {
      throw new RangeError(`maxQueries must be a non-negative integer, got ${maxQueries}`);
    }
    this.oracle = new CountingOracle(oracle, { budget: maxQueries });
    this.rng = new Rng(options.seed);
    this.quantize = options.quantize ?? false;
    const clipped = Float32Array.from(x, clip01);
    this.x = this.quantize ? quantize(clipped) : clipped;
    this.d = x.length;
    this.label = label;
    this.target = target;
    this.targeted = target !== undefined;
    this.batchSize = Math.max(1, Math.floor(options.batchSize ?? 256));
    this.recordStride = Math.max(1, Math.floor(maxQueries / 1000));
  }

  /** Untargeted: any class but the label. Targeted: exactly the target. */
  isAdversarial(label: number): boolean {
    return this.targeted ? label === this.target : label !== this.label;
  }

  get used(): number {
    return this.oracle.used;
  }

  /** Images that still fit in the budget. */
  affordable(): number {
    return this.oracle.affordable();
  }

  private async gate(n: number): Promise<void> {
    if (this.options.signal?.aborted) throw new StopAttack('aborted');
    if (n > this.oracle.affordable()) throw new StopAttack('budget');
    if (now() - this.lastYield > 20) {
      await breathe();
      this.lastYield = now();
      if (this.options.signal?.aborted) throw new StopAttack('aborted');
    }
  }

  private async chunked<T>(xs: Float32Array[], ask: (part: Float32Array[]) => Promise<T[]>): Promise<T[]> {
    await this.gate(xs.length);
    const out: T[] = [];
    try {
      for (let i = 0; i < xs.length; i += this.batchSize)
        out.push(...(await ask(xs.slice(i, i + this.batchSize))));
    } catch (e) {
      if (e instanceof BudgetExhausted) throw new StopAttack('budget');
      // a request cut short by the caller's abort (an HTTP oracle given the same signal)
      if (this.options.signal?.aborted) throw new StopAttack('aborted');
      throw e;
    }
    return out;
  }

  /** Labels of xs; throws StopAttack (nothing sent) when the whole call does not fit the budget. */
  decide(xs: Float32Array[]): Promise<number[]> {
    return this.chunked(xs, (part) => this.oracle.decide(part));
  }

  /** Probability vectors of xs; same budget rule as decide(). */
  score(xs: Float32Array[]): Promise<Float32Array[]> {
    return this.chunked(xs, (part) => this.oracle.score(part));
  }

  /** A candidate as it will be queried: clipped to [0, 1] and, with `quantize`, on the 8-bit grid. */
  prep(v: ArrayLike<number>): Float32Array {
    const out = Float32Array.from(v as ArrayLike<number>, clip01);
    return this.quantize ? quantize(out) : out;
  }

  /** Adds a trajectory point (thinned to about 1000 points per run unless forced). */
  record(point: Omit<TrajectoryPoint, 'queries'>, force = false): void {
    const queries = this.oracle.used;
    if (!force && queries - this.lastRecorded < this.recordStride) return;
    const last = this.trajectory[this.trajectory.length - 1];
    if (last && last.queries === queries) this.trajectory.pop();
    const p: TrajectoryPoint = { queries, ...point };
    this.trajectory.push(p);
    this.lastRecorded = queries;
    this.options.onProgress?.(p);
  }

  result(adversarial: Float32Array, adversarialLabel: number, params: Record<string, unknown>): AttackResult {
    return {
      adversarial,
      success: this.isAdversarial(adversarialLabel),
      queries: this.oracle.used,
      l2: l2Distance(adversarial, this.x),
      linf: linfDistance(adversarial, this.x),
      trajectory: this.trajectory,
      wallMs: now() - this.t0,
      originalLabel: this.label,
      adversarialLabel,
      params,
    };
  }
}

/** Runs an attack body; StopAttack (budget or abort) ends it normally, anything else propagates. */
export async function untilStopped(body: () => Promise<void>): Promise<StopAttack['reason'] | 'done'> {
  try {
    await body();
    return 'done';
  } catch (e) {
    if (e instanceof StopAttack) return e.reason;
    throw e;
  }
}

/** Common parameters recorded in every result (the per-sample ones are left out of attack keys). */
export function baseParams(run: AttackRun, options: AttackOptions): Record<string, unknown> {
  return {
    maxQueries: options.maxQueries,
    seed: options.seed,
    targeted: run.targeted,
    target: run.target ?? null,
    quantize: run.quantize,
    d: run.d,
  };
}
