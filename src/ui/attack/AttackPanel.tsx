/**
 * The black-box attack lab: pick a target model and an attack, run it on the current image in the
 * inference worker (live distance/loss chart, query counter, Stop), then inspect and export the
 * adversarial image and check how it transfers to the other models.
 */

import { ATTACKS } from '../../attacks';
import { CLASS_NAMES_EN } from '../../core/labels';
import { isRandomized } from '../../core/models';
import { type AttackConfig, isBusy, useAttackStore } from '../../stores/attack';
import { findModel } from '../customModels';
import { AttackResultView } from './AttackResultView';
import { AttackSetup } from './AttackSetup';
import { modelTitle } from './format';
import { attackParams, startAttack, stopAttack } from './runner';
import { metricFor, TrajectoryChart } from './TrajectoryChart';
import './attack.css';

export interface AttackPanelProps {
  /** The current input: 784 values in [0,1], row-major; null when there is no image yet. */
  image: Float32Array | null;
  /** The image's true class, when known; otherwise the attack moves away from the model's prediction. */
  trueLabel?: number;
  /** Shows the adversarial image in the main comparison (offered when given). */
  onShowComparison?: (adversarial: Float32Array) => void;
}

const STATUS_TEXT = {
  idle: 'Ready',
  preparing: 'Classifying the original…',
  running: 'Attacking…',
  stopping: 'Stopping…',
  done: 'Done',
  error: 'Failed',
} as const;

/** The loss the configured attack minimises (Square: margin untargeted, cross-entropy targeted). */
function resolvedLoss(config: AttackConfig): unknown {
  try {
    return ATTACKS[config.attack].resolve({ ...attackParams(config), targeted: config.targeted }).loss;
  } catch {
    return undefined; // invalid settings: the form says so
  }
}

/** A white-box run's gradient evaluations when it takes every step: steps × restarts (× targets) × EOT draws. */
function whiteBoxBudget(config: AttackConfig): number {
  try {
    const p = ATTACKS[config.attack].resolve({ ...attackParams(config), targeted: config.targeted });
    const steps = typeof p.steps === 'number' ? p.steps : typeof p.nIter === 'number' ? p.nIter : 1;
    // APGD-T runs its steps once per target class
    const restarts =
      (typeof p.restarts === 'number' ? p.restarts : 1) * (typeof p.targets === 'number' ? p.targets : 1);
    const model = findModel(config.model);
    return steps * restarts * (model && isRandomized(model) ? Math.max(1, config.eot) : 1);
  } catch {
    return 1;
  }
}

function Progress() {
  const status = useAttackStore((s) => s.status);
  const meta = useAttackStore((s) => s.meta);
  const progress = useAttackStore((s) => s.progress);
  const result = useAttackStore((s) => s.result);
  const config = useAttackStore((s) => s.config);
  const attack = meta?.attack ?? config.attack;
  const norm = meta?.norm ?? config.norm;
  const white = ATTACKS[attack].kind === 'gradient';
  // white-box runs count gradient evaluations: steps × restarts (× EOT draws on a randomized model)
  const budget = white ? whiteBoxBudget(config) : (meta?.maxQueries ?? config.maxQueries);
  const queries = white
    ? (result?.gradientEvaluations ?? progress[progress.length - 1]?.queries ?? 0)
    : (result?.queries ?? progress[progress.length - 1]?.queries ?? 0);
  const busy = isBusy(status);
  if (!busy && !result) return null;
  return (
    <section className="attack-progress" data-testid="attack-progress" aria-label="Attack progress">
      <div className="attack-progress__head">
        <span className="attack-progress__status" data-testid="attack-status-text" aria-live="polite">
          {busy && <span className="dot dot--loading" aria-hidden="true" />} {STATUS_TEXT[status]}
        </span>
        <span className="attack-progress__queries" data-testid="attack-queries" data-value={queries}>
          <strong>{queries.toLocaleString('en-US')}</strong> / {budget.toLocaleString('en-US')}{' '}
          {white ? 'gradient evaluations' : 'queries'}
        </span>
      </div>
      <span className="progress" aria-hidden="true">
        <span
          className="progress__bar"
          style={{ width: `${Math.min(100, (queries / Math.max(1, budget)) * 100)}%` }}
        />
      </span>
      <TrajectoryChart
        points={progress}
        metric={metricFor(attack)}
        norm={norm}
        maxQueries={budget}
        loss={result?.params.loss ?? resolvedLoss(config)}
      />
    </section>
  );
}

export function AttackPanel({ image, trueLabel, onShowComparison }: AttackPanelProps) {
  const status = useAttackStore((s) => s.status);
  const error = useAttackStore((s) => s.error);
  const model = useAttackStore((s) => s.config.model);
  const meta = useAttackStore((s) => s.meta);
  const runId = useAttackStore((s) => s.runId);
  const invalidFields = useAttackStore((s) => s.invalidFields);
  const busy = isBusy(status);
  const hasImage = image !== null && image.length === 784;
  const knownLabel = trueLabel !== undefined && trueLabel !== null && trueLabel >= 0 ? trueLabel : undefined;
  const stale = meta !== null && image !== null && !sameImage(meta.original, image);

  return (
    <section
      className="panel attack-panel"
      id="attack-lab"
      data-testid="attack-panel"
      data-status={status}
      data-run={runId}
      aria-labelledby="attack-panel-title"
      aria-busy={busy}
    >
      <header className="panel__header">
        <h2 id="attack-panel-title" className="panel__title">
          Black-box attack lab
          <span className="panel__subtitle muted">
            black-box: every query goes through the API, to the page's workers or the chosen endpoint
          </span>
        </h2>
      </header>

      <AttackSetup />

      <div className="attack-run">
        <button
          type="button"
          className="button button--primary"
          onClick={() => image && void startAttack(image, knownLabel)}
          disabled={busy || !hasImage || invalidFields.length > 0}
          data-testid="attack-run"
        >
          Run attack
        </button>
        <button
          type="button"
          className="button"
          onClick={stopAttack}
          disabled={!busy || status === 'stopping'}
          data-testid="attack-stop"
        >
          Stop
        </button>
        <span className="muted small" data-testid="attack-label-info">
          {!hasImage
            ? 'Choose, draw or upload an image first.'
            : invalidFields.length > 0
              ? 'Fix the settings marked in red first.'
              : knownLabel !== undefined
                ? `Attacks the current image on ${modelTitle(model)}; label: ${CLASS_NAMES_EN[knownLabel]} (true class).`
                : `Attacks the current image on ${modelTitle(model)}; label: the model’s current prediction (true class unknown).`}
        </span>
      </div>

      {status === 'error' && error && (
        <p className="inline-error attack-error" role="alert" data-testid="attack-error">
          {error}
        </p>
      )}

      <Progress />

      {stale && !busy && (
        <p className="attack-note muted small" data-testid="attack-stale">
          The current image has changed since this attack ran; the result below is for the image shown as
          “Original”.
        </p>
      )}

      <AttackResultView onShowComparison={onShowComparison} />
    </section>
  );
}

function sameImage(a: Float32Array, b: Float32Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
