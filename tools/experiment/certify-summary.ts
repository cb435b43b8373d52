/**
 * Certified accuracy of `certify` rows (randomized smoothing): per model, the share of all images
 * whose smoothed class is the true one with a certified L2 radius of at least r (Cohen, Rosenfeld &
 * Kolter, ICML 2019, §4), at a few radii, and how often the smoothed classifier abstained. These are
 * lower bounds (each certificate holds with probability 1 − α), unlike the attacks' upper bounds.
 */
import { certifiedAccuracy } from '../../src/certify/smoothing';
import type { ResolvedConfig } from './config';
import type { ResultRow } from './rows';
import { latestRows } from './summary';

export const CERTIFY_RADII = [0, 0.1, 0.25, 0.5, 0.75, 1] as const;

export interface CertifySummary {
  model: string;
  attack: string;
  sigma: number;
  alpha: number;
  n: number;
  abstained: number;
  /** certified accuracy at each of CERTIFY_RADII */
  accuracy: number[];
}

export function certifySummaries(resolved: ResolvedConfig, rows: readonly ResultRow[]): CertifySummary[] {
  const latest = [...latestRows(rows).values()].filter(
    (r) => r.error === undefined && typeof r.radius === 'number',
  );
  const out: CertifySummary[] = [];
  for (const a of resolved.attacks.filter((x) => x.type === 'certify')) {
    for (const model of resolved.models) {
      const group = latest.filter((r) => r.model === model && r.attack === a.key);
      if (group.length === 0) continue;
      const results = group.map((r) => ({ label: r.label, prediction: r.adv_pred, radius: r.radius! }));
      out.push({
        model,
        attack: a.key,
        sigma: Number(a.params.sigma),
        alpha: Number(a.params.alpha ?? 0.001),
        n: group.length,
        abstained: group.filter((r) => r.adv_pred === null).length / group.length,
        accuracy: certifiedAccuracy(results, CERTIFY_RADII),
      });
    }
  }
  return out;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}`;
const NOTE =
  'Certified accuracy: share of all images whose smoothed classifier (the majority vote over Gaussian draws) answers the true class with a certified L2 radius of at least r ' +
  '(pixels in [0, 1]); each certificate holds with probability at least 1 − α over the draws. A floor on the robust accuracy of the smoothed classifier, where attacks give ceilings.';

export function certifyMarkdown(list: readonly CertifySummary[]): string {
  if (list.length === 0) return '';
  const out = [
    '## Certified accuracy (randomized smoothing)',
    '',
    `| model | σ | α | n | abstained | ${CERTIFY_RADII.map((r) => `r = ${r}`).join(' | ')} |`,
    `|---|---:|---:|---:|---:|${CERTIFY_RADII.map(() => '---:').join('|')}|`,
    ...list.map(
      (s) =>
        `| ${s.model} | ${s.sigma} | ${s.alpha} | ${s.n} | ${pct(s.abstained)} % | ${s.accuracy.map((v) => `${pct(v)} %`).join(' | ')} |`,
    ),
    '',
    NOTE,
  ];
  return `${out.join('\n')}\n`;
}

export function certifyHtml(list: readonly CertifySummary[]): string {
  if (list.length === 0) return '';
  return [
    '<h2>Certified accuracy (randomized smoothing)</h2><div class="scroll"><table><thead><tr><th>model</th><th>σ</th><th>α</th><th>n</th><th>abstained</th>',
    ...CERTIFY_RADII.map((r) => `<th>r = ${r}</th>`),
    '</tr></thead><tbody>',
    ...list.map(
      (s) =>
        `<tr><td>${s.model}</td><td>${s.sigma}</td><td>${s.alpha}</td><td>${s.n}</td><td>${pct(s.abstained)} %</td>${s.accuracy.map((v) => `<td>${pct(v)} %</td>`).join('')}</tr>`,
    ),
    `</tbody></table></div><p class="muted">${NOTE}</p>`,
  ].join('\n');
}
