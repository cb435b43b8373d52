/** Decision/score switch, sampling ×N for randomized defenses, seed for reproducible draws. */
import { useId } from 'react';
import {
  MAX_SAMPLE_COUNT,
  MAX_SEED,
  parseSeed,
  useResultsStore,
  type ViewMode,
} from '../stores/resultsStore';
import { Icon } from './icons';
import { Segmented, type SegmentedOption } from './Segmented';

const MODES: SegmentedOption<ViewMode>[] = [
  { value: 'decision', label: 'Decisions' },
  { value: 'score', label: 'Scores' },
];

export function ComparisonToolbar({ anyRandomized }: { anyRandomized: boolean }) {
  const sampleId = useId();
  const countId = useId();
  const seedId = useId();
  const mode = useResultsStore((s) => s.mode);
  const sampling = useResultsStore((s) => s.sampling);
  const sampleCount = useResultsStore((s) => s.sampleCount);
  const seedText = useResultsStore((s) => s.seedText);
  const busy = useResultsStore((s) => s.busy);
  const st = useResultsStore.getState;
  const seedInvalid = seedText.trim() !== '' && parseSeed(seedText) === undefined;

  return (
    <div className="toolbar" role="toolbar" aria-label="Comparison settings">
      <Segmented legend="View" options={MODES} value={mode} onSelect={st().setMode} testIdPrefix="mode" />

      <div className={`toolbar__group ${anyRandomized ? '' : 'is-dim'}`}>
        <input
          id={sampleId}
          type="checkbox"
          checked={sampling}
          onChange={(e) => st().setSampling(e.target.checked)}
          data-testid="sample-toggle"
        />
        <label htmlFor={sampleId}>Sample randomized ×</label>
        <label htmlFor={countId} className="sr-only">
          Number of draws
        </label>
        <input
          id={countId}
          type="number"
          className="input--narrow"
          min={1}
          max={MAX_SAMPLE_COUNT}
          value={sampleCount}
          onChange={(e) => st().setSampleCount(Number(e.target.value))}
          data-testid="sample-count"
        />
      </div>

      <div className="toolbar__group">
        <label htmlFor={seedId}>Seed</label>
        <input
          id={seedId}
          type="text"
          inputMode="numeric"
          className={`input--seed ${seedInvalid ? 'is-invalid' : ''}`}
          placeholder="fresh"
          value={seedText}
          aria-invalid={seedInvalid}
          aria-describedby={seedInvalid ? `${seedId}-err` : undefined}
          onChange={(e) => st().setSeedText(e.target.value)}
          data-testid="seed-input"
        />
        <button
          type="button"
          className="icon-button"
          aria-label="Random seed"
          title="Pick a random seed"
          data-testid="seed-random"
          onClick={() => st().setSeedText(String(Math.floor(Math.random() * 100000)))}
        >
          <Icon name="dice" />
        </button>
        {seedText !== '' && (
          <button
            type="button"
            className="icon-button"
            aria-label="Clear seed"
            title="Clear seed (fresh randomness)"
            onClick={() => st().setSeedText('')}
          >
            <Icon name="x" />
          </button>
        )}
        {seedInvalid && (
          <span id={`${seedId}-err`} className="text-error small">
            integer 0–{MAX_SEED}
          </span>
        )}
      </div>

      <button
        type="button"
        className="button button--small"
        onClick={() => st().redraw()}
        disabled={!anyRandomized || parseSeed(seedText) !== undefined}
        title={
          parseSeed(seedText) !== undefined
            ? 'A seed fixes the draws: clear it for fresh ones'
            : 'Query randomized models again with fresh randomness'
        }
        data-testid="redraw"
      >
        <Icon name="refresh" /> New draws
      </button>

      <span
        className={`busy ${busy ? 'is-busy' : ''}`}
        role="status"
        aria-live="polite"
        data-testid="results-busy"
      >
        {busy ? 'classifying…' : ''}
      </span>
    </div>
  );
}
