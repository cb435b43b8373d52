/** One selected model in the comparison: its input, decision (or scores), confidence, randomness. */
import { CLASS_NAMES_DE, CLASS_NAMES_EN } from '../core/labels';
import { useImageStore } from '../stores/imageStore';
import { useModelStore } from '../stores/modelStore';
import {
  type ModelResult,
  meanProbs,
  summaryDecision,
  useResultsStore,
  type ViewMode,
  voteCounts,
} from '../stores/resultsStore';
import { DecisionDistribution } from './DecisionDistribution';
import { ms, percent } from './format';
import { Icon } from './icons';
import { useLoadState } from './ModelCell';
import { ModelInputView } from './ModelInputView';
import { RandomBadge } from './RandomBadge';
import { ScoreChart } from './ScoreChart';
import type { Target } from './targets';

function describeDraw(draw: unknown): string | null {
  if (!draw || typeof draw !== 'object') return null;
  const d = draw as Record<string, unknown>;
  const seed = typeof d.seed === 'number' ? ` · seed ${d.seed}` : '';
  const num = (v: unknown, digits = 2) => (typeof v === 'number' ? v.toFixed(digits) : '?');
  switch (d.kind) {
    case 'resize_pad':
      return d.applied
        ? `resized to ${d.size}px, padded at (${d.left}, ${d.top})${seed}`
        : `passed through unchanged${seed}`;
    case 'noise':
      return `noise σ ${num(d.sigma)}${seed}`;
    case 'blur':
      return `blur σ ${num(d.sigma)}${seed}`;
    default:
      return null;
  }
}

type Decision = NonNullable<ReturnType<typeof summaryDecision>>;

function ResultCardHeader({ target }: { target: Target }) {
  const focusApi = () => {
    useModelStore.getState().setFocused(target.key);
    document.getElementById('api-console')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };
  return (
    <header className="result-card__head">
      <div>
        <h3 id={`card-title-${target.key}`} className="result-card__title">
          {target.name}
        </h3>
        <p className="result-card__desc">{target.description}</p>
      </div>
      <div className="result-card__badges">
        {target.randomized && <RandomBadge />}
        {target.modelId && (
          <button
            type="button"
            className="icon-button icon-button--small"
            onClick={focusApi}
            aria-label={`Show the API exchange for ${target.name}`}
            title="Show in API console"
            data-testid="result-focus-api"
          >
            <Icon name="send" size={14} />
          </button>
        )}
      </div>
    </header>
  );
}

function ResultError({ error }: { error: string | null }) {
  return (
    <div className="result-card__error" role="alert" data-testid="result-error">
      <Icon name="alert" />
      <p>
        <strong>Model unavailable.</strong> {error}
      </p>
    </div>
  );
}

/** No decision yet: the weights' download progress, or what the card waits for. */
function ResultLoading({
  load,
  weights,
  hasImage,
}: {
  load: ReturnType<typeof useLoadState>;
  weights: string;
  hasImage: boolean;
}) {
  return (
    <div className="result-card__loading" data-testid="result-loading">
      {load.state === 'loading' ? (
        <>
          <span className="progress">
            <span
              className="progress__bar"
              style={{ width: `${Math.round((load.progress ?? 0.1) * 100)}%` }}
            />
          </span>
          <span className="muted">
            Weights {weights}: {load.detail}
          </span>
        </>
      ) : (
        <span className="muted">{hasImage ? 'Classifying…' : 'Waiting for an image…'}</span>
      )}
    </div>
  );
}

function DecisionView({
  decision,
  draws,
  correct,
  trueLabel,
}: {
  decision: Decision;
  /** How many draws the decision sums up (more than one: sampled). */
  draws: number;
  correct: boolean | null;
  trueLabel: number | null;
}) {
  return (
    <div className="decision">
      <p className="decision__label" data-testid="result-decision" data-class={decision.cls}>
        {CLASS_NAMES_EN[decision.cls]}
      </p>
      <p
        className="decision__api muted"
        data-testid="result-decision-de"
        title="The class name the API answers with"
      >
        API: „{CLASS_NAMES_DE[decision.cls]}“
      </p>
      <div className="confidence" data-testid="result-confidence" data-value={decision.confidence.toFixed(4)}>
        <span className="confidence__bar" aria-hidden="true">
          <span style={{ width: `${decision.confidence * 100}%` }} />
        </span>
        <span className="confidence__text">
          {percent(decision.confidence)}
          {draws > 1 && (
            <span className="muted">
              {' '}
              mean · {decision.votes}/{draws} votes
            </span>
          )}
        </span>
      </div>
      {correct !== null && (
        <p
          className={`verdict ${correct ? 'verdict--ok' : 'verdict--bad'}`}
          data-testid="result-correct"
          data-correct={correct}
        >
          <Icon name={correct ? 'check' : 'x'} size={14} />
          {correct ? 'correct' : `wrong — true class ${CLASS_NAMES_EN[trueLabel!]}`}
        </p>
      )}
    </div>
  );
}

function ResultBody({
  target,
  mode,
  result,
  decision,
  correct,
  trueLabel,
}: {
  target: Target;
  mode: ViewMode;
  result: ModelResult;
  decision: Decision;
  correct: boolean | null;
  trueLabel: number | null;
}) {
  const draws = result.preds.length;
  return (
    <div className={`result-card__body result-card__body--${mode}`}>
      <ModelInputView inputs={result.modelInputs} name={target.name} />
      {mode === 'decision' ? (
        <DecisionView decision={decision} draws={draws} correct={correct} trueLabel={trueLabel} />
      ) : (
        <ScoreChart
          probs={meanProbs(result)}
          trueLabel={trueLabel}
          title={`${draws > 1 ? `Mean class probabilities over ${draws} draws` : 'Class probabilities'} of ${target.name}`}
        />
      )}
    </div>
  );
}

function ResultFooter({
  target,
  mode,
  result,
}: {
  target: Target;
  mode: ViewMode;
  result: ModelResult | undefined;
}) {
  const sampled = (result?.preds.length ?? 0) > 1;
  const draw = result?.draws.length === 1 ? describeDraw(result.draws[0]) : null;
  return (
    <footer className="result-card__foot muted">
      {mode === 'score' && sampled && <span>mean of {result!.preds.length} draws · </span>}
      {draw && <span data-testid="result-draw">{draw} · </span>}
      {!target.randomized && <span>deterministic · </span>}
      <span data-testid="result-ms">{ms(result?.inferenceMs)}</span>
    </footer>
  );
}

/** One model's card in the comparison: header, its verdict on the current image, timing footer. */
export function ResultCard({
  target,
  mode,
  trueLabel,
}: {
  target: Target;
  mode: ViewMode;
  trueLabel: number | null;
}) {
  const result = useResultsStore((s) => s.results[target.key]);
  const version = useImageStore((s) => s.version);
  const hasImage = useImageStore((s) => s.pixels !== null);
  const focused = useModelStore((s) => s.focused);
  const load = useLoadState(target.weights);
  const stale = !result || result.status === 'pending' || result.imageVersion !== version;
  const decision = result && result.status !== 'error' ? summaryDecision(result) : null;
  const sampled = (result?.preds.length ?? 0) > 1;
  const correct = decision && trueLabel !== null ? decision.cls === trueLabel : null;

  return (
    <article
      className={`result-card ${stale ? 'is-stale' : ''} ${correct === true ? 'is-correct' : correct === false ? 'is-wrong' : ''} ${focused === target.key ? 'is-focused' : ''}`}
      data-testid={`result-card-${target.key}`}
      data-stale={stale}
      data-status={result?.status ?? 'pending'}
      aria-busy={stale}
      aria-labelledby={`card-title-${target.key}`}
    >
      <ResultCardHeader target={target} />

      {result?.status === 'error' ? (
        <ResultError error={result.error} />
      ) : !decision ? (
        <ResultLoading load={load} weights={target.weights} hasImage={hasImage} />
      ) : (
        <ResultBody
          target={target}
          mode={mode}
          result={result!}
          decision={decision}
          correct={correct}
          trueLabel={trueLabel}
        />
      )}

      {decision && sampled && mode === 'decision' && (
        <DecisionDistribution counts={voteCounts(result!)} trueLabel={trueLabel} />
      )}

      <ResultFooter target={target} mode={mode} result={result} />
    </article>
  );
}
