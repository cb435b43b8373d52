/**
 * The attack registry: what each attack needs (decision or score oracle), which norms it supports,
 * its defaults, a dispatcher, and a stable key for experiment results.
 *
 * Everything here is plain TypeScript without DOM APIs: it runs in a Web Worker and in Node.
 */

import { APGD_PARAMS, APGD_T_PARAMS, type ApgdParams, type ApgdTParams, resolveApgdParams } from './apgd';
import {
  AUTOATTACK_PARAMS,
  type AutoAttackParams,
  autoAttackOne,
  resolveAutoAttackParams,
} from './autoattack';
import {
  BOUNDARY_DEFAULTS,
  BOUNDARY_PARAMS,
  type BoundaryOptions,
  boundaryAttack,
  resolveBoundaryParams,
} from './boundary';
import { FAB_PARAMS, type FabParams, fabAttack, resolveFabParams } from './fab';
import { HSJA_DEFAULTS, HSJA_PARAMS, type HsjaOptions, hopSkipJump, resolveHsjaParams } from './hopskipjump';
import {
  type AnyOracle,
  type DecisionOracle,
  decisionFromScores,
  isDecisionOracle,
  isScoreOracle,
  type ScoreOracle,
} from './oracle';
import type { ParamSchema } from './params';
import {
  RANDOM_NOISE_DEFAULTS,
  RANDOM_NOISE_PARAMS,
  type RandomNoiseOptions,
  randomNoise,
  resolveRandomNoiseParams,
} from './random';
import { resolveSimbaParams, SIMBA_DEFAULTS, SIMBA_PARAMS, type SimbaOptions, simba } from './simba';
import {
  resolveSquareParams,
  SQUARE_DEFAULTS,
  SQUARE_PARAMS,
  type SquareOptions,
  squareAttack,
} from './square';
import type { AttackKind, AttackOptions, AttackResult, Norm } from './types';
import { resolveShape } from './vec';
import {
  apgdAttack,
  FGSM_PARAMS,
  isWhiteBoxOracle,
  PGD_PARAMS,
  type PgdParams,
  resolvePgdParams,
  type WhiteBoxOracle,
  whiteBoxAttack,
} from './whitebox';

export { projectToBall, withinBall } from './ball';
export { BOUNDARY_DEFAULTS, type BoundaryOptions, type BoundaryParams, boundaryAttack } from './boundary';
export { HSJA_DEFAULTS, type HsjaOptions, type HsjaParams, hopSkipJump } from './hopskipjump';
export * from './oracle';
export { EPS_MAX, epsProblem, type ParamField, type ParamSchema, paramFields, snakeCase } from './params';
export {
  RANDOM_NOISE_DEFAULTS,
  type RandomNoiseOptions,
  type RandomNoiseParams,
  randomNoise,
} from './random';
export { SIMBA_DEFAULTS, type SimbaOptions, type SimbaParams, simba, simbaOrder } from './simba';
export { pSelection, SQUARE_DEFAULTS, type SquareOptions, type SquareParams, squareAttack } from './square';
export type * from './types';
export { l2Distance, linfDistance } from './vec';

export type AttackName =
  | 'hopskipjump'
  | 'boundary'
  | 'simba'
  | 'square'
  | 'random'
  | 'fgsm'
  | 'pgd'
  | 'apgd-ce'
  | 'apgd-t'
  | 'fab-t'
  | 'autoattack';
export { APGD_PARAMS, APGD_T_PARAMS, apgd, apgdTargeted, resolveApgdParams } from './apgd';
export {
  AUTOATTACK_PARAMS,
  type AutoAttackRun,
  autoAttack,
  autoAttackOne,
  resolveAutoAttackParams,
  type StageVerdict,
} from './autoattack';
export { FAB_PARAMS, fabTargeted, resolveFabParams } from './fab';
export {
  FGSM_PARAMS,
  fgsm,
  isWhiteBoxOracle,
  PGD_PARAMS,
  pgd,
  resolvePgdParams,
  type WhiteBoxOracle,
  type WhiteBoxResult,
  type WhiteBoxRun,
  whiteBoxAttack,
} from './whitebox';

/** Options accepted by runAttack: the common ones plus any attack's own parameters. */
export type AnyAttackOptions = AttackOptions & Record<string, unknown>;

export interface AttackInfo {
  name: AttackName;
  title: string;
  paper: string;
  kind: AttackKind;
  norms: readonly Norm[];
  /** Supports `target` (targeted attacks). All five do; decision attacks then want `init`. */
  targeted: boolean;
  /**
   * Walks the decision boundary from an adversarial starting point (found among uniform-noise
   * draws, then `initCandidates`, or given as `init`). Callers pass candidates only to these.
   */
  needsStart: boolean;
  /** The attack's own parameters, declared once (src/attacks/params.ts); required ones an experiment must state. */
  params: ParamSchema;
  /** Default parameters (some resolve against the image size or norm: see `resolve`). */
  defaults: Readonly<Record<string, unknown>>;
  /** The algorithm parameters a run with these options will use (no query is made). */
  resolve(options: Record<string, unknown>): Record<string, unknown>;
  run(options: AnyAttackOptions, oracle: AnyOracle | WhiteBoxOracle): Promise<AttackResult>;
}

const asDecision = (oracle: AnyOracle): DecisionOracle => {
  if (isDecisionOracle(oracle)) return oracle;
  if (isScoreOracle(oracle)) return decisionFromScores(oracle);
  throw new TypeError('oracle has neither decide() nor score()');
};

const asScore = (name: string, oracle: AnyOracle): ScoreOracle => {
  if (isScoreOracle(oracle)) return oracle;
  throw new TypeError(`${name} is score-based: the oracle needs score()`);
};

const asWhiteBox = (name: string, oracle: AnyOracle | WhiteBoxOracle): WhiteBoxOracle => {
  if (isWhiteBoxOracle(oracle)) return oracle;
  throw new TypeError(
    `${name} is white-box: the oracle needs gradient() (the service's --gradients, or the page's engine)`,
  );
};

/** FGSM's resolved parameters: one step of size ε from x (PGD's fields, for the record). */
const resolveFgsm = (o: Record<string, unknown>): Record<string, unknown> => {
  const p = resolvePgdParams({ ...(o as Partial<PgdParams>), steps: 1, restarts: 1, randomStart: false });
  return { norm: p.norm, eps: p.eps, loss: p.loss };
};

const isTargeted = (o: Record<string, unknown>) =>
  o.targeted === true || (o.target !== undefined && o.target !== null);

/** [h, w] from explicit params, the image, or (for keys without an image) the 28×28 models. */
const shapeOf = (o: Record<string, unknown>): [number, number] => {
  const shape = o.shape as [number, number] | undefined;
  const x = o.x as Float32Array | undefined;
  const d = x?.length ?? (typeof o.d === 'number' ? o.d : undefined);
  if (d !== undefined) return resolveShape(d, shape);
  return shape ? [shape[0], shape[1]] : [28, 28];
};

export const ATTACKS: Readonly<Record<AttackName, AttackInfo>> = {
  hopskipjump: {
    name: 'hopskipjump',
    title: 'HopSkipJump',
    paper: 'Chen, Jordan & Wainwright, IEEE S&P 2020',
    kind: 'decision',
    norms: ['l2', 'linf'],
    targeted: true,
    needsStart: true,
    params: HSJA_PARAMS,
    defaults: { ...HSJA_DEFAULTS },
    // the binary search walks the exact 8-bit grid path when queries are quantised
    resolve: (o) => ({
      ...resolveHsjaParams(o as Partial<HsjaOptions>),
      ...(o.quantize === true && { binarySearch: 'grid-path' }),
    }),
    run: (o, oracle) => hopSkipJump(o as HsjaOptions, asDecision(oracle)),
  },
  boundary: {
    name: 'boundary',
    title: 'Boundary attack',
    paper: 'Brendel, Rauber & Bethge, ICLR 2018',
    kind: 'decision',
    norms: ['l2'],
    targeted: true,
    needsStart: true,
    params: BOUNDARY_PARAMS,
    defaults: { norm: 'l2', ...BOUNDARY_DEFAULTS },
    resolve: (o) => ({ norm: 'l2', ...resolveBoundaryParams(o as Partial<BoundaryOptions>) }),
    run: (o, oracle) => boundaryAttack(o as BoundaryOptions, asDecision(oracle)),
  },
  simba: {
    name: 'simba',
    title: 'SimBA',
    paper: 'Guo, Gardner, You, Wilson & Weinberger, ICML 2019',
    kind: 'score',
    norms: ['l2'],
    targeted: true,
    needsStart: false,
    params: SIMBA_PARAMS,
    defaults: { norm: 'l2', ...SIMBA_DEFAULTS },
    resolve: (o) => {
      const [h, w] = shapeOf(o);
      return { norm: 'l2', ...resolveSimbaParams(o as Partial<SimbaOptions>, h, w) };
    },
    run: (o, oracle) => simba(o as SimbaOptions, asScore('SimBA', oracle)),
  },
  square: {
    name: 'square',
    title: 'Square attack',
    paper: 'Andriushchenko, Croce, Flammarion & Hein, ECCV 2020',
    kind: 'score',
    norms: ['linf', 'l2'],
    targeted: true,
    needsStart: false,
    params: SQUARE_PARAMS,
    defaults: { norm: 'linf', ...SQUARE_DEFAULTS },
    resolve: (o) => ({ ...resolveSquareParams(o as Partial<SquareOptions>, isTargeted(o)) }),
    run: (o, oracle) => squareAttack(o as SquareOptions, asScore('Square', oracle)),
  },
  random: {
    name: 'random',
    title: 'Random noise',
    paper: 'baseline',
    kind: 'decision',
    norms: ['linf', 'l2'],
    targeted: true,
    needsStart: false,
    params: RANDOM_NOISE_PARAMS,
    defaults: { norm: 'linf', ...RANDOM_NOISE_DEFAULTS },
    resolve: (o) => {
      const p = resolveRandomNoiseParams(o as Partial<RandomNoiseOptions> & { maxQueries: number });
      // `draws` defaults to the budget, which is already in the key: only a smaller cap is listed
      const capped = p.draws < (o.maxQueries as number);
      return { norm: p.norm, eps: p.eps, drawsPerCall: p.drawsPerCall, ...(capped && { draws: p.draws }) };
    },
    run: (o, oracle) => randomNoise(o as RandomNoiseOptions, asDecision(oracle)),
  },
  fgsm: {
    name: 'fgsm',
    title: 'FGSM',
    paper: 'Goodfellow, Shlens & Szegedy, ICLR 2015',
    kind: 'gradient',
    norms: ['linf', 'l2'],
    targeted: true,
    needsStart: false,
    params: FGSM_PARAMS,
    defaults: { norm: 'linf', linf: { eps: 0.1 }, l2: { eps: 1.5 }, loss: 'ce' },
    resolve: resolveFgsm,
    run: (o, oracle) =>
      whiteBoxAttack('fgsm', o as AttackOptions & Partial<PgdParams>, asWhiteBox('FGSM', oracle)),
  },
  pgd: {
    name: 'pgd',
    title: 'PGD',
    paper: 'Madry, Makelov, Schmidt, Tsipras & Vladu, ICLR 2018',
    kind: 'gradient',
    norms: ['linf', 'l2'],
    targeted: true,
    needsStart: false,
    params: PGD_PARAMS,
    defaults: {
      norm: 'linf',
      linf: { eps: 0.1 },
      l2: { eps: 1.5 },
      steps: 20,
      restarts: 1,
      randomStart: true,
      loss: 'ce',
    },
    resolve: (o) => ({ ...resolvePgdParams(o as Partial<PgdParams>) }),
    run: (o, oracle) =>
      whiteBoxAttack('pgd', o as AttackOptions & Partial<PgdParams>, asWhiteBox('PGD', oracle)),
  },
  'apgd-ce': {
    name: 'apgd-ce',
    title: 'APGD-CE',
    paper: 'Croce & Hein, ICML 2020 (AutoAttack)',
    kind: 'gradient',
    norms: ['linf', 'l2'],
    targeted: false,
    needsStart: false,
    params: APGD_PARAMS.omit({ loss: true }),
    defaults: {
      norm: 'linf',
      linf: { eps: 0.1 },
      l2: { eps: 1.5 },
      nIter: 100,
      restarts: 1,
      rho: 0.75,
      momentum: 0.75,
    },
    resolve: (o) => {
      const { targets: _t, loss: _l, ...p } = resolveApgdParams(o as Partial<ApgdParams>);
      return p;
    },
    run: (o, oracle) =>
      apgdAttack('apgd-ce', o as AttackOptions & Partial<ApgdTParams>, asWhiteBox('APGD-CE', oracle)),
  },
  'apgd-t': {
    name: 'apgd-t',
    title: 'APGD-T',
    paper: 'Croce & Hein, ICML 2020 (AutoAttack)',
    kind: 'gradient',
    norms: ['linf', 'l2'],
    targeted: false,
    needsStart: false,
    params: APGD_T_PARAMS,
    defaults: { norm: 'linf', linf: { eps: 0.1 }, l2: { eps: 1.5 }, nIter: 100, restarts: 1, targets: 9 },
    resolve: (o) => {
      const { loss: _l, ...p } = resolveApgdParams(o as Partial<ApgdTParams>);
      return p;
    },
    run: (o, oracle) =>
      apgdAttack('apgd-t', o as AttackOptions & Partial<ApgdTParams>, asWhiteBox('APGD-T', oracle)),
  },
  'fab-t': {
    name: 'fab-t',
    title: 'FAB-T',
    paper: 'Croce & Hein, ICML 2020 (fast adaptive boundary)',
    kind: 'gradient',
    norms: ['linf'],
    targeted: false,
    needsStart: false,
    params: FAB_PARAMS as unknown as ParamSchema,
    defaults: {
      norm: 'linf',
      linf: { eps: 0.1 },
      nIter: 100,
      targets: 9,
      alphaMax: 0.1,
      eta: 1.05,
      beta: 0.9,
    },
    resolve: (o) => ({ ...resolveFabParams(o as Partial<FabParams>) }),
    run: (o, oracle) => fabAttack(o as AttackOptions & Partial<FabParams>, asWhiteBox('FAB-T', oracle)),
  },
  autoattack: {
    name: 'autoattack',
    title: 'AutoAttack',
    paper: 'Croce & Hein, ICML 2020',
    kind: 'gradient',
    norms: ['linf', 'l2'],
    targeted: false,
    needsStart: false,
    params: AUTOATTACK_PARAMS as unknown as ParamSchema,
    defaults: { norm: 'linf', linf: { eps: 0.1 }, l2: { eps: 1.5 }, squareQueries: 5000, eot: 20 },
    resolve: (o) => ({ ...resolveAutoAttackParams(o as Partial<AutoAttackParams>) }),
    run: (o, oracle) => {
      const w = asWhiteBox('AutoAttack', oracle);
      return autoAttackOne(o as AttackOptions & Partial<AutoAttackParams>, {
        ...w,
        score: asScore('AutoAttack (its Square stage)', oracle as AnyOracle).score,
      });
    },
  },
};

export const ATTACK_NAMES = Object.keys(ATTACKS) as AttackName[];

export function isAttackName(name: string): name is AttackName {
  return Object.hasOwn(ATTACKS, name);
}

/**
 * Runs attack `name`. Decision attacks accept a score oracle too (argmax of the scores); score
 * attacks need one.
 */
export async function runAttack(
  name: AttackName,
  options: AnyAttackOptions,
  oracle: AnyOracle | WhiteBoxOracle,
): Promise<AttackResult> {
  if (!isAttackName(name)) throw new RangeError(`unknown attack ${name}`);
  return ATTACKS[name].run(options, oracle);
}

/**
 * A stable key for an attack configuration, e.g.
 * `square|eps=0.1|loss=margin|marginOn=logit|maxQueries=1000|norm=linf|pInit=0.05|quantize=false|targeted=false`.
 * Built from the resolved algorithm parameters plus budget, targeted-ness and quantisation, with
 * keys sorted; per-sample values (image, label, target class, seed) are left out. Accepts raw
 * options or a result's `params` (both give the same key).
 */
export function attackKey(name: AttackName, params: Record<string, unknown>): string {
  if (!isAttackName(name)) throw new RangeError(`unknown attack ${name}`);
  const resolved: Record<string, unknown> = {
    ...ATTACKS[name].resolve(params),
    maxQueries: params.maxQueries,
    targeted: isTargeted(params),
    quantize: params.quantize === true,
  };
  const parts = Object.keys(resolved)
    .filter((k) => resolved[k] !== undefined)
    .sort()
    .map((k) => `${k}=${formatValue(resolved[k])}`);
  return [name, ...parts].join('|');
}

function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(12)));
  if (Array.isArray(v)) return `[${v.map(formatValue).join(',')}]`;
  return String(v);
}
