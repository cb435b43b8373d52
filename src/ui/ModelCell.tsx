/** One of the fifteen models (or an uploaded one) in the grid: ID, load state (with progress), current decision; toggles selection. */
import { CLASS_NAMES_DE, CLASS_NAMES_EN } from '../core/labels';
import { isRandomized, type ModelInfo } from '../core/models';
import { useCustomModelStore } from '../stores/customModelStore';
import { useEngineStore } from '../stores/engineStore';
import { trueLabelOf, useImageStore } from '../stores/imageStore';
import { useModelStore } from '../stores/modelStore';
import { summaryDecision, useResultsStore } from '../stores/resultsStore';
import { ms, percent } from './format';
import { Icon } from './icons';
import { DEFENSE_SHORT } from './targets';

export type CellState = 'missing' | 'idle' | 'loading' | 'ready' | 'error';

export function useLoadState(weights: string): { state: CellState; progress: number | null; detail: string } {
  const w = useEngineStore((s) => s.weights[weights]);
  const manifest = useEngineStore((s) => s.manifest);
  const listed = useEngineStore((s) => s.availableWeights.includes(weights));
  if (w?.state === 'loading') {
    const progress = w.totalBytes > 0 ? w.loadedBytes / w.totalBytes : null;
    return {
      state: 'loading',
      progress,
      detail:
        progress === null
          ? 'loading…'
          : progress >= 1
            ? 'starting session…'
            : `loading ${percent(progress, 0)}`,
    };
  }
  if (w?.state === 'ready') return { state: 'ready', progress: 1, detail: `ready · ${ms(w.loadMs)}` };
  if (w?.state === 'error') return { state: 'error', progress: null, detail: w.error ?? 'failed to load' };
  // an uploaded model (custom/<id>) is not in the manifest: the worker reports its state
  if (!weights.startsWith('custom/') && (manifest === 'missing' || (manifest === 'ready' && !listed))) {
    return { state: 'missing', progress: null, detail: 'no weight file yet' };
  }
  return { state: 'idle', progress: null, detail: 'not loaded' };
}

export function ModelCell({ model }: { model: ModelInfo }) {
  const selected = useModelStore((s) => s.selected.includes(model.id));
  const toggle = useModelStore((s) => s.toggle);
  const load = useLoadState(model.weights);
  const result = useResultsStore((s) => s.results[model.id]);
  const version = useImageStore((s) => s.version);
  const label = useImageStore((s) => trueLabelOf(s.source));
  const manifestAcc = useEngineStore((s) => s.models[model.id]?.cleanAccuracy ?? null);
  // an uploaded model's figure is the one "Evaluate on the test set" measured in this page
  const measured = useCustomModelStore((s) =>
    model.custom && model.preprocessor === null ? (s.evaluations[model.custom.id]?.accuracy ?? null) : null,
  );
  const acc = manifestAcc ?? measured;
  const decision = selected && result?.status !== 'error' && result ? summaryDecision(result) : null;
  const stale = !result || result.imageVersion !== version || result.status === 'pending';
  const randomized = isRandomized(model);

  return (
    <button
      type="button"
      className={`model-cell is-${load.state} ${selected ? 'is-selected' : ''}`}
      aria-pressed={selected}
      data-testid={`model-cell-${model.id}`}
      data-state={load.state}
      onClick={() => toggle(model.id)}
      title={`${model.id}: ${DEFENSE_SHORT[model.defense]} · weights ${model.weights}${acc !== null ? ` · clean accuracy ${percent(acc)}` : ''}\n${load.detail}`}
    >
      <span className="model-cell__head">
        <span className="model-cell__id">{model.custom ? model.id.slice('custom/'.length) : model.id}</span>
        {randomized && (
          <span className="model-cell__random" title="Randomized defense">
            <Icon name="dice" size={13} />
            <span className="sr-only">randomized</span>
          </span>
        )}
        <span className="model-cell__check" aria-hidden="true">
          <Icon name="check" size={12} />
        </span>
      </span>
      <span className={`model-cell__state state--${load.state}`} data-testid="model-cell-state">
        {load.state === 'loading' ? (
          <span className="progress" data-testid="model-cell-progress">
            <span
              className="progress__bar"
              style={{ width: `${Math.round((load.progress ?? 0.1) * 100)}%` }}
            />
          </span>
        ) : null}
        <span className="model-cell__state-text">
          {load.state === 'error'
            ? 'unavailable'
            : load.state === 'missing'
              ? 'not trained yet'
              : load.detail}
        </span>
      </span>
      <span className={`model-cell__decision ${stale ? 'is-stale' : ''}`} data-testid="model-cell-decision">
        {!selected ? (
          <span className="muted">{acc !== null ? `acc ${percent(acc)}` : 'not selected'}</span>
        ) : result?.status === 'error' ? (
          <span className="text-error">error</span>
        ) : decision ? (
          <>
            <span title={`API: ${CLASS_NAMES_DE[decision.cls]}`}>{CLASS_NAMES_EN[decision.cls]}</span>{' '}
            <span className="muted">{percent(decision.confidence, 0)}</span>
            {label !== null && (
              <span className={decision.cls === label ? 'text-ok' : 'text-error'}>
                {decision.cls === label ? ' ✓' : ' ✗'}
              </span>
            )}
          </>
        ) : (
          <span className="muted">…</span>
        )}
      </span>
    </button>
  );
}
