/**
 * AutoAttack's table for an experiment's `autoattack` rows: per model, the clean accuracy, the
 * robust accuracy after each stage (cumulative, as autoattack.py prints it), the final robust
 * accuracy with its 95 % Clopper–Pearson interval over the test images, and the flags of the checks
 * (Square's from the rows: it broke more than 0.2 % of the images the gradient stages left).
 */

import { type AutoAttackStage, autoAttackStages } from '../../src/attacks/autoattack';
import { FLAG_ADVICE, type FlagCode, squareCheck } from '../../src/attacks/autoattack-checks';
import { clopperPearson } from '../../src/core/intervals';
import type { ResolvedConfig } from './config';
import type { ResultRow } from './rows';
import { latestRows } from './summary';

export interface AutoAttackSummary {
  model: string;
  attack: string;
  version: 'standard' | 'rand' | 'mixed';
  n: number;
  clean_accuracy: number;
  /** robust accuracy after each stage, in order */
  stages: { stage: AutoAttackStage; robust_accuracy: number }[];
  robust_accuracy: number;
  /** 95 % Clopper–Pearson interval of the robust accuracy */
  ci95: [number, number];
  flags: FlagCode[];
  eot: number;
}

/** One entry per (model, autoattack attack) with rows, in config order. */
export function autoAttackSummaries(
  resolved: ResolvedConfig,
  rows: readonly ResultRow[],
): AutoAttackSummary[] {
  const latest = [...latestRows(rows).values()].filter((r) => r.error === undefined && r.set === undefined);
  const out: AutoAttackSummary[] = [];
  for (const a of resolved.attacks.filter((x) => x.type === 'autoattack')) {
    const norm = (a.whiteBox?.options.norm ?? 'linf') as 'linf' | 'l2';
    for (const model of resolved.models) {
      const group = latest.filter((r) => r.model === model && r.attack === a.key);
      if (group.length === 0) continue;
      const versions = new Set(group.map((r) => r.version).filter((v) => v !== undefined));
      const version = versions.size === 1 ? [...versions][0]! : versions.size === 0 ? 'standard' : 'mixed';
      const n = group.length;
      const correct = group.filter((r) => r.clean_pred === r.label);
      const stages = autoAttackStages(version === 'rand' ? 'rand' : 'standard', norm);
      let robust = correct.length;
      const perStage = stages.map((stage) => {
        robust -= correct.filter((r) => r.broken_by === stage).length;
        return { stage, robust_accuracy: robust / n };
      });
      const finalRobust = correct.filter((r) => r.success !== true).length;
      const flags = new Set<FlagCode>();
      for (const r of group) for (const f of r.flags ?? []) flags.add(f as FlagCode);
      const sq = stages.indexOf('square');
      if (sq > 0) {
        const before = Math.round(perStage[sq - 1].robust_accuracy * n);
        if (squareCheck(before, Math.round(perStage[sq].robust_accuracy * n), n))
          flags.add('square_beats_whitebox');
      }
      out.push({
        model,
        attack: a.key,
        version,
        n,
        clean_accuracy: correct.length / n,
        stages: perStage,
        robust_accuracy: finalRobust / n,
        ci95: clopperPearson(finalRobust, n, 0.05),
        flags: [...flags],
        eot: version === 'standard' ? 1 : Number(a.whiteBox?.options.eot ?? 20),
      });
    }
  }
  return out;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}`;
const STAGE_LABEL: Record<AutoAttackStage, string> = {
  'apgd-ce': 'APGD-CE',
  'apgd-dlr': 'APGD-DLR',
  'apgd-t': 'APGD-T',
  'fab-t': 'FAB-T',
  square: 'Square',
};

/** One line per entry: the stages as "APGD-CE 71.2 → APGD-T 69.8 → …". */
export function stagePath(s: AutoAttackSummary): string {
  return s.stages.map((x) => `${STAGE_LABEL[x.stage]} ${pct(x.robust_accuracy)}`).join(' → ');
}

/** The AutoAttack section of summary.md (empty without autoattack rows). */
export function autoAttackMarkdown(list: readonly AutoAttackSummary[]): string {
  if (list.length === 0) return '';
  const out = [
    '## AutoAttack',
    '',
    '| model | version | n | clean accuracy | robust accuracy after each stage (%) | AutoAttack robust accuracy | 95 % interval | flags |',
    '|---|---|---:|---:|---|---:|---:|---|',
  ];
  for (const s of list)
    out.push(
      `| ${s.model} | ${s.version}${s.version === 'rand' ? ` (EOT ${s.eot})` : ''} | ${s.n} | ${pct(s.clean_accuracy)} % | ${stagePath(s)} | ` +
        `**${pct(s.robust_accuracy)} %** | ${pct(s.ci95[0])}–${pct(s.ci95[1])} % | ${s.flags.join(', ') || '–'} |`,
    );
  const flags = [...new Set(list.flatMap((s) => s.flags))];
  out.push(
    '',
    "Each stage runs on the images the stages before it left robust; an image counts as broken when the stage's image, on the 8-bit grid inside the ε-ball, is misclassified by a plain forward pass. " +
      'The rand version (randomized defenses) averages each gradient over EOT draws and checks the final image with one draw. ' +
      'Interval: Clopper–Pearson over the test images. An attack that fails proves nothing: these are upper bounds on the true robust accuracy.',
  );
  for (const f of flags) out.push('', `- \`${f}\`: ${FLAG_ADVICE[f]}.`);
  return `${out.join('\n')}\n`;
}

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The AutoAttack section of report.html: robust accuracy per stage, the interval and the flags. */
export function autoAttackHtml(list: readonly AutoAttackSummary[]): string {
  if (list.length === 0) return '';
  const stages = [...new Set(list.flatMap((s) => s.stages.map((x) => x.stage)))];
  const out = [
    '<h2>AutoAttack</h2><div class="scroll"><table><thead><tr><th>model</th><th>version</th><th>n</th><th>clean acc.</th>',
    ...stages.map((st) => `<th>after ${STAGE_LABEL[st]}</th>`),
    '<th>robust acc.</th><th>95 % interval</th><th>flags</th></tr></thead><tbody>',
  ];
  for (const s of list) {
    const cell = (st: AutoAttackStage) => {
      const v = s.stages.find((x) => x.stage === st);
      return `<td>${v ? `${pct(v.robust_accuracy)} %` : '–'}</td>`;
    };
    out.push(
      `<tr><td>${esc(s.model)}</td><td>${s.version}${s.version === 'rand' ? ` (EOT ${s.eot})` : ''}</td><td>${s.n}</td><td>${pct(s.clean_accuracy)} %</td>` +
        `${stages.map(cell).join('')}<td><b>${pct(s.robust_accuracy)} %</b></td><td>${pct(s.ci95[0])}–${pct(s.ci95[1])} %</td>` +
        `<td class="key">${s.flags.map((f) => `<code title="${esc(FLAG_ADVICE[f])}">${f}</code>`).join(' ') || '–'}</td></tr>`,
    );
  }
  out.push(
    '</tbody></table></div>',
    '<p class="muted">Robust accuracy after each stage, cumulative: each stage attacks the images the stages before it left robust. ' +
      "Broken means the stage's image, on the 8-bit grid inside the ε-ball, is misclassified by a plain forward pass. Interval: Clopper–Pearson over the test images. " +
      'These are upper bounds on the true robust accuracy (an attack that fails proves nothing).</p>',
  );
  const flags = [...new Set(list.flatMap((s) => s.flags))];
  if (flags.length)
    out.push(`<ul>${flags.map((f) => `<li><code>${f}</code>: ${esc(FLAG_ADVICE[f])}.</li>`).join('')}</ul>`);
  return out.join('\n');
}
