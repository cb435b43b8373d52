/**
 * `report.html`: one self-contained file (inline CSS, inline SVG charts, PNG data URLs; no external
 * requests) with the summary table, robust accuracy per model grouped by architecture and defense,
 * success rate vs query budget, perturbation-size distributions and example adversarial images;
 * for experiments over adversarial sets, the transfer matrix as a heat map.
 */
import { decodeBase64 } from '../../src/core/base64';
import { CLASS_NAMES_EN } from '../../src/core/labels';
import { ARCH_LABEL, type Arch, DEFENSE_LABEL, type Defense, getModel } from '../../src/core/models';
import { imageAt } from '../../src/data/idx';
import { autoAttackHtml, autoAttackSummaries } from './autoattack-summary';
import { certifyHtml, certifySummaries } from './certify-summary';
import type { ResolvedAttack } from './config';
import { pngDataUrl } from './png';
import type { ReportInput } from './reporters';
import type { ResultRow } from './rows';
import {
  median,
  modelLabel,
  pctWithInterval,
  robustAccuracyCurve,
  type SummaryRow,
  type TransferMatrix,
  transferMatrix,
  transferMatrixLegend,
} from './summary';

function esc(s: unknown): string {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const DEFENSE_COLOR: Record<Defense, string> = {
  none: '#4c78a8',
  pgd: '#f58518',
  augment: '#54a24b',
  resize_pad: '#b279a2',
  noise: '#e45756',
  blur: '#72b7b2',
};
const DEFENSE_ORDER: Defense[] = ['none', 'pgd', 'augment', 'resize_pad', 'noise', 'blur'];
const ARCH_ORDER: Arch[] = ['cnn', 'resnet18', 'vit', 'custom'];

/**
 * One colour per model line: Tableau 10 (its grey left out, too faint as a line) and six darker
 * hues, at least 30 apart in CIELAB ΔE76. Shades of one hue per architecture were tried: the five
 * models of an architecture could not be told apart.
 */
export const SERIES_COLORS = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#000080',
  '#c51b7d',
  '#333333',
  '#808000',
  '#911eb4',
  '#800000',
];

/**
 * A model's colour (and, past the palette, a dash) in every chart of one report: by its place in
 * the report's model list, so the same model has the same colour in each chart and legend.
 */
function seriesStyle(models: readonly string[], model: string): { color: string; dash?: string } {
  const i = Math.max(0, models.indexOf(model));
  const color = SERIES_COLORS[i % SERIES_COLORS.length];
  return i < SERIES_COLORS.length ? { color } : { color, dash: i < 2 * SERIES_COLORS.length ? '6 3' : '2 2' };
}

/** An attack key, escaped, that may wrap after its commas, so the summary table fits the page. */
function breakable(key: string): string {
  return esc(key).replaceAll(',', ',<wbr>');
}

function fmt(v: number | null, digits = 3): string {
  return v === null ? '–' : String(Number(v.toPrecision(digits)));
}

function pct(v: number | null): string {
  return v === null ? '–' : `${(100 * v).toFixed(1)} %`;
}

function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const span = hi - lo;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= step0) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toPrecision(10)));
  return out;
}

function logTicks(max: number): number[] {
  const out: number[] = [];
  for (let p = 1; p <= max * 1.0001; p *= 10) out.push(p);
  return out;
}

function legend(items: { label: string; color: string; dash?: string }[]): string {
  return `<div class="legend">${items
    .map(
      (i) =>
        `<span><svg width="22" height="10"><line x1="1" y1="5" x2="21" y2="5" stroke="${i.color}" stroke-width="4"${
          i.dash ? ` stroke-dasharray="${i.dash}"` : ''
        }/></svg>${esc(i.label)}</span>`,
    )
    .join('')}</div>`;
}

// ---------------------------------------------------------------------------------------------
// charts

/** Robust accuracy of every model for one attack: bars grouped by architecture, coloured by defense. */
function robustChart(attack: ResolvedAttack, summary: readonly SummaryRow[]): string {
  const rows = summary.filter((s) => s.attack === attack.key);
  const byArch = new Map<string, SummaryRow[]>();
  for (const r of rows) {
    const m = getModel(r.model);
    const arch = m ? m.arch : 'other';
    if (!byArch.has(arch)) byArch.set(arch, []);
    byArch.get(arch)!.push(r);
  }
  const archs = [...byArch.keys()].sort(
    (a, b) => ARCH_ORDER.indexOf(a as Arch) - ARCH_ORDER.indexOf(b as Arch),
  );
  for (const a of archs) {
    byArch
      .get(a)!
      .sort(
        (x, y) =>
          DEFENSE_ORDER.indexOf(getModel(x.model)?.defense ?? 'none') -
          DEFENSE_ORDER.indexOf(getModel(y.model)?.defense ?? 'none'),
      );
  }
  const barW = 26;
  const gap = 28;
  const left = 46;
  const top = 14;
  const h = 180;
  const width = left + archs.reduce((s, a) => s + byArch.get(a)!.length * barW + gap, 0) + 10;
  const parts: string[] = [];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const y = top + h - t * h;
    parts.push(
      `<line x1="${left}" x2="${width - 6}" y1="${y}" y2="${y}" class="grid"/><text x="${left - 6}" y="${y + 4}" class="tick" text-anchor="end">${t * 100}%</text>`,
    );
  }
  let x = left + gap / 2;
  for (const a of archs) {
    const group = byArch.get(a)!;
    const x0 = x;
    for (const r of group) {
      const m = getModel(r.model);
      const v = r.robust_accuracy;
      const color = m ? DEFENSE_COLOR[m.defense] : '#888';
      if (v !== null) {
        const bh = v * h;
        parts.push(
          `<rect x="${x + 2}" y="${top + h - bh}" width="${barW - 4}" height="${bh}" fill="${color}"><title>${esc(
            `${r.model} (${modelLabel(r.model)}): robust ${pct(v)}, clean ${pct(r.clean_accuracy)}, n ${r.n}`,
          )}</title></rect>`,
          `<text x="${x + barW / 2}" y="${top + h - bh - 3}" class="val" text-anchor="middle">${Math.round(100 * v)}</text>`,
        );
      } else {
        parts.push(`<text x="${x + barW / 2}" y="${top + h - 3}" class="val" text-anchor="middle">–</text>`);
      }
      parts.push(
        `<text x="${x + barW / 2}" y="${top + h + 13}" class="tick" text-anchor="middle">${esc(r.model)}</text>`,
      );
      x += barW;
    }
    const label = ARCH_LABEL[a as Arch] ?? a;
    parts.push(
      `<text x="${(x0 + x) / 2}" y="${top + h + 30}" class="axis" text-anchor="middle">${esc(label)}</text>`,
    );
    x += gap;
  }
  parts.push(`<line x1="${left}" x2="${width - 6}" y1="${top + h}" y2="${top + h}" class="axisline"/>`);
  return `<svg width="${width}" height="${top + h + 40}" role="img" aria-label="robust accuracy, ${esc(attack.key)}">${parts.join('')}</svg>`;
}

interface Series {
  label: string;
  color: string;
  dash?: string;
  points: [number, number][];
}

function lineChart(
  series: Series[],
  opts: {
    xMax: number;
    yMax: number;
    yLabel: string;
    xLabel: string;
    yPercent?: boolean;
    step?: boolean;
    /** linear x axis from 0 (default: log scale from 1) */
    xLinear?: boolean;
  },
): string {
  const left = 52;
  const top = 10;
  const w = 460;
  const h = 200;
  const lx = (q: number) =>
    opts.xLinear
      ? left + (q / opts.xMax) * w
      : left + (Math.log10(Math.max(1, q)) / Math.log10(Math.max(10, opts.xMax))) * w;
  const ly = (v: number) => top + h - (opts.yMax > 0 ? (v / opts.yMax) * h : 0);
  const parts: string[] = [];
  const yt = opts.yPercent ? [0, 0.25, 0.5, 0.75, 1] : niceTicks(0, opts.yMax);
  for (const t of yt) {
    parts.push(
      `<line x1="${left}" x2="${left + w}" y1="${ly(t)}" y2="${ly(t)}" class="grid"/><text x="${left - 6}" y="${ly(t) + 4}" class="tick" text-anchor="end">${
        opts.yPercent ? `${Math.round(t * 100)}%` : fmt(t)
      }</text>`,
    );
  }
  for (const t of opts.xLinear ? niceTicks(0, opts.xMax) : logTicks(Math.max(10, opts.xMax))) {
    parts.push(
      `<line x1="${lx(t)}" x2="${lx(t)}" y1="${top}" y2="${top + h}" class="grid"/><text x="${lx(t)}" y="${top + h + 14}" class="tick" text-anchor="middle">${opts.xLinear ? fmt(t) : t}</text>`,
    );
  }
  for (const s of series) {
    if (s.points.length === 0) continue;
    let d = '';
    s.points.forEach(([q, v], i) => {
      const X = lx(q).toFixed(1);
      const Y = ly(v).toFixed(1);
      if (i === 0) d += `M${X},${Y}`;
      else if (opts.step) d += `H${X}V${Y}`;
      else d += `L${X},${Y}`;
    });
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}><title>${esc(s.label)}</title></path>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${left + w}" y1="${top + h}" y2="${top + h}" class="axisline"/>`,
    `<text x="${left + w / 2}" y="${top + h + 32}" class="axis" text-anchor="middle">${esc(opts.xLabel)}</text>`,
    `<text transform="translate(12 ${top + h / 2}) rotate(-90)" class="axis" text-anchor="middle">${esc(opts.yLabel)}</text>`,
  );
  return `<svg width="${left + w + 12}" height="${top + h + 40}" role="img">${parts.join('')}</svg>`;
}

/**
 * The transfer matrix as an SVG heat map: surrogates (rows) × targets (columns), accuracy in % in
 * each cell, colour from red (0 %) through yellow to green (100 %); the same model (white-box)
 * outlined solid, the same weights behind a randomized preprocessor dashed; † a single draw.
 */
export function heatMap(m: TransferMatrix): string {
  const cw = 46;
  const ch = 26;
  const left = 64;
  const top = 64;
  const w = left + cw * m.models.length + 8;
  const h = top + ch * m.sets.length + 8;
  const out: string[] = [
    `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="transfer matrix heat map">`,
  ];
  m.models.forEach((model, j) => {
    const x = left + cw * j + cw / 2;
    out.push(
      `<text class="tick" transform="translate(${x + 4},${top - 6}) rotate(-55)">${esc(model)}${getModel(model) && m.eot.some((row) => row[j]) ? ' (EOT)' : ''}</text>`,
    );
  });
  m.sets.forEach((_, i) => {
    const y = top + ch * i + ch / 2 + 4;
    out.push(
      `<text class="tick" x="${left - 6}" y="${y}" text-anchor="end">from ${esc(m.sources[i])}</text>`,
    );
    m.models.forEach((model, j) => {
      const v = m.accuracy[i][j];
      const x = left + cw * j;
      const y0 = top + ch * i;
      const fill = v === null ? '#eee' : `hsl(${Math.round(120 * v)},70%,${v < 0.25 ? 58 : 72}%)`;
      const rel = m.relation[i][j];
      const outline =
        rel === 'same'
          ? ' stroke="#222" stroke-width="2"'
          : rel === 'weights'
            ? ' stroke="#222" stroke-width="1.5" stroke-dasharray="3 2"'
            : '';
      const note =
        (m.eot[i][j]
          ? ` (EOT plurality vote over ${m.eotDraws} draws)`
          : m.randomizedSingle[i][j]
            ? ' (one draw)'
            : '') +
        (rel === 'same'
          ? '; white-box'
          : rel === 'weights'
            ? '; same weights, preprocessor not attacked'
            : '');
      out.push(
        `<rect x="${x}" y="${y0}" width="${cw - 2}" height="${ch - 2}" fill="${fill}"${outline}>` +
          `<title>${esc(`${m.sets[i]} → ${model}: ${v === null ? 'no rows' : `${(100 * v).toFixed(1)} %`}${note}`)}</title></rect>`,
        `<text class="val" x="${x + (cw - 2) / 2}" y="${y0 + ch / 2 + 2}" text-anchor="middle">${v === null ? '–' : (100 * v).toFixed(0)}${m.randomizedSingle[i][j] ? '†' : ''}</text>`,
      );
    });
  });
  out.push(
    `<text class="axis" x="${left + (cw * m.models.length) / 2}" y="12" text-anchor="middle">target model</text>`,
    '</svg>',
  );
  return out.join('');
}

/** The norm an attack's perturbation is measured in. */
function normOf(attack: ResolvedAttack): 'l2' | 'linf' {
  const n = attack.params.norm;
  if (n === 'l2' || n === 'linf') return n;
  return attack.type === 'noise' || attack.type === 'square' ? 'linf' : 'l2';
}

/** Minimal-perturbation attacks: they always end adversarial; what matters is how close. */
const isMinNorm = (a: ResolvedAttack) => a.type === 'hopskipjump' || a.type === 'boundary';

/** The ε at which a minimal-perturbation attack counts as successful in the budget curves. */
function curveEps(attack: ResolvedAttack): number {
  return normOf(attack) === 'linf' ? 0.1 : 1.5;
}

function budgetOf(attack: ResolvedAttack, rows: readonly ResultRow[]): number {
  const q = Number(attack.params.max_queries ?? 0);
  return Math.max(q, ...rows.map((r) => r.queries ?? 0), 10);
}

/**
 * Success rate (of the correctly classified images) reached within each query budget. Attacks that
 * stop at their first success: success && queries ≤ budget. Minimal-perturbation attacks
 * (HopSkipJump, Boundary), which always end adversarial: the best distance found within the budget
 * is at most ε (L2 1.5 or L∞ 0.1, the Fashion-MNIST conventions of the attack library).
 */
function successCurves(
  attack: ResolvedAttack,
  models: readonly string[],
  rows: readonly ResultRow[],
): string {
  const max = budgetOf(attack, rows);
  const series: Series[] = [];
  const eps = curveEps(attack);
  models.forEach((model) => {
    const rs = rows.filter(
      (r) =>
        r.model === model && r.attack === attack.key && r.error === undefined && r.clean_pred === r.label,
    );
    if (rs.length === 0) return;
    const qs = rs
      .map((r): number | null => {
        if (!r.success) return null;
        if (!isMinNorm(attack)) return r.queries ?? 0;
        const hit = r.traj?.find(([, d]) => d !== null && d <= eps + 1e-9);
        return hit ? hit[0] : null;
      })
      .filter((q): q is number => q !== null)
      .sort((a, b) => a - b);
    const points: [number, number][] = [[1, 0]];
    qs.forEach((q, i) => {
      points.push([Math.max(1, q), (i + 1) / rs.length]);
    });
    points.push([max, qs.length / rs.length]);
    series.push({ label: `${model} (${modelLabel(model)})`, ...seriesStyle(models, model), points });
  });
  if (series.length === 0) return '<p class="muted">no attacked images yet</p>';
  const yLabel = isMinNorm(attack)
    ? `success rate at ${normOf(attack) === 'linf' ? 'L∞' : 'L2'} ≤ ${eps}`
    : 'success rate';
  return (
    lineChart(series, {
      xMax: max,
      yMax: 1,
      yPercent: true,
      step: true,
      xLabel: 'query budget (log scale)',
      yLabel,
    }) + legend(series)
  );
}

/**
 * Robust accuracy vs ε for a minimum-distance attack (robustAccuracyCurve): for each model the
 * share of all images whose adversarial example lies farther than ε, over ε from 0 to a little past
 * the largest distance found (L2 up to 4, L∞ up to 0.5 at most).
 */
function robustnessCurve(
  attack: ResolvedAttack,
  models: readonly string[],
  rows: readonly ResultRow[],
): string {
  const norm = normOf(attack);
  const cap = norm === 'l2' ? 4 : 0.5;
  const found = rows
    .filter((r) => r.attack === attack.key && r.success === true)
    .map((r) => (norm === 'l2' ? r.l2 : r.linf))
    .filter((v): v is number => typeof v === 'number');
  const xMax = Math.min(cap, Math.max(norm === 'l2' ? 1 : 0.1, ...found) * 1.05);
  const grid = Array.from({ length: 101 }, (_, i) => (i / 100) * xMax);
  const series: Series[] = [];
  models.forEach((model) => {
    const rs = rows.filter((r) => r.model === model && r.attack === attack.key);
    const curve = robustAccuracyCurve(rs, norm, grid);
    if (curve[0] === null) return;
    series.push({
      label: `${model} (${modelLabel(model)})`,
      ...seriesStyle(models, model),
      points: grid.map((e, i) => [e, curve[i] as number]),
    });
  });
  if (series.length === 0) return '<p class="muted">no attacked images yet</p>';
  return (
    lineChart(series, {
      xMax,
      yMax: 1,
      yPercent: true,
      xLinear: true,
      xLabel: `ε (${norm === 'l2' ? 'L2' : 'L∞'}, [0,1] pixel units)`,
      yLabel: 'robust accuracy',
    }) + legend(series)
  );
}

/** Median distance of the best adversarial found within each budget (decision attacks' trajectories). */
function distanceCurves(
  attack: ResolvedAttack,
  models: readonly string[],
  rows: readonly ResultRow[],
): string {
  const max = budgetOf(attack, rows);
  const grid: number[] = [];
  for (let e = 0; e <= Math.log10(max) + 1e-9; e += 0.1) grid.push(Math.round(10 ** e));
  const series: Series[] = [];
  let yMax = 0;
  models.forEach((model) => {
    const rs = rows.filter(
      (r) => r.model === model && r.attack === attack.key && r.traj && r.traj.length > 0,
    );
    if (rs.length === 0) return;
    const points: [number, number][] = [];
    for (const q of [...new Set(grid)]) {
      const ds = rs.map((r) => {
        let d = Number.POSITIVE_INFINITY;
        for (const [tq, td] of r.traj!) if (tq <= q && td !== null) d = td;
        return d;
      });
      const m = median(ds);
      if (m !== null && Number.isFinite(m)) {
        points.push([q, m]);
        yMax = Math.max(yMax, m);
      }
    }
    if (points.length)
      series.push({ label: `${model} (${modelLabel(model)})`, ...seriesStyle(models, model), points });
  });
  if (series.length === 0) return '';
  const norm = normOf(attack) === 'linf' ? 'L∞' : 'L2';
  return (
    lineChart(series, {
      xMax: max,
      yMax: yMax * 1.05,
      xLabel: 'query budget (log scale)',
      yLabel: `median ${norm} distance`,
    }) + legend(series)
  );
}

/** Box plots of the flipped images' perturbation size, one line per model. */
function distributionChart(
  attack: ResolvedAttack,
  models: readonly string[],
  rows: readonly ResultRow[],
): string {
  const useLinf = normOf(attack) === 'linf';
  const pick = (r: ResultRow) => (useLinf ? r.linf : r.l2);
  const data = models
    .map((model) => ({
      model,
      color: seriesStyle(models, model).color,
      values: rows
        .filter((r) => r.model === model && r.attack === attack.key && r.success === true)
        .map(pick)
        .filter((v): v is number => typeof v === 'number')
        .sort((a, b) => a - b),
    }))
    .filter((d) => d.values.length > 0);
  if (data.length === 0) return '<p class="muted">no successful adversarial examples</p>';
  const vmax = Math.max(...data.map((d) => d.values[d.values.length - 1])) * 1.05 || 1;
  const left = 170;
  const w = 380;
  const rowH = 22;
  const top = 8;
  const lx = (v: number) => left + (v / vmax) * w;
  const q = (xs: number[], p: number) => {
    const i = (xs.length - 1) * p;
    const lo = Math.floor(i);
    return xs[lo] + (xs[Math.min(xs.length - 1, lo + 1)] - xs[lo]) * (i - lo);
  };
  const parts: string[] = [];
  const h = data.length * rowH;
  for (const t of niceTicks(0, vmax)) {
    parts.push(
      `<line x1="${lx(t)}" x2="${lx(t)}" y1="${top}" y2="${top + h}" class="grid"/><text x="${lx(t)}" y="${top + h + 14}" class="tick" text-anchor="middle">${fmt(t)}</text>`,
    );
  }
  data.forEach((d, i) => {
    const y = top + i * rowH + rowH / 2;
    const [mn, q1, md, q3, mx] = [0, 0.25, 0.5, 0.75, 1].map((p) => q(d.values, p));
    parts.push(
      `<text x="${left - 8}" y="${y + 4}" class="tick" text-anchor="end">${esc(`${d.model} (${modelLabel(d.model)})`)}</text>`,
      `<line x1="${lx(mn)}" x2="${lx(mx)}" y1="${y}" y2="${y}" stroke="${d.color}"/>`,
      `<rect x="${lx(q1)}" y="${y - 7}" width="${Math.max(1, lx(q3) - lx(q1))}" height="14" fill="${d.color}" fill-opacity="0.35" stroke="${d.color}"/>`,
      `<line x1="${lx(md)}" x2="${lx(md)}" y1="${y - 8}" y2="${y + 8}" stroke="${d.color}" stroke-width="2.5"/>`,
      `<title>${esc(`${d.model}: n ${d.values.length}, median ${fmt(md)}, IQR ${fmt(q1)}–${fmt(q3)}`)}</title>`,
    );
  });
  parts.push(
    `<text x="${left + w / 2}" y="${top + h + 32}" class="axis" text-anchor="middle">${useLinf ? 'L∞' : 'L2'} perturbation of flipped images</text>`,
  );
  return `<svg width="${left + w + 20}" height="${top + h + 40}" role="img">${parts.join('')}</svg>`;
}

// ---------------------------------------------------------------------------------------------
// examples

function examples(ctx: ReportInput, model: string): string {
  if (!ctx.testSet) return '';
  const attacks = ctx.resolved.attacks.filter((a) => a.type !== 'none');
  const per = attacks.map((a) =>
    ctx.rows
      .filter((r) => r.model === model && r.attack === a.key && r.success === true && r.adv)
      .sort((x, y) => ctx.resolved.indices.indexOf(x.index) - ctx.resolved.indices.indexOf(y.index)),
  );
  const chosen: ResultRow[] = [];
  for (let round = 0; round < 4 && chosen.length < 4; round++) {
    for (const list of per) if (list[round] && chosen.length < 4) chosen.push(list[round]);
  }
  if (chosen.length === 0) return '';
  const cards = chosen.map((r) => {
    const clean = new Uint8Array(imageAt(ctx.testSet!, r.index));
    const adv = decodeBase64(r.adv!);
    const diff = new Uint8Array(784);
    let m = 0;
    for (let i = 0; i < 784; i++) m = Math.max(m, Math.abs(adv[i] - clean[i]));
    for (let i = 0; i < 784; i++) diff[i] = m ? Math.round(128 + (127 * (adv[i] - clean[i])) / m) : 128;
    const img = (px: Uint8Array, alt: string) =>
      `<img src="${pngDataUrl(px, 28, 28, 3)}" width="84" height="84" alt="${esc(alt)}">`;
    const name = (c: number | null) => (c === null ? '?' : (CLASS_NAMES_EN[c] ?? String(c)));
    return `<figure>${img(clean, 'clean')}${img(adv, 'adversarial')}${img(diff, 'difference')}<figcaption><code>${esc(
      r.attack.split(':')[0],
    )}</code> #${r.index}: ${esc(name(r.label))} → <b>${esc(name(r.adv_pred))}</b><br>L2 ${fmt(r.l2)} · L∞ ${fmt(r.linf)} · ${r.queries} q</figcaption></figure>`;
  });
  return `<h3>${esc(model)} · ${esc(modelLabel(model))}</h3><div class="examples">${cards.join('')}</div>`;
}

// ---------------------------------------------------------------------------------------------

function envLine(env: Record<string, unknown> | null): string {
  if (!env) return '';
  const e = env as {
    mode?: string;
    browser?: { version?: string };
    backend?: { active?: string; threads?: number };
    endpoint?: string;
    git?: { commit?: string | null; dirty?: boolean | null };
    machine?: { cpu?: string; cores?: number };
  };
  const bits: string[] = [];
  if (e.mode === 'browser') {
    bits.push(
      `in-browser: Chromium ${esc(e.browser?.version ?? '?')}, ${esc(e.backend?.active ?? '?')} backend, ${esc(e.backend?.threads ?? '?')} thread(s)`,
    );
  } else if (e.mode === 'endpoint') {
    bits.push(`HTTP endpoint ${esc(e.endpoint)}`);
  } else if (e.mode === 'native') {
    const rt = (env as { runtime?: { version?: string; threads?: number } }).runtime;
    bits.push(
      `native: onnxruntime-node ${esc(rt?.version ?? '?')}, ${esc(rt?.threads ?? '?')} thread(s), API router in-process`,
    );
  }
  if (e.git?.commit) bits.push(`commit ${esc(e.git.commit.slice(0, 10))}${e.git.dirty ? ' (dirty)' : ''}`);
  if (e.machine?.cpu) bits.push(`${esc(e.machine.cores)} × ${esc(e.machine.cpu)}`);
  return bits.join(' · ');
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1180px;padding:0 16px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
.muted{color:#667}.scroll{overflow-x:auto}.warn{background:#fff4d6;border:1px solid #f0c36d;padding:8px 12px;border-radius:6px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{padding:4px 8px;border-bottom:1px solid #e4e6ee;text-align:right;white-space:nowrap}
th{background:#f4f5f9;position:sticky;top:0;white-space:normal;vertical-align:bottom}td.key{white-space:normal}td:nth-child(1),td:nth-child(2),th:nth-child(1),th:nth-child(2){text-align:left}
code{font-size:12px;background:#f3f4f8;padding:1px 4px;border-radius:3px}
.grid{stroke:#e6e8ef}.axisline{stroke:#889}.tick{font-size:10.5px;fill:#556}.axis{font-size:12px;fill:#334}.val{font-size:10px;fill:#334}
.charts{display:flex;flex-wrap:wrap;gap:18px 36px}.chart{min-width:300px}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;margin:2px 0 10px;max-width:560px}.legend span{display:inline-flex;align-items:center;gap:4px}
.examples{display:flex;flex-wrap:wrap;gap:14px}figure{margin:0;padding:8px;border:1px solid #e4e6ee;border-radius:6px}
figure img{image-rendering:pixelated;margin-right:4px;border:1px solid #ccd}figcaption{font-size:12px;margin-top:4px}
`;

export function renderReport(ctx: ReportInput): string {
  const { resolved, summary } = ctx;
  const present = new Set(ctx.rows.map((r) => `${r.model}|${r.attack}|${r.index}|${r.set ?? ''}`)).size;
  const matrix = transferMatrix(resolved, summary);
  const withSet = resolved.sets.length > 0;
  const models = resolved.models;
  const out: string[] = [];
  out.push(
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    `<meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(ctx.name)} · robustness experiment</title>`,
    `<style>${CSS}</style></head><body>`,
    `<h1>Experiment <code>${esc(ctx.name)}</code></h1>`,
    `<p class="muted">${models.length} model(s) × ${withSet ? `${resolved.sets.length} adversarial set(s) × ` : ''}${resolved.attacks.length} attack(s) × ${resolved.indices.length} test image(s), ` +
      `EOT ${resolved.config.eot}, seed ${resolved.config.seed}. ${envLine(ctx.environment)}</p>`,
  );
  if (present < ctx.expected) {
    out.push(
      `<p class="warn">Incomplete: ${present} of ${ctx.expected} rows present. Resume the run, or merge the other shards.</p>`,
    );
  }
  for (const n of ctx.notes) out.push(`<p class="muted">${esc(n)}</p>`);

  if (matrix) {
    out.push(
      '<h2>Transfer matrix</h2>',
      `<p class="muted">${esc(
        transferMatrixLegend(matrix)
          .replace(/\*\*(.+?)\*\*/g, '$1')
          .replace(/\*(.+?)\*/g, '$1')
          .replace(/`/g, ''),
      )} In the heat map: solid outline = same model, dashed = same weights.</p>`,
      heatMap(matrix),
    );
  }

  // table
  out.push(
    `<h2>Summary</h2><div class="scroll"><table><thead><tr><th>model</th>${withSet ? '<th>set</th>' : ''}<th>attack</th><th>n</th><th>clean acc.</th><th>robust acc.</th><th>success rate</th>` +
      '<th>median queries</th><th>median L2</th><th>median L∞</th><th>errors</th><th>EOT success</th><th>EOT vote acc.</th></tr></thead><tbody>',
  );
  for (const r of summary) {
    out.push(
      `<tr><td>${esc(r.model)} <span class="muted">${esc(modelLabel(r.model))}</span></td>${withSet ? `<td>${esc(r.set ?? '')}</td>` : ''}<td class="key"><code>${breakable(r.attack)}</code></td><td>${r.n}</td>` +
        `<td>${pct(r.clean_accuracy)}</td><td>${esc(pctWithInterval(r))}</td><td>${pct(r.success_rate)}</td><td>${fmt(r.median_queries, 5)}</td>` +
        `<td>${fmt(r.median_l2, 4)}</td><td>${fmt(r.median_linf, 4)}</td><td>${r.errors}</td><td>${pct(r.eot_success_rate)}</td><td>${pct(r.eot_vote_accuracy)}</td></tr>`,
    );
  }
  out.push(
    '</tbody></table></div>',
    '<p class="muted">Robust accuracy: share of all images still classified correctly after the attack (already misclassified images count as not robust), with its 95 % Clopper–Pearson interval over the images in brackets. ' +
      'Success rate: share of the correctly classified images the attack flipped. Medians over the flipped images; distances in [0,1] pixel units ' +
      'on the 8-bit grid the API transmits. EOT success (randomized defenses): share of 100 fresh defense draws that misclassify the final image, averaged over the correctly classified images.</p>',
  );

  out.push(autoAttackHtml(autoAttackSummaries(resolved, ctx.rows)));
  out.push(certifyHtml(certifySummaries(resolved, ctx.rows)));

  // robust accuracy per model, grouped by architecture and defense (with sets: the heat map above)
  if (!withSet) {
    out.push('<h2>Robust accuracy per model</h2>');
    const defensesUsed = DEFENSE_ORDER.filter((d) => models.some((m) => getModel(m)?.defense === d));
    out.push(legend(defensesUsed.map((d) => ({ label: DEFENSE_LABEL[d], color: DEFENSE_COLOR[d] }))));
    out.push('<div class="charts">');
    for (const a of resolved.attacks) {
      // a minimum-distance attack flips every image it starts on (0 % robust at its budget): its
      // robustness is the distance, shown as robust accuracy vs ε
      out.push(
        isMinNorm(a)
          ? `<div class="chart"><h3><code>${esc(a.key)}</code>: robust accuracy vs ε</h3>${robustnessCurve(a, models, ctx.rows)}</div>`
          : `<div class="chart"><h3><code>${esc(a.key)}</code>${a.type === 'none' ? ' (clean accuracy)' : ''}</h3>${robustChart(a, summary)}</div>`,
      );
    }
    out.push('</div>');
  }

  const attacked = resolved.attacks.filter((a) => a.type !== 'none');
  if (attacked.length) {
    out.push('<h2>Success rate vs query budget</h2><div class="charts">');
    for (const a of attacked) {
      const dist = isMinNorm(a) ? distanceCurves(a, models, ctx.rows) : '';
      out.push(
        `<div class="chart"><h3><code>${esc(a.key)}</code></h3>${successCurves(a, models, ctx.rows)}</div>`,
      );
      if (dist)
        out.push(
          `<div class="chart"><h3><code>${esc(a.key)}</code>: median distance vs budget</h3>${dist}</div>`,
        );
    }
    out.push('</div><h2>Perturbation size of the successful adversarial examples</h2><div class="charts">');
    for (const a of attacked)
      out.push(
        `<div class="chart"><h3><code>${esc(a.key)}</code></h3>${distributionChart(a, models, ctx.rows)}</div>`,
      );
    out.push('</div>');
    const ex = models.map((m) => examples(ctx, m)).join('');
    out.push('<h2>Example adversarial images</h2>');
    out.push(
      ex
        ? `<p class="muted">clean · adversarial · difference (scaled to its largest change, grey = 0)</p>${ex}`
        : '<p class="muted">none yet</p>',
    );
  }
  out.push(
    `<p class="muted">Generated ${esc(new Date().toISOString())} by <code>npm run experiment</code>.</p></body></html>`,
  );
  return out.join('\n');
}
