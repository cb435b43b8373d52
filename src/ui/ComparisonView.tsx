/** Side-by-side results for every selected model (decision cards or score charts). */
import { trueLabelOf, useImageStore } from '../stores/imageStore';
import { useResultsStore } from '../stores/resultsStore';
import { ComparisonToolbar } from './ComparisonToolbar';
import { ResultCard } from './ResultCard';
import { useTargets } from './targets';

export function ComparisonView() {
  const targets = useTargets();
  const mode = useResultsStore((s) => s.mode);
  const trueLabel = useImageStore((s) => trueLabelOf(s.source));
  const anyRandomized = targets.some((t) => t.randomized);

  return (
    <section
      className="panel comparison"
      aria-labelledby="comparison-heading"
      data-testid="results"
      data-mode={mode}
    >
      <div className="panel__header">
        <h2 id="comparison-heading" className="panel__title">
          Comparison
        </h2>
        <ComparisonToolbar anyRandomized={anyRandomized} />
      </div>
      {targets.length === 0 ? (
        <div className="empty" data-testid="results-empty">
          <p>No models selected.</p>
          <p className="muted">Pick models in the grid above — or a preset: a row, a column, or all 15.</p>
        </div>
      ) : (
        <div className={`cards cards--${mode}`}>
          {targets.map((t) => (
            <ResultCard key={t.key} target={t} mode={mode} trueLabel={trueLabel} />
          ))}
        </div>
      )}
    </section>
  );
}
