/** How N independent draws of a randomized defense decided: one bar per class that got votes. */
import { CLASS_NAMES_DE, CLASS_NAMES_EN } from '../core/labels';

export function DecisionDistribution({ counts, trueLabel }: { counts: number[]; trueLabel: number | null }) {
  const total = counts.reduce((a, b) => a + b, 0);
  const rows = counts
    .map((count, cls) => ({ cls, count }))
    .filter((r) => r.count > 0)
    .sort((a, b) => b.count - a.count);
  return (
    <div className="distribution" data-testid="result-distribution" data-total={total}>
      <p className="distribution__title">
        Decisions over <strong>{total}</strong> draws
      </p>
      <ul>
        {rows.map((r) => (
          <li
            key={r.cls}
            className={`distribution__row ${r.cls === trueLabel ? 'is-true' : ''}`}
            data-testid="distribution-row"
            data-class={r.cls}
            data-count={r.count}
            title={`API: ${CLASS_NAMES_DE[r.cls]}`}
          >
            <span className="distribution__name">
              {CLASS_NAMES_EN[r.cls]}
              {r.cls === trueLabel && <span className="sr-only"> (true class)</span>}
            </span>
            <span className="distribution__bar" aria-hidden="true">
              <span style={{ width: `${(r.count / total) * 100}%` }} />
            </span>
            <span className="distribution__count">
              {r.count}/{total}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}
