/**
 * The derived outputs of an experiment as reporters behind one interface (as Playwright's
 * reporters): each renders one file from the same input (latest rows, their summary, the config).
 * `writeOutputs` (output.ts) runs them all after every run and merge.
 */
import type { TestSet } from '../../src/data/idx';
import { autoAttackMarkdown, autoAttackSummaries } from './autoattack-summary';
import { certifyMarkdown, certifySummaries } from './certify-summary';
import type { ResolvedConfig } from './config';
import { FILES } from './files';
import { renderReport } from './report';
import type { ResultRow } from './rows';
import { type SummaryRow, summaryCsv, summaryMarkdown, transferMatrix } from './summary';

export interface ReportInput {
  name: string;
  resolved: ResolvedConfig;
  /** the latest row per item */
  rows: readonly ResultRow[];
  summary: readonly SummaryRow[];
  /** rows this output should hold (a shard's share or the whole experiment) */
  expected: number;
  environment: Record<string, unknown> | null;
  /** extra lines (merged shards, timings) */
  notes: string[];
  /** the clean test set, for example images (null: none) */
  testSet: TestSet | null;
}

export interface Reporter {
  /** file name inside the output folder */
  file: string;
  render(input: ReportInput): string;
}

export const REPORTERS: readonly Reporter[] = [
  { file: FILES.summaryCsv, render: (i) => summaryCsv(i.summary) },
  {
    file: FILES.summaryMd,
    render: (i) =>
      summaryMarkdown(i.summary, {
        name: i.name,
        expected: i.expected,
        present: i.rows.length,
        notes: i.notes,
        matrix: transferMatrix(i.resolved, i.summary),
        sections: [
          autoAttackMarkdown(autoAttackSummaries(i.resolved, i.rows)),
          certifyMarkdown(certifySummaries(i.resolved, i.rows)),
        ],
      }),
  },
  { file: FILES.report, render: (i) => renderReport(i) },
];
