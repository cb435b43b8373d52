/**
 * The attack lab: its settings, the run in progress (live trajectory, query counter), the finished
 * result, the target model's verdict on it, and the transferability check across all fifteen
 * models. UI state only — the engine calls live in src/ui/attack/runner.ts.
 */
import { create } from 'zustand';
import { ATTACKS, type AttackName, type Norm, type TrajectoryPoint } from '../attacks';
import type { AttackResponse } from '../engine/messages';

/** Parameter overrides a user typed in the advanced section (numbers or enum strings). */
export type ParamOverrides = Record<string, number | string>;

export interface AttackConfig {
  model: string;
  attack: AttackName;
  norm: Norm;
  /** Perturbation budget, for the attacks that have one (Square, random noise). */
  eps: number;
  maxQueries: number;
  targeted: boolean;
  target: number;
  /** EOT: each query answered by k repeated queries (k charged per image). */
  eot: number;
  seed: number;
  /** Attack-specific parameters changed from their defaults, per attack. */
  overrides: Partial<Record<AttackName, ParamOverrides>>;
}

export type AttackStatus = 'idle' | 'preparing' | 'running' | 'stopping' | 'done' | 'error';

/** A model's verdict on one image: mean probabilities over `draws` (1 for deterministic models). */
export interface Verdict {
  probs: Float32Array;
  pred: number;
  /** Draws that voted for `pred`. */
  votes: number;
  draws: number;
  /** Draws whose decision counts as fooled (set where a goal is known). */
  fooled?: number;
}

export interface RunMeta {
  model: string;
  attack: AttackName;
  norm: Norm;
  eps: number | null;
  maxQueries: number;
  eot: number;
  seed: number;
  target: number | null;
  /** The label the attack moves away from. */
  label: number;
  labelSource: 'true' | 'predicted';
  /** The image attacked (as given; the worker quantises it to 8 bits). */
  original: Float32Array;
  /** The target model's verdict on the original. */
  originalVerdict: Verdict | null;
  /** Targeted decision attacks start from a test image of the target class; which one. */
  initIndex: number | null;
  startedAt: number;
}

export interface TransferEntry {
  model: string;
  status: 'pending' | 'ready' | 'error';
  clean?: Verdict;
  adversarial?: Verdict;
  error?: string;
}

export interface AttackState {
  config: AttackConfig;
  status: AttackStatus;
  error: string | null;
  /** Increments per run; stale async updates compare against it. */
  runId: number;
  meta: RunMeta | null;
  progress: TrajectoryPoint[];
  result: AttackResponse | null;
  adversarialVerdict: Verdict | null;
  verdictError: string | null;
  transfer: Record<string, TransferEntry> | null;
  transferRunning: boolean;
  /** Setting fields whose typed value is invalid (by test ID): Run waits until they are fixed. */
  invalidFields: string[];

  setConfig(patch: Partial<AttackConfig>): void;
  setFieldInvalid(field: string, invalid: boolean): void;
  setAttack(attack: AttackName): void;
  setNorm(norm: Norm): void;
  setOverride(key: string, value: number | string | null): void;
  resetOverrides(): void;

  begin(): number;
  setMeta(runId: number, meta: RunMeta): void;
  setRunning(runId: number): void;
  setStopping(): void;
  pushProgress(runId: number, point: TrajectoryPoint): void;
  finish(runId: number, result: AttackResponse): void;
  fail(runId: number, message: string): void;
  cancel(runId: number): void;
  setAdversarialVerdict(runId: number, verdict: Verdict | null, error?: string): void;
  startTransfer(models: string[]): void;
  setTransfer(runId: number, entry: TransferEntry): void;
  endTransfer(runId: number): void;
  clearResult(): void;
}

/** Default perturbation budget of `attack` under `norm`, or null when the attack has none. */
export function defaultEps(attack: AttackName, norm: Norm): number | null {
  const d = ATTACKS[attack].defaults[norm];
  if (d && typeof d === 'object' && 'eps' in d && typeof (d as { eps: unknown }).eps === 'number') {
    return (d as { eps: number }).eps;
  }
  return null;
}

export function hasEps(attack: AttackName, norm: Norm): boolean {
  return defaultEps(attack, norm) !== null;
}

/** The norm an attack starts with: its registry default, else the first it supports. */
export function defaultNorm(attack: AttackName): Norm {
  const info = ATTACKS[attack];
  const n = info.defaults.norm;
  return typeof n === 'string' && (info.norms as readonly string[]).includes(n) ? (n as Norm) : info.norms[0];
}

export const DEFAULT_CONFIG: AttackConfig = {
  model: '0',
  attack: 'square',
  norm: 'linf',
  eps: defaultEps('square', 'linf') ?? 0.1,
  maxQueries: 1000,
  targeted: false,
  target: 0,
  eot: 1,
  seed: 1,
  overrides: {},
};

const cleared = {
  error: null,
  meta: null,
  progress: [] as TrajectoryPoint[],
  result: null,
  adversarialVerdict: null,
  verdictError: null,
  transfer: null,
  transferRunning: false,
};

export const useAttackStore = create<AttackState>()((set, get) => ({
  config: DEFAULT_CONFIG,
  status: 'idle',
  runId: 0,
  ...cleared,
  // not in `cleared`: the fields stay mounted across runs and report their own state
  invalidFields: [],

  setFieldInvalid(field, invalid) {
    const now = get().invalidFields;
    if (invalid === now.includes(field)) return;
    set({ invalidFields: invalid ? [...now, field] : now.filter((f) => f !== field) });
  },
  setConfig(patch) {
    set({ config: { ...get().config, ...patch } });
  },
  setAttack(attack) {
    const c = get().config;
    // each attack's own default norm (HopSkipJump L2, Square L∞), as the tables run them
    const norm = defaultNorm(attack);
    const eps = defaultEps(attack, norm);
    set({
      config: { ...c, attack, norm, eps: eps ?? c.eps },
    });
  },
  setNorm(norm) {
    const c = get().config;
    if (!(ATTACKS[c.attack].norms as readonly Norm[]).includes(norm)) return;
    set({ config: { ...c, norm, eps: defaultEps(c.attack, norm) ?? c.eps } });
  },
  setOverride(key, value) {
    const c = get().config;
    const mine = { ...(c.overrides[c.attack] ?? {}) };
    if (value === null) delete mine[key];
    else mine[key] = value;
    set({ config: { ...c, overrides: { ...c.overrides, [c.attack]: mine } } });
  },
  resetOverrides() {
    const c = get().config;
    set({ config: { ...c, overrides: { ...c.overrides, [c.attack]: {} } } });
  },

  begin() {
    const runId = get().runId + 1;
    set({ ...cleared, runId, status: 'preparing' });
    return runId;
  },
  setMeta(runId, meta) {
    if (runId === get().runId) set({ meta });
  },
  setRunning(runId) {
    if (runId === get().runId && get().status === 'preparing') set({ status: 'running' });
  },
  setStopping() {
    const s = get().status;
    if (s === 'running' || s === 'preparing') set({ status: 'stopping' });
  },
  pushProgress(runId, point) {
    // a progress message can arrive after the result (worker callbacks are async): the finished
    // trajectory stands
    if (runId !== get().runId || get().status === 'done') return;
    set({ progress: [...get().progress, point] });
  },
  finish(runId, result) {
    if (runId !== get().runId) return;
    set({
      status: 'done',
      result,
      progress: result.trajectory.length > 0 ? result.trajectory : get().progress,
    });
  },
  fail(runId, message) {
    if (runId === get().runId) set({ status: 'error', error: message });
  },
  cancel(runId) {
    if (runId === get().runId) set({ ...cleared, status: 'idle' });
  },
  setAdversarialVerdict(runId, verdict, error) {
    if (runId === get().runId) set({ adversarialVerdict: verdict, verdictError: error ?? null });
  },
  startTransfer(models) {
    const transfer: Record<string, TransferEntry> = {};
    for (const m of models) transfer[m] = { model: m, status: 'pending' };
    set({ transfer, transferRunning: true });
  },
  setTransfer(runId, entry) {
    const t = get().transfer;
    if (runId !== get().runId || !t) return;
    set({ transfer: { ...t, [entry.model]: entry } });
  },
  endTransfer(runId) {
    if (runId === get().runId) set({ transferRunning: false });
  },
  clearResult() {
    if (get().status === 'done' || get().status === 'error') set({ ...cleared, status: 'idle' });
  },
}));

/** True while an attack is being prepared, runs, or is being stopped. */
export function isBusy(status: AttackStatus): boolean {
  return status === 'preparing' || status === 'running' || status === 'stopping';
}
