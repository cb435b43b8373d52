/** The 3×5 model grid (architectures × defenses) with selection presets and custom pairs. */
import { ARCH_LABEL, ARCHS, DEFENSE_LABEL, DEFENSES, MODELS } from '../core/models';
import { useModelStore } from '../stores/modelStore';
import { CustomPairsEditor } from './CustomPairsEditor';
import { ModelCell } from './ModelCell';
import { DEFENSE_SHORT } from './targets';

export function ModelGrid() {
  const count = useModelStore((s) => s.selected.length);
  const pairs = useModelStore((s) => s.customPairs.length);
  const { selectArch, selectDefense, selectAll, clear } = useModelStore.getState();

  return (
    <section className="panel models-panel" aria-labelledby="models-heading">
      <div className="panel__header">
        <h2 id="models-heading" className="panel__title">
          Models{' '}
          <span className="panel__count" data-testid="selected-count">
            {count + pairs} selected
          </span>
        </h2>
        <fieldset className="button-row">
          <legend className="sr-only">Selection presets</legend>
          <button type="button" className="button button--small" onClick={selectAll} data-testid="preset-all">
            All 15
          </button>
          <button
            type="button"
            className="button button--small button--ghost"
            onClick={clear}
            data-testid="preset-clear"
          >
            Clear
          </button>
        </fieldset>
      </div>
      <p className="hint muted">
        Click a model to toggle it · a row header selects one architecture with all defenses · a column header
        selects one defense across all architectures.
      </p>
      <div className="model-grid" data-testid="model-grid">
        <span className="model-grid__corner" aria-hidden="true" />
        {DEFENSES.map((d) => (
          <button
            key={d}
            type="button"
            className="model-grid__col"
            onClick={() => selectDefense(d)}
            data-testid={`preset-defense-${d}`}
            title={`Select ${DEFENSE_LABEL[d]} for all architectures`}
            aria-label={`Select ${DEFENSE_LABEL[d]} for all architectures`}
          >
            {DEFENSE_SHORT[d]}
          </button>
        ))}
        {ARCHS.map((a) => (
          <div className="model-grid__row" key={a}>
            <button
              type="button"
              className="model-grid__rowhead"
              onClick={() => selectArch(a)}
              data-testid={`preset-arch-${a}`}
              title={`Select ${ARCH_LABEL[a]} with all defenses`}
              aria-label={`Select ${ARCH_LABEL[a]} with all defenses`}
            >
              {ARCH_LABEL[a]}
            </button>
            {MODELS.filter((m) => m.arch === a).map((m) => (
              <ModelCell key={m.id} model={m} />
            ))}
          </div>
        ))}
      </div>
      <CustomPairsEditor />
    </section>
  );
}
