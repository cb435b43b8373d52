/**
 * Per (model, attack) summary of the result rows: `summary.csv` and `summary.md`.
 *
 * - clean_accuracy: share of the images whose clean prediction is the true class.
 * - robust_accuracy: share of ALL images still classified correctly after the attack; an image that
 *   was already misclassified counts as not robust.
 * - success_rate: share of the correctly classified images the attack flipped.
 * - median_queries / median_l2 / median_linf: over the flipped images.
 * Rows with an `error` are left out of these and counted in `errors`.
 */

import { CUSTOM_VARIANTS, customIdOf } from '../../src/core/custom-models';
import { clopperPearson } from '../../src/core/intervals';
import { getModel, isRandomized, type ModelInfo } from '../../src/core/models';
import type { ResolvedConfig } from './config';
import { rowKey } from './config';
import { EOT_DRAWS, type ResultRow } from './rows';

export interface SummaryRow {
  model: string;
  /** the adversarial set of the images (absent: the clean test set) */
  set?: string;
  attack: string;
  n: number;
  errors: number;
  clean_accuracy: number | null;
  robust_accuracy: number | null;
  success_rate: number | null;
  median_queries: number | null;
  median_l2: number | null;
  median_linf: number | null;
  /** randomized models: mean eot_success_rate over the correctly classified images that have one */
  eot_success_rate: number | null;
  /**
   * randomized models, `none` rows: share of all images whose plurality class over the EOT draws
   * (eot_vote_pred) is the true class: the accuracy an attacker who averages the randomness sees
   */
  eot_vote_accuracy: number | null;
  /** 95 % Clopper–Pearson interval of robust_accuracy over the n images */
  robust_ci95_low: number | null;
  robust_ci95_high: number | null;
}

export const SUMMARY_COLUMNS: (keyof SummaryRow)[] = [
  'model',
  'attack',
  'n',
  'clean_accuracy',
  'robust_accuracy',
  'success_rate',
  'median_queries',
  'median_l2',
  'median_linf',
  'errors',
  'eot_success_rate',
  'eot_vote_accuracy',
  'robust_ci95_low',
  'robust_ci95_high',
];

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Last row per (model, attack, index) wins: a retried error row is superseded by its retry. */
export function latestRows(rows: readonly ResultRow[]): Map<string, ResultRow> {
  const out = new Map<string, ResultRow>();
  for (const r of rows) out.set(rowKey(r.model, r.attack, r.index, r.set), r);
  return out;
}

/** The row with the 95 % interval of its robust accuracy (n images). */
function withInterval(r: Omit<SummaryRow, 'robust_ci95_low' | 'robust_ci95_high'>): SummaryRow {
  if (r.robust_accuracy === null || r.n === 0) return { ...r, robust_ci95_low: null, robust_ci95_high: null };
  const [lo, hi] = clopperPearson(Math.round(r.robust_accuracy * r.n), r.n, 0.05);
  return { ...r, robust_ci95_low: lo, robust_ci95_high: hi };
}

export function summarizeGroup(
  model: string,
  attack: string,
  rows: readonly ResultRow[],
  set?: string,
): SummaryRow {
  const ok = rows.filter((r) => r.error === undefined);
  const n = ok.length;
  const correct = ok.filter((r) => r.clean_pred === r.label);
  const flipped = correct.filter((r) => r.success === true);
  const eot = correct.map((r) => r.eot_success_rate).filter((v): v is number => typeof v === 'number');
  const nums = (f: (r: ResultRow) => number | null) =>
    flipped.map(f).filter((v): v is number => typeof v === 'number');
  const voted = ok.filter((r) => typeof r.eot_vote_pred === 'number');
  const head = {
    model,
    ...(set === undefined ? {} : { set }),
    attack,
    n,
    errors: rows.length - n,
    clean_accuracy: n ? correct.length / n : null,
  };
  // certify rows: the smoothed classifier's accuracy (certified at radius 0), its median radius
  // (in the L2 column) when right; nothing is flipped
  if (ok.length > 0 && ok.every((r) => typeof r.radius === 'number')) {
    const right = ok.filter((r) => r.adv_pred === r.label);
    return withInterval({
      ...head,
      robust_accuracy: right.length / n,
      success_rate: null,
      median_queries: median(ok.map((r) => r.queries ?? 0)),
      median_l2: median(right.map((r) => r.radius!)),
      median_linf: null,
      eot_success_rate: null,
      eot_vote_accuracy: null,
    });
  }
  return withInterval({
    ...head,
    robust_accuracy: n ? (correct.length - flipped.length) / n : null,
    success_rate: correct.length ? flipped.length / correct.length : null,
    median_queries: median(nums((r) => r.queries)),
    median_l2: median(nums((r) => r.l2)),
    median_linf: median(nums((r) => r.linf)),
    eot_success_rate: eot.length ? eot.reduce((a, b) => a + b, 0) / eot.length : null,
    eot_vote_accuracy:
      voted.length && voted.length === n ? voted.filter((r) => r.eot_vote_pred === r.label).length / n : null,
  });
}

/**
 * Robust accuracy at perturbation size ε for a minimum-distance attack (HopSkipJump, Boundary),
 * the standard robustness curve of the literature: the share of all (non-error) images that are
 * classified correctly and whose adversarial example needs a distance above ε in `norm`. An image the
 * attack did not flip counts as robust at every ε; a misclassified one at none. Distances are those
 * of the rows ([0, 1] pixel units on the 8-bit grid).
 * @returns one value in [0, 1] per ε, or null when there are no rows
 */
export function robustAccuracyCurve(
  rows: readonly ResultRow[],
  norm: 'l2' | 'linf',
  eps: readonly number[],
): (number | null)[] {
  const ok = rows.filter((r) => r.error === undefined);
  if (ok.length === 0) return eps.map(() => null);
  const dist = ok.map((r) => {
    if (r.clean_pred !== r.label) return 0;
    if (r.success !== true) return Number.POSITIVE_INFINITY;
    const d = norm === 'l2' ? r.l2 : r.linf;
    return typeof d === 'number' ? d : Number.POSITIVE_INFINITY;
  });
  return eps.map((e) => dist.filter((d) => d > e).length / ok.length);
}

/**
 * One summary row per (model, [adversarial set,] attack) of the config, in config order (groups
 * without rows too).
 */
export function summarize(resolved: ResolvedConfig, rows: readonly ResultRow[]): SummaryRow[] {
  const latest = [...latestRows(rows).values()];
  const groups = new Map<string, ResultRow[]>();
  const key = (model: string, set: string | undefined, attack: string) =>
    `${model}\u0000${set ?? ''}\u0000${attack}`;
  for (const r of latest) {
    const k = key(r.model, r.set, r.attack);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const out: SummaryRow[] = [];
  const sets = resolved.sets.length ? resolved.sets.map((s) => s.name) : [undefined];
  for (const model of resolved.models) {
    for (const set of sets) {
      for (const a of resolved.attacks)
        out.push(summarizeGroup(model, a.key, groups.get(key(model, set, a.key)) ?? [], set));
    }
  }
  return out;
}

export interface TransferMatrix {
  /** adversarial set names (rows: the surrogate each was crafted on) */
  sets: string[];
  /** the sets' source models, in `sets` order */
  sources: string[];
  /** target models (columns) */
  models: string[];
  /**
   * accuracy of each target on each set: [set][model], in [0, 1], null without rows. Randomized
   * targets: the EOT plurality vote (eot_vote_accuracy) when measured, else the single seeded draw.
   */
  accuracy: (number | null)[][];
  /** [set][model]: the single seeded draw's accuracy (what one API request answers) */
  singleDraw: (number | null)[][];
  /** [set][model]: whether the cell is an EOT plurality vote */
  eot: boolean[][];
  /** [set][model]: a randomized target whose cell is a single draw (no vote measured) */
  randomizedSingle: boolean[][];
  /**
   * [set][model]: how the target relates to the set's source. `same`: the same model (white-box);
   * `weights`: the same weight file behind a randomized preprocessor the attack did not model
   * (white-box on the weights, not a transfer); `transfer`: other weights.
   */
  relation: ('same' | 'weights' | 'transfer')[][];
  /** seeded draws behind each vote (the `none` attack's eot_draws) */
  eotDraws: number;
}

/**
 * The transfer matrix of an experiment over adversarial sets with the `none` attack: accuracy of
 * every target model on every set (surrogate × target; the diagonal is the white-box case).
 * Null when the experiment has no sets or no `none` attack.
 */
export function transferMatrix(
  resolved: ResolvedConfig,
  summary: readonly SummaryRow[],
): TransferMatrix | null {
  const none = resolved.attacks.find((a) => a.type === 'none');
  if (!none || resolved.sets.length === 0) return null;
  const cell = (set: string, model: string) =>
    summary.find((r) => r.set === set && r.model === model && r.attack === none.key);
  const sets = resolved.sets.map((s) => s.name);
  return {
    sets,
    sources: resolved.sets.map((s) => s.source),
    models: resolved.models,
    accuracy: sets.map((set) =>
      resolved.models.map((m) => {
        const r = cell(set, m);
        return r ? (r.eot_vote_accuracy ?? r.clean_accuracy) : null;
      }),
    ),
    singleDraw: sets.map((set) => resolved.models.map((m) => cell(set, m)?.clean_accuracy ?? null)),
    eot: sets.map((set) => resolved.models.map((m) => cell(set, m)?.eot_vote_accuracy != null)),
    randomizedSingle: sets.map((set) =>
      resolved.models.map((m) => {
        const info = getModel(m);
        return info !== undefined && isRandomized(info) && cell(set, m)?.eot_vote_accuracy == null;
      }),
    ),
    relation: resolved.sets.map((s) =>
      resolved.models.map((m) =>
        m === s.source
          ? 'same'
          : getModel(m)?.weights === getModel(s.source)?.weights
            ? 'weights'
            : 'transfer',
      ),
    ),
    eotDraws: Number(none.params.eot_draws ?? EOT_DRAWS),
  };
}

/**
 * The transfer matrix as a Markdown table: one row per surrogate, one column per target, accuracy
 * in %. Bold: the same model (white-box); italic: the same weights behind a randomized
 * preprocessor; †: a randomized target measured with one draw only.
 */
export function transferMatrixMarkdown(m: TransferMatrix): string {
  const head = `| surrogate ↓ / target → | ${m.models.join(' | ')} |`;
  const rule = `|---|${m.models.map(() => '---:').join('|')}|`;
  const lines = m.sets.map((_, i) => {
    const cells = m.models.map((_model, j) => {
      const v = m.accuracy[i][j];
      const text = `${v === null ? '–' : (100 * v).toFixed(1)}${m.randomizedSingle[i][j] ? '†' : ''}`;
      const rel = m.relation[i][j];
      return rel === 'same' ? `**${text}**` : rel === 'weights' ? `*${text}*` : text;
    });
    return `| ${m.sources[i]} | ${cells.join(' | ')} |`;
  });
  return [head, rule, ...lines].join('\n');
}

/** How to read the transfer matrix (summary.md, the report, the README). */
export function transferMatrixLegend(m: TransferMatrix): string {
  return (
    'Accuracy (%) of each target model (columns) on the images crafted white-box with PGD on each surrogate (rows), ' +
    'as the API receives them (8-bit). **Bold**: the same model (white-box). *Italic*: the same weights behind a ' +
    'randomized preprocessor (`_3`/`_4`) the attack did not model: a white-box attack on the weights, not a transfer. ' +
    `Randomized targets: the plurality vote over ${m.eotDraws} seeded draws per image (EOT; ties to the larger summed ` +
    'probability), † where only one draw was measured.'
  );
}

function fixed(v: number | null, digits: number): string {
  return v === null ? '' : v.toFixed(digits);
}

function sig(v: number | null): string {
  return v === null ? '' : String(Number(v.toPrecision(5)));
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function summaryCsv(rows: readonly SummaryRow[]): string {
  const withSet = rows.some((r) => r.set !== undefined);
  const cols = withSet ? ['model', 'set', ...SUMMARY_COLUMNS.slice(1)] : SUMMARY_COLUMNS;
  const lines = [cols.join(',')];
  for (const r of rows) {
    lines.push(
      [
        r.model,
        ...(withSet ? [r.set ?? ''] : []),
        r.attack,
        String(r.n),
        fixed(r.clean_accuracy, 4),
        fixed(r.robust_accuracy, 4),
        fixed(r.success_rate, 4),
        sig(r.median_queries),
        sig(r.median_l2),
        sig(r.median_linf),
        String(r.errors),
        fixed(r.eot_success_rate, 4),
        fixed(r.eot_vote_accuracy, 4),
        fixed(r.robust_ci95_low, 4),
        fixed(r.robust_ci95_high, 4),
      ]
        .map(csvCell)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

function pct(v: number | null): string {
  return v === null ? '–' : `${(100 * v).toFixed(1)} %`;
}

/** Robust accuracy with its 95 % interval: "70.5 % [67.6, 73.3]". */
export function pctWithInterval(r: SummaryRow): string {
  if (r.robust_accuracy === null) return '–';
  if (r.robust_ci95_low === null || r.robust_ci95_high === null) return pct(r.robust_accuracy);
  return `${pct(r.robust_accuracy)} [${(100 * r.robust_ci95_low).toFixed(1)}, ${(100 * r.robust_ci95_high).toFixed(1)}]`;
}

function num(v: number | null): string {
  return v === null ? '–' : sig(v);
}

export interface SummaryContext {
  name: string;
  /** rows expected for this output (a shard's share, or the whole experiment) */
  expected: number;
  present: number;
  notes?: string[];
  /** experiments over adversarial sets with the `none` attack (transferMatrix) */
  matrix?: TransferMatrix | null;
  /** further sections (AutoAttack's table, certified accuracy), empty when they do not apply */
  sections?: string[];
}

/** A custom model's ID (`custom/<id>`, `custom/<id>/3`, …) read as arch 'custom' and its defense. */
function customModelOf(id: string): Pick<ModelInfo, 'arch' | 'defense'> | null {
  if (customIdOf(id) === null) return null;
  const suffix = id.split('/')[2];
  const variant = CUSTOM_VARIANTS.find((v) => v.suffix === suffix);
  return { arch: 'custom', defense: variant ? variant.defense : 'none' };
}

export function modelLabel(id: string): string {
  const m = getModel(id) ?? customModelOf(id);
  if (!m) return id;
  const arch = { cnn: 'CNN', resnet18: 'ResNet18', vit: 'ViT', custom: 'your model' }[m.arch];
  return m.defense === 'none' ? `${arch} (vanilla)` : `${arch} + ${m.defense}`;
}

export function summaryMarkdown(rows: readonly SummaryRow[], ctx: SummaryContext): string {
  const out: string[] = [`# Experiment \`${ctx.name}\``, ''];
  if (ctx.present < ctx.expected) {
    out.push(
      `**Incomplete:** ${ctx.present} of ${ctx.expected} rows present (resume the run, or merge the other shards).`,
      '',
    );
  }
  if (ctx.matrix) {
    out.push(
      '## Transfer matrix',
      '',
      transferMatrixLegend(ctx.matrix),
      '',
      transferMatrixMarkdown(ctx.matrix),
      '',
      '## All groups',
      '',
    );
  }
  const withSet = rows.some((r) => r.set !== undefined);
  out.push(
    `| model |${withSet ? ' set |' : ''} attack | n | clean accuracy | robust accuracy | success rate | median queries | median L2 | median L∞ | errors | EOT success rate | EOT vote accuracy |`,
    `|---|${withSet ? '---|' : ''}---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
  );
  for (const r of rows) {
    out.push(
      `| ${r.model} (${modelLabel(r.model)}) |${withSet ? ` ${r.set ?? ''} |` : ''} \`${r.attack}\` | ${r.n} | ${pct(r.clean_accuracy)} | ${pctWithInterval(r)} | ` +
        `${pct(r.success_rate)} | ${num(r.median_queries)} | ${num(r.median_l2)} | ${num(r.median_linf)} | ${r.errors} | ${pct(r.eot_success_rate)} | ${pct(r.eot_vote_accuracy)} |`,
    );
  }
  out.push(
    '',
    'robust accuracy: share of all images still classified correctly after the attack (already misclassified images count as not robust), with its 95 % Clopper–Pearson interval over the n images in brackets; ' +
      'success rate: share of the correctly classified images the attack flipped; medians over the flipped images; ' +
      'distances in [0,1] pixel units on the 8-bit grid. EOT success rate (randomized defenses): share of fresh seeded defense draws ' +
      `(${EOT_DRAWS} per image; \`none\` rows: its \`eot_draws\`) that misclassify the final image, averaged over the correctly classified images; ` +
      'EOT vote accuracy (randomized defenses, `none` rows): share of all images whose plurality class over those draws is the true class. ' +
      'With adversarial sets, "clean" is the set\'s image as given.',
  );
  for (const s of ctx.sections ?? []) if (s) out.push('', s.trimEnd());
  for (const n of ctx.notes ?? []) out.push('', n);
  return `${out.join('\n')}\n`;
}
