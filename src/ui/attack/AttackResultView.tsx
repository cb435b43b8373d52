/**
 * A finished attack: original, adversarial and amplified perturbation side by side; its numbers;
 * the target model's verdict on the adversarial image; downloads; transferability to all models.
 */
import { type ReactNode, useMemo, useState } from 'react';
import { CLASS_NAMES_DE, CLASS_NAMES_EN } from '../../core/labels';
import { wilsonInterval } from '../../core/math';
import { isRandomized } from '../../core/models';
import type { AttackResponse } from '../../engine/messages';
import { type RunMeta, useAttackStore, type Verdict } from '../../stores/attack';
import { findModel } from '../customModels';
import { AttackCanvas } from './AttackCanvas';
import { downloadJson, downloadNpy, downloadPng, JSON_DOWNLOAD_TITLE } from './download';
import { downloadStem } from './export';
import { modelTitle, num, pct, wall } from './format';
import {
  DIVERGING_GRADIENT,
  grayRgba,
  type Perturbation,
  perturbation,
  perturbationRgba,
  quantize,
} from './perturbation';
import { VERDICT_DRAWS } from './runner';
import { TransferGrid } from './TransferGrid';

const IMAGE_SIZE = 196;

function Decision({ verdict, testId, note }: { verdict: Verdict | null; testId: string; note?: string }) {
  if (!verdict) {
    return (
      <p className="attack-figure__decision muted" data-testid={testId} data-pending="true">
        {note ?? 'classifying…'}
      </p>
    );
  }
  const sampled = verdict.draws > 1;
  return (
    <p
      className="attack-figure__decision"
      data-testid={testId}
      data-class={verdict.pred}
      data-confidence={verdict.probs[verdict.pred].toFixed(4)}
      title={`API: „${CLASS_NAMES_DE[verdict.pred]}“`}
    >
      <strong>{CLASS_NAMES_EN[verdict.pred]}</strong>{' '}
      <span className="muted">
        {pct(verdict.probs[verdict.pred])}
        {sampled && ` · most frequent, ${verdict.votes}/${verdict.draws} draws`}
      </span>
    </p>
  );
}

function Scores({ verdict, label, target }: { verdict: Verdict; label: number; target: number | null }) {
  return (
    <ul className="attack-scores" data-testid="attack-adversarial-scores" aria-label="Class probabilities">
      {CLASS_NAMES_EN.map((n, c) => {
        const p = verdict.probs[c];
        const cls = [
          'attack-scores__row',
          c === verdict.pred ? 'is-pred' : '',
          c === label ? 'is-label' : '',
          c === target ? 'is-target' : '',
        ].join(' ');
        return (
          <li key={n} className={cls} data-testid="attack-score-row" data-class={c} data-prob={p.toFixed(5)}>
            <span className="attack-scores__name">
              {n}
              {c === label && <span className="muted"> (label)</span>}
              {c === target && <span className="muted"> (target)</span>}
            </span>
            <span className="attack-scores__bar" aria-hidden="true">
              <span style={{ width: `${Math.max(0.5, p * 100)}%` }} />
            </span>
            <span className="attack-scores__value">{pct(p, 1)}</span>
          </li>
        );
      })}
    </ul>
  );
}

/** One image of the result row: its canvas, then a caption with an eyebrow title and `children`. */
function Figure({
  rgba,
  label,
  testId,
  caption,
  children,
}: {
  rgba: Uint8ClampedArray;
  label: string;
  testId: string;
  caption: ReactNode;
  children: ReactNode;
}) {
  return (
    <figure className="attack-figure">
      <AttackCanvas rgba={rgba} label={label} testId={testId} size={IMAGE_SIZE} />
      <figcaption>
        <span className="eyebrow">{caption}</span>
        {children}
      </figcaption>
    </figure>
  );
}

function Metric({ name, value, testId, raw }: { name: string; value: string; testId: string; raw: string }) {
  return (
    <div className="attack-metric">
      <dt>{name}</dt>
      <dd data-testid={testId} data-value={raw}>
        {value}
      </dd>
    </div>
  );
}

const DOWNLOADS: {
  format: string;
  label: string;
  title: string;
  save: (x: Float32Array, stem: string) => void | Promise<void>;
}[] = [
  { format: 'png', label: 'PNG', title: '28×28 grayscale PNG', save: downloadPng },
  {
    format: 'json',
    label: 'JSON request',
    title: JSON_DOWNLOAD_TITLE,
    save: downloadJson,
  },
  {
    format: 'npy',
    label: '.npy',
    title: 'NumPy .npy, float32, shape (28, 28), values in [0, 1]',
    save: downloadNpy,
  },
];

function Downloads({ meta, result }: { meta: RunMeta; result: AttackResponse }) {
  const [error, setError] = useState<string | null>(null);
  const stem = downloadStem(meta);
  const guard = (fn: () => void | Promise<void>) => async () => {
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <div className="attack-downloads">
      <span className="field__label">Download the adversarial image</span>
      <div className="button-row">
        {DOWNLOADS.map((d) => (
          <button
            key={d.format}
            type="button"
            className="button button--small"
            onClick={guard(() => d.save(result.adversarial, stem))}
            data-testid={`attack-download-${d.format}`}
            title={d.title}
          >
            {d.label}
          </button>
        ))}
      </div>
      {error && (
        <p className="text-error small" role="alert" data-testid="attack-download-error">
          {error}
        </p>
      )}
    </div>
  );
}

type ResultImages = {
  original: Uint8ClampedArray;
  adversarial: Uint8ClampedArray;
  perturbation: Uint8ClampedArray;
  p: Perturbation;
};

/** The three images' pixels and the perturbation's numbers, recomputed only when the run changes. */
function useResultImages(meta: RunMeta | null, result: AttackResponse | null): ResultImages | null {
  return useMemo(() => {
    if (!meta || !result) return null;
    const reference = quantize(meta.original);
    const p = perturbation(reference, result.adversarial);
    return {
      original: grayRgba(reference),
      adversarial: grayRgba(result.adversarial),
      perturbation: perturbationRgba(p),
      p,
    };
  }, [meta, result]);
}

/** "41.0% of 100 fresh draws (95 % CI 31.9%–50.8%)": a success rate with its Wilson interval. */
function rateText(fooled: number, draws: number): string {
  const [lo, hi] = wilsonInterval(fooled, draws);
  return `${pct(fooled / draws)} of ${draws} fresh draws (95 % CI ${pct(lo)}–${pct(hi)})`;
}

/**
 * On a randomized defense the attack's own success is judged on its (EOT) queries, which one set of
 * fresh draws can contradict: the headline is the fresh draws' success rate, from the one sample
 * that the tile and the scores show too, and the attack's own verdict comes second.
 */
function ResultHeader({
  meta,
  result,
  randomized,
  verdict,
  verdictError,
}: {
  meta: RunMeta;
  result: AttackResponse;
  randomized: boolean;
  verdict: Verdict | null;
  verdictError: string | null;
}) {
  const goal =
    meta.target === null
      ? `away from ${CLASS_NAMES_EN[meta.label]}`
      : `from ${CLASS_NAMES_EN[meta.label]} to ${CLASS_NAMES_EN[meta.target]}`;
  const outcome = result.success ? 'Attack succeeded' : 'Attack failed';
  const share = verdict?.fooled !== undefined ? verdict.fooled / verdict.draws : null;
  return (
    <header className="attack-result__head">
      <h3 id="attack-result-title" className="attack-result__title">
        {randomized && (
          <span
            className={`verdict ${share === null ? '' : share > 0.5 ? 'verdict--bad' : 'verdict--ok'}`}
            data-testid="attack-fresh-draws"
            data-value={share ?? undefined}
          >
            <span className="badge badge--random">random</span>{' '}
            {verdict?.fooled !== undefined
              ? `Fools ${meta.model} in ${rateText(verdict.fooled, verdict.draws)}`
              : verdictError
                ? `Not judged over fresh draws: ${verdictError}`
                : `Judging over ${VERDICT_DRAWS} fresh draws…`}
          </span>
        )}{' '}
        <span
          className={
            randomized ? 'muted small' : `verdict ${result.success ? 'verdict--bad' : 'verdict--ok'}`
          }
          data-testid="attack-success"
          data-value={result.success}
        >
          {randomized ? `· on its own EOT queries: ${outcome.toLowerCase()}` : outcome}
        </span>{' '}
        <span className="muted small">
          {modelTitle(meta.model)} · {goal}
          {meta.labelSource === 'predicted' && ' (label = the model’s prediction: true class unknown)'}
        </span>
        {result.params.stoppedBy === 'aborted' && (
          <span className="muted small" data-testid="attack-stopped">
            {' '}
            · stopped by you after {result.queries} of {meta.maxQueries} queries: the best result so far
          </span>
        )}
      </h3>
    </header>
  );
}

function PerturbationLegend({ p }: { p: Perturbation }) {
  return (
    <div
      className="attack-legend"
      data-testid="attack-perturbation-legend"
      data-min={p.min.toFixed(5)}
      data-max={p.max.toFixed(5)}
    >
      <span className="attack-legend__bar" style={{ background: DIVERGING_GRADIENT }} />
      <span className="attack-legend__ticks">
        <span>−{num(p.absMax, 3)}</span>
        <span>0</span>
        <span>+{num(p.absMax, 3)}</span>
      </span>
      <span className="muted small">
        δ from {num(p.min, 3)} to {num(p.max, 3)} · {p.changed} of {p.delta.length} pixels changed
      </span>
    </div>
  );
}

function ResultFigures({
  meta,
  images,
  verdict,
  verdictError,
}: {
  meta: RunMeta;
  images: ResultImages;
  verdict: Verdict | null;
  verdictError: string | null;
}) {
  const { p } = images;
  const amplification = p.absMax > 0 ? 1 / p.absMax : 0;
  return (
    <div className="attack-figures">
      <Figure
        rgba={images.original}
        label="Original image"
        testId="attack-canvas-original"
        caption="Original"
      >
        <Decision verdict={meta.originalVerdict} testId="attack-original-decision" note="no prediction" />
      </Figure>
      <Figure
        rgba={images.adversarial}
        label="Adversarial image"
        testId="attack-canvas-adversarial"
        caption="Adversarial"
      >
        <Decision
          verdict={verdict}
          testId="attack-adversarial-decision"
          note={verdictError ? `not classified: ${verdictError}` : undefined}
        />
      </Figure>
      <Figure
        rgba={images.perturbation}
        label={`Perturbation, amplified: from ${num(p.min, 3)} to ${num(p.max, 3)}`}
        testId="attack-canvas-perturbation"
        caption={
          <>
            Perturbation
            {amplification > 1 && (
              <span
                title={`δ drawn ×${num(amplification, 3)}, so that the largest change fills the colour range; the legend is in real units`}
              >
                {' '}
                (shown ×{num(amplification, 3)})
              </span>
            )}
          </>
        }
      >
        <PerturbationLegend p={p} />
      </Figure>
    </div>
  );
}

function ResultMetrics({
  meta,
  result,
  randomized,
}: {
  meta: RunMeta;
  result: AttackResponse;
  randomized: boolean;
}) {
  return (
    <dl className="attack-metrics">
      <Metric
        name={randomized ? 'Success (own queries)' : 'Success'}
        value={result.success ? 'yes' : 'no'}
        testId="attack-metric-success"
        raw={String(result.success)}
      />
      {result.gradientEvaluations === undefined ? (
        <Metric
          name="Queries"
          value={`${result.queries} / ${meta.maxQueries}`}
          testId="attack-metric-queries"
          raw={String(result.queries)}
        />
      ) : (
        <>
          <Metric
            name="Gradient evaluations"
            value={String(result.gradientEvaluations)}
            testId="attack-metric-gradients"
            raw={String(result.gradientEvaluations)}
          />
          <Metric
            name="Forward queries"
            value={String(result.queries)}
            testId="attack-metric-queries"
            raw={String(result.queries)}
          />
        </>
      )}
      <Metric name="L2" value={num(result.l2)} testId="attack-metric-l2" raw={String(result.l2)} />
      <Metric
        name="L∞"
        // 8-bit images: an L∞ of 0.098 is 25 gray levels, the most an ε of 0.1 allows
        value={`${num(result.linf)} = ${Math.round(result.linf * 255)}/255`}
        testId="attack-metric-linf"
        raw={String(result.linf)}
      />
      <Metric
        name="Wall time"
        value={wall(result.wallMs)}
        testId="attack-metric-wall"
        raw={String(result.wallMs)}
      />
      {meta.eps !== null && (
        <Metric name="Budget ε" value={num(meta.eps)} testId="attack-metric-eps" raw={String(meta.eps)} />
      )}
      {meta.eot > 1 && (
        <Metric name="EOT k" value={String(meta.eot)} testId="attack-metric-eot" raw={String(meta.eot)} />
      )}
    </dl>
  );
}

function EotRate({ model, verdict }: { model: string; verdict: Verdict }) {
  const fooled = verdict.fooled ?? 0;
  return (
    <p
      className="attack-note attack-note--random"
      data-testid="attack-eot-rate"
      data-value={fooled / verdict.draws}
      data-draws={verdict.draws}
    >
      <span className="badge badge--random">random</span> Over {verdict.draws} fresh draws of the defense's
      randomness, the adversarial image fools model {model} in{' '}
      <strong>{rateText(fooled, verdict.draws)}</strong>. The result is random: model {model} draws new
      randomness on every query, so one success (or failure) says little. This rate is the number to report;
      the tile and the scores show the same draws.
    </p>
  );
}

/** The target model's class probabilities on the adversarial image (or why there are none yet). */
function AdversarialScores({
  meta,
  randomized,
  verdict,
  verdictError,
}: {
  meta: RunMeta;
  randomized: boolean;
  verdict: Verdict | null;
  verdictError: string | null;
}) {
  return (
    <div>
      <h4 className="attack-subtitle">
        Model {meta.model} on the adversarial image
        {verdict && verdict.draws > 1 && (
          <span className="muted small"> · mean of {verdict.draws} draws</span>
        )}
      </h4>
      {verdict ? (
        <Scores verdict={verdict} label={meta.label} target={meta.target} />
      ) : (
        <p className="muted small">{verdictError ? `Not classified: ${verdictError}` : 'Classifying…'}</p>
      )}
      {randomized && verdict?.fooled !== undefined && (
        <p className="muted small">
          {verdict.fooled}/{verdict.draws} draws fooled.
        </p>
      )}
    </div>
  );
}

function ResultActions({
  meta,
  result,
  onShowComparison,
}: {
  meta: RunMeta;
  result: AttackResponse;
  onShowComparison?: (adversarial: Float32Array) => void;
}) {
  return (
    <div className="attack-actions">
      <Downloads meta={meta} result={result} />
      {onShowComparison && (
        <button
          type="button"
          className="button button--small"
          onClick={() => onShowComparison(result.adversarial)}
          data-testid="attack-show-comparison"
        >
          Show in the comparison
        </button>
      )}
      {meta.initIndex !== null && (
        <p className="muted small">Started from test image #{meta.initIndex} (target class).</p>
      )}
      {result.params.start === 'data' && (
        <p className="muted small" data-testid="attack-start-note">
          No uniform-noise start was adversarial; started from the nearest test image of another class.
        </p>
      )}
      {result.params.start === 'none' && (
        <p className="small" data-testid="attack-start-note">
          No adversarial starting point was found, so the attack never ran: this is not evidence of
          robustness.
        </p>
      )}
    </div>
  );
}

const STAGE_TITLE: Record<string, string> = {
  'apgd-ce': 'APGD-CE',
  'apgd-dlr': 'APGD-DLR',
  'apgd-t': 'APGD-T',
  'fab-t': 'FAB-T',
  square: 'Square',
};

/** AutoAttack's stages with their verdict on this image, its version and the checks' flags. */
function AutoAttackStages({ result }: { result: AttackResponse }) {
  const p = result.params as {
    attack?: string;
    version?: string;
    versionReason?: string;
    eot?: number;
    stageVerdicts?: { stage: string; verdict: string }[];
    flags?: { code: string; message: string }[];
  };
  if (p.attack !== 'autoattack' || !p.stageVerdicts) return null;
  return (
    <div className="attack-autoattack" data-testid="autoattack-stages" data-version={p.version}>
      <p className="small">
        AutoAttack, {p.version} version ({p.versionReason}
        {p.version === 'rand' ? `; gradients averaged over ${p.eot} draws` : ''}):{' '}
        {p.stageVerdicts.map((s, k) => (
          <span key={s.stage} data-testid={`autoattack-stage-${s.stage}`} data-value={s.verdict}>
            {k > 0 && ' → '}
            {STAGE_TITLE[s.stage] ?? s.stage} <b>{s.verdict}</b>
          </span>
        ))}
      </p>
      {(p.flags ?? []).map((f) => (
        <p key={f.code} className="small warn" data-testid={`autoattack-flag-${f.code}`}>
          ⚑ {f.message}
        </p>
      ))}
    </div>
  );
}

/** The finished attack's figures, numbers, verdict, downloads and transferability; nothing before one. */
export function AttackResultView({
  onShowComparison,
}: {
  onShowComparison?: (adversarial: Float32Array) => void;
}) {
  const meta = useAttackStore((s) => s.meta);
  const result = useAttackStore((s) => s.result);
  const verdict = useAttackStore((s) => s.adversarialVerdict);
  const verdictError = useAttackStore((s) => s.verdictError);
  const images = useResultImages(meta, result);

  if (!meta || !result || !images) return null;
  const randomized = isRandomized(findModel(meta.model) ?? null);

  return (
    <section
      className="attack-result"
      data-testid="attack-result"
      data-success={result.success}
      aria-labelledby="attack-result-title"
    >
      <ResultHeader
        meta={meta}
        result={result}
        randomized={randomized}
        verdict={verdict}
        verdictError={verdictError}
      />
      <ResultFigures meta={meta} images={images} verdict={verdict} verdictError={verdictError} />
      <ResultMetrics meta={meta} result={result} randomized={randomized} />
      <AutoAttackStages result={result} />

      {verdict && verdict.draws > 1 && verdict.fooled !== undefined && (
        <EotRate model={meta.model} verdict={verdict} />
      )}

      <div className="attack-result__columns">
        <AdversarialScores
          meta={meta}
          randomized={randomized}
          verdict={verdict}
          verdictError={verdictError}
        />
        <ResultActions meta={meta} result={result} onShowComparison={onShowComparison} />
      </div>

      <TransferGrid />
    </section>
  );
}
