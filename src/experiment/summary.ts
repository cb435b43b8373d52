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
import { getModel } from '../core/models';
import type { ResolvedConfig } from './config';
import { rowKey } from './config';
import type { ResultRow } from './rows';

export interface SummaryRow {
  model: string;
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
  for (const r of rows) out.set(rowKey(r.model, r.attack, r.index), r);
  return out;
}

export function summarizeGroup(model: string, attack: string, rows: readonly ResultRow[]): SummaryRow {
  const ok = rows.filter((r) => r.error === undefined);
  const n = ok.length;
  const correct = ok.filter((r) => r.clean_pred === r.label);
  const flipped = correct.filter((r) => r.success === true);
  const eot = correct.map((r) => r.eot_success_rate).filter((v): v is number => typeof v === 'number');
  const nums = (f: (r: ResultRow) => number | null) =>
    flipped.map(f).filter((v): v is number => typeof v === 'number');
  return {
    model,
    attack,
    n,
    errors: rows.length - n,
    clean_accuracy: n ? correct.length / n : null,
    robust_accuracy: n ? (correct.length - flipped.length) / n : null,
    success_rate: correct.length ? flipped.length / correct.length : null,
    median_queries: median(nums((r) => r.queries)),
    median_l2: median(nums((r) => r.l2)),
    median_linf: median(nums((r) => r.linf)),
    eot_success_rate: eot.length ? eot.reduce((a, b) => a + b, 0) / eot.length : null,
  };
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

/** One summary row per (model, attack) of the config, in config order (groups without rows too). */
export function summarize(resolved: ResolvedConfig, rows: readonly ResultRow[]): SummaryRow[] {
  const latest = [...latestRows(rows).values()];
  const groups = new Map<string, ResultRow[]>();
  for (const r of latest) {
    const k = `${r.model}\u0000${r.attack}`;
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const out: SummaryRow[] = [];
  for (const model of resolved.models) {
    for (const a of resolved.attacks)
      out.push(summarizeGroup(model, a.key, groups.get(`${model}\u0000${a.key}`) ?? []));
  }
  return out;
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
  const lines = [SUMMARY_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push(
      [
        r.model,
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

function num(v: number | null): string {
  return v === null ? '–' : sig(v);
}

export interface SummaryContext {
  name: string;
  /** rows expected for this output (a shard's share, or the whole experiment) */
  expected: number;
  present: number;
  notes?: string[];
}

export function modelLabel(id: string): string {
  const m = getModel(id);
  if (!m) return id;
  const arch = { cnn: 'CNN', resnet18: 'ResNet18', vit: 'ViT' }[m.arch];
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
  out.push(
    '| model | attack | n | clean accuracy | robust accuracy | success rate | median queries | median L2 | median L∞ | errors | EOT success rate |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of rows) {
    out.push(
      `| ${r.model} (${modelLabel(r.model)}) | \`${r.attack}\` | ${r.n} | ${pct(r.clean_accuracy)} | ${pct(r.robust_accuracy)} | ` +
        `${pct(r.success_rate)} | ${num(r.median_queries)} | ${num(r.median_l2)} | ${num(r.median_linf)} | ${r.errors} | ${pct(r.eot_success_rate)} |`,
    );
  }
  out.push(
    '',
    'robust accuracy: share of all images still classified correctly after the attack (already misclassified images count as not robust); ' +
      'success rate: share of the correctly classified images the attack flipped; medians over the flipped images; ' +
      'distances in [0,1] pixel units on the 8-bit grid. EOT success rate (randomized defenses): share of 100 fresh defense draws ' +
      'that misclassify the final image, averaged over the correctly classified images.',
  );
  for (const n of ctx.notes ?? []) out.push('', n);
  return `${out.join('\n')}\n`;
}
