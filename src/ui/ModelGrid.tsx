/**
 * The 3×5 model grid (architectures × defenses) with selection presets and custom pairs; each
 * uploaded model adds a row (itself, and its resize & pad and Gaussian noise variants).
 */
import type { CustomModelEntry } from '../core/custom-models';
import { ARCH_LABEL, ARCHS, DEFENSE_LABEL, DEFENSES, MODELS } from '../core/models';
import { useCustomModelStore } from '../stores/customModelStore';
import { useModelStore } from '../stores/modelStore';
import { CustomPairsEditor } from './CustomPairsEditor';
import { customModelInfoList } from './customModels';
import { ModelCell } from './ModelCell';
import { DEFENSE_SHORT } from './targets';

/** An uploaded model's row: the columns it has (vanilla, resize & pad, noise), blanks for the rest. */
function CustomRow({ entry }: { entry: CustomModelEntry }) {
  const infos = customModelInfoList([entry]);
  const setSelected = useModelStore((s) => s.setSelected);
  return (
    <div className="model-grid__row" data-testid={`model-row-custom-${entry.id}`}>
      <button
        type="button"
        className="model-grid__rowhead model-grid__rowhead--custom"
        onClick={() => setSelected(infos.filter((m) => m.defense !== 'blur').map((m) => m.id))}
        title={`Select your model ${entry.fileName} with its defended variants`}
        aria-label={`Select your model ${entry.id} with its defended variants`}
      >
        {entry.id}
      </button>
      {DEFENSES.map((d) => {
        const m = infos.find((i) => i.defense === d);
        return m ? (
          <ModelCell key={d} model={m} />
        ) : (
          <span key={d} className="model-grid__blank muted" title="not a variant of uploaded models">
            –
          </span>
        );
      })}
    </div>
  );
}

export function ModelGrid() {
  const count = useModelStore((s) => s.selected.length);
  const pairs = useModelStore((s) => s.customPairs.length);
  const { selectArch, selectDefense, selectAll, clear } = useModelStore.getState();
  const uploaded = useCustomModelStore((s) => s.models);

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
        {uploaded.map((e) => (
          <CustomRow key={e.id} entry={e} />
        ))}
      </div>
      <CustomPairsEditor />
    </section>
  );
}
