/** The attack's settings, built from the ATTACKS registry and the fifteen MODELS. */

import { useEffect, useId, useState } from 'react';
import {
  ATTACK_NAMES,
  ATTACKS,
  type AttackInfo,
  type AttackName,
  EPS_MAX,
  type Norm,
  paramFields,
} from '../../attacks';
import type { CustomModelEntry } from '../../core/custom-models';
import { CLASS_NAMES_EN } from '../../core/labels';
import { ARCH_LABEL, ARCHS, DEFENSE_LABEL, isRandomized, MODELS, type ModelInfo } from '../../core/models';
import { type AttackConfig, type AttackState, hasEps, isBusy, useAttackStore } from '../../stores/attack';
import { useCustomModelStore } from '../../stores/customModelStore';
import { customModelInfoList, findModel } from '../customModels';
import { EndpointPicker } from '../EndpointPicker';
import { LabelField, Options, Select } from '../fields';
import { attackParams } from './runner';

const NORM_LABEL: Record<Norm, string> = { l2: 'L2', linf: 'L∞' };

/** Parameters with their own field above (or that the worker sets), left out of "advanced". */
// eot: the lab's own EOT k field (AutoAttack declares it too)
const OWN_FIELDS = new Set([
  'norm',
  'eps',
  'maxQueries',
  'target',
  'targeted',
  'seed',
  'quantize',
  'init',
  'eot',
]);

interface NumberFieldProps {
  id: string;
  value: number;
  onCommit(v: number): void;
  testId: string;
  min?: number;
  max?: number;
  step?: number | 'any';
  integer?: boolean;
  /** A further check (e.g. an attack parameter's declared range with exclusive bounds). */
  accepts?: (v: number) => boolean;
  /** Shown while the typed value is invalid, e.g. "must be a number in (0, 1]". */
  invalidText?: string;
  disabled?: boolean;
  className?: string;
  describedBy?: string;
}

/** A number input that keeps what the user types, commits only valid numbers and holds Run while invalid. */
function NumberField({
  id,
  value,
  onCommit,
  testId,
  min,
  max,
  step = 'any',
  integer = false,
  accepts,
  disabled,
  className,
  describedBy,
  invalidText,
}: NumberFieldProps) {
  const [draft, setDraft] = useState(String(value));
  useEffect(() => {
    setDraft((d) => (Number(d) === value && d.trim() !== '' ? d : String(value)));
  }, [value]);
  const ok = (v: number) =>
    Number.isFinite(v) &&
    (!integer || Number.isInteger(v)) &&
    (min === undefined || v >= min) &&
    (max === undefined || v <= max) &&
    (accepts === undefined || accepts(v));
  const valid = ok(draft.trim() === '' ? Number.NaN : Number(draft));
  const setFieldInvalid = useAttackStore((s) => s.setFieldInvalid);
  useEffect(() => {
    setFieldInvalid(testId, !valid);
    return () => setFieldInvalid(testId, false);
  }, [setFieldInvalid, testId, valid]);
  const input = (
    <input
      id={id}
      type="number"
      inputMode={integer ? 'numeric' : 'decimal'}
      value={draft}
      min={min}
      max={max}
      step={step}
      disabled={disabled}
      aria-invalid={!valid || undefined}
      aria-describedby={describedBy}
      className={`${className ?? ''} ${valid ? '' : 'is-invalid'}`}
      data-testid={testId}
      onChange={(e) => {
        const text = e.target.value;
        setDraft(text);
        const v = text.trim() === '' ? Number.NaN : Number(text);
        if (ok(v)) onCommit(v);
      }}
    />
  );
  if (valid || !invalidText) return input;
  return (
    <>
      {input}
      <span className="text-error small" role="alert" data-testid={`${testId}-error`}>
        {invalidText} (last valid: {value}); Run waits until it is fixed
      </span>
    </>
  );
}

/** A NumberField bound to one numeric setting of the attack config. */
function ConfigNumber({
  field,
  ...props
}: { field: 'eps' | 'maxQueries' | 'eot' | 'seed' } & Omit<NumberFieldProps, 'value' | 'onCommit'>) {
  const value = useAttackStore((s) => s.config[field]);
  const setConfig = useAttackStore((s) => s.setConfig);
  return <NumberField {...props} value={value} onCommit={(v) => setConfig({ [field]: v })} />;
}

function AdvancedParams({ attack, disabled }: { attack: AttackName; disabled: boolean }) {
  const config = useAttackStore((s) => s.config);
  const setOverride = useAttackStore((s) => s.setOverride);
  const resetOverrides = useAttackStore((s) => s.resetOverrides);
  // "Reset" remounts the fields, so a typed value that was never valid (never committed) goes too
  const [resets, setResets] = useState(0);
  const base = useId();
  const overrides = config.overrides[attack] ?? {};
  let resolved: Record<string, unknown> = {};
  let problem: string | null = null;
  try {
    resolved = ATTACKS[attack].resolve({ ...attackParams(config), targeted: config.targeted });
  } catch (e) {
    problem = e instanceof Error ? e.message : String(e);
  }
  // the attack's declared parameters (src/attacks/params.ts) that this run resolves to a value
  const fields = paramFields(ATTACKS[attack].params).filter(
    (f) => !OWN_FIELDS.has(f.key) && f.key in resolved,
  );
  const changed = Object.keys(overrides).length;
  return (
    <details className="attack-advanced" data-testid="attack-advanced">
      <summary>
        Attack parameters <span className="muted">({changed ? `${changed} changed` : 'defaults'})</span>
      </summary>
      <p className="muted small">
        Defaults from the attack's reference implementation ({ATTACKS[attack].paper}); some resolve against
        the norm, the image size or targeted-ness.
      </p>
      <div className="attack-advanced__grid">
        {fields.map((f) => {
          const k = f.key;
          const v = resolved[k];
          const id = `${base}-${k}`;
          const label = (
            <>
              {k}
              {k in overrides ? ' *' : ''}
            </>
          );
          if (typeof v === 'number' && f.kind !== 'enum') {
            return (
              <LabelField
                key={`${k}-${resets}`}
                id={id}
                label={label}
                hint={`${f.description ?? k}: ${f.range}`}
              >
                <NumberField
                  id={id}
                  value={v}
                  onCommit={(n) => setOverride(k, n)}
                  testId={`attack-param-${k}`}
                  invalidText={`${k} must be ${f.range}`}
                  step={f.kind === 'integer' ? 1 : 'any'}
                  integer={f.kind === 'integer'}
                  min={f.min}
                  max={f.max}
                  accepts={f.accepts}
                  disabled={disabled}
                />
              </LabelField>
            );
          }
          if (typeof v === 'string' && f.options) {
            const options = f.options;
            return (
              <LabelField key={k} id={id} label={label} hint={f.description}>
                <Select
                  id={id}
                  value={v}
                  disabled={disabled}
                  testId={`attack-param-${k}`}
                  onChange={(o) => setOverride(k, o)}
                >
                  <Options values={options} />
                </Select>
              </LabelField>
            );
          }
          return (
            <div key={k} className="field">
              <span className="field__label">{k}</span>
              <code className="small">{JSON.stringify(v)}</code>
            </div>
          );
        })}
      </div>
      {problem && (
        <p className="text-error small" role="alert" data-testid="attack-param-error">
          {problem}
        </p>
      )}
      <button
        type="button"
        className="button button--small"
        onClick={() => {
          resetOverrides();
          setResets((r) => r + 1);
        }}
        disabled={disabled || changed === 0}
        data-testid="attack-param-reset"
      >
        Reset to defaults
      </button>
    </details>
  );
}

function ModelOptions({ models }: { models: ModelInfo[] }) {
  return (
    <>
      {models.map((m) => (
        <option key={m.id} value={m.id}>
          {m.id} · {DEFENSE_LABEL[m.defense]}
          {isRandomized(m) ? ' (random)' : ''}
        </option>
      ))}
    </>
  );
}

function ModelField({
  id,
  config,
  setConfig,
  uploaded,
}: {
  id: string;
  config: AttackConfig;
  setConfig: AttackState['setConfig'];
  uploaded: CustomModelEntry[];
}) {
  return (
    <LabelField id={`${id}-model`} label="Target model">
      <Select
        id={`${id}-model`}
        value={config.model}
        onChange={(model) => setConfig({ model })}
        testId="attack-model"
      >
        {ARCHS.map((arch) => (
          <optgroup key={arch} label={ARCH_LABEL[arch]}>
            <ModelOptions models={MODELS.filter((m) => m.arch === arch)} />
          </optgroup>
        ))}
        {uploaded.length > 0 && (
          <optgroup label="Your models">
            <ModelOptions models={customModelInfoList(uploaded)} />
          </optgroup>
        )}
      </Select>
    </LabelField>
  );
}

function AttackMethodField({
  id,
  attack,
  setAttack,
}: {
  id: string;
  attack: AttackName;
  setAttack: AttackState['setAttack'];
}) {
  return (
    <LabelField id={`${id}-attack`} label="Attack">
      <Select id={`${id}-attack`} value={attack} onChange={setAttack} testId="attack-method">
        <Options
          values={ATTACK_NAMES}
          label={(n) => (
            <>
              {ATTACKS[n].title} · {ATTACKS[n].kind === 'gradient' ? 'white-box' : ATTACKS[n].kind}
            </>
          )}
        />
      </Select>
    </LabelField>
  );
}

function NormField({
  id,
  norm,
  norms,
  setNorm,
}: {
  id: string;
  norm: Norm;
  norms: readonly Norm[];
  setNorm: AttackState['setNorm'];
}) {
  return (
    <LabelField id={`${id}-norm`} label="Norm">
      <Select
        id={`${id}-norm`}
        value={norm}
        onChange={setNorm}
        disabled={norms.length < 2}
        testId="attack-norm"
      >
        <Options values={norms} label={(n) => NORM_LABEL[n]} />
      </Select>
    </LabelField>
  );
}

/** One line on the chosen attack: its paper, what it observes, and how targeted decision runs start. */
function AttackAbout({ info, targeted }: { info: AttackInfo; targeted: boolean }) {
  return (
    <p className="attack-setup__about muted small" data-testid="attack-about">
      <strong>{info.title}</strong> · {info.paper} ·{' '}
      {info.kind === 'decision'
        ? 'decision-based (labels only)'
        : info.kind === 'score'
          ? 'score-based (probabilities)'
          : 'white-box: reads the gradient of its loss through the model and its defense (averaged over EOT k draws on a randomized one); steps, restarts and loss under Attack parameters'}
      {targeted && info.kind === 'decision' && (
        <> · targeted runs start from a test image the model already assigns to the target class</>
      )}
    </p>
  );
}

/** ε for attacks with a budget; minimal-distance attacks have none, and say so. */
function EpsField({ id, norm, withEps }: { id: string; norm: Norm; withEps: boolean }) {
  return withEps ? (
    <LabelField id={`${id}-eps`} label={<>ε ({NORM_LABEL[norm]} budget)</>}>
      <ConfigNumber
        id={`${id}-eps`}
        field="eps"
        min={0}
        max={EPS_MAX[norm]}
        accepts={(v) => v > 0}
        step={norm === 'linf' ? 0.01 : 0.1}
        invalidText={`ε must be a number in (0, ${EPS_MAX[norm]}] for ${NORM_LABEL[norm]}`}
        testId="attack-eps"
      />
    </LabelField>
  ) : (
    <div className="field">
      <span className="field__label">ε</span>
      <span className="attack-setup__static muted small" data-testid="attack-eps-none">
        none — minimises the {NORM_LABEL[norm]} distance
      </span>
    </div>
  );
}

function GoalField({ config, setConfig }: { config: AttackConfig; setConfig: AttackState['setConfig'] }) {
  return (
    <div className="field">
      <span className="field__label">Goal</span>
      <div className="attack-setup__target">
        <label className="field--inline small">
          <input
            type="checkbox"
            checked={config.targeted}
            onChange={(e) => setConfig({ targeted: e.target.checked })}
            data-testid="attack-targeted"
          />
          targeted
        </label>
        <select
          aria-label="Target class"
          value={config.target}
          disabled={!config.targeted}
          onChange={(e) => setConfig({ target: Number(e.target.value) })}
          data-testid="attack-target"
        >
          {CLASS_NAMES_EN.map((n, i) => (
            <option key={n} value={i}>
              {n}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}

function SeedField({ id, setConfig }: { id: string; setConfig: AttackState['setConfig'] }) {
  return (
    <LabelField id={`${id}-seed`} label="Seed">
      <span className="attack-setup__seed">
        <ConfigNumber
          id={`${id}-seed`}
          field="seed"
          min={0}
          step={1}
          integer
          invalidText="The seed must be a whole number ≥ 0"
          testId="attack-seed"
          className="input--seed"
        />
        <button
          type="button"
          className="button button--small"
          title="Draw a new seed"
          onClick={() => setConfig({ seed: Math.floor(Math.random() * 2 ** 31) })}
          data-testid="attack-seed-random"
        >
          new
        </button>
      </span>
    </LabelField>
  );
}

/** What EOT costs; styled as a warning while a randomized model is attacked with k < 2. */
function EotNote({ id, config, randomized }: { id: string; config: AttackConfig; randomized: boolean }) {
  return (
    <p
      id={`${id}-eot-note`}
      className={`attack-note small ${randomized && config.eot < 2 ? 'attack-note--warn' : 'muted'}`}
      data-testid="attack-eot-note"
    >
      EOT (expectation over transformation) asks each query k times and averages the scores or takes the
      majority decision; <strong>k queries are charged per image</strong>, so the budget buys k× fewer steps.
      {randomized
        ? ` ${config.model} is a randomized defense: use k > 1, or the attack optimises against single lucky draws.`
        : ' Deterministic models need k = 1.'}
    </p>
  );
}

/** The attack lab's settings: target model, attack, norm, budget, goal, EOT, seed and advanced parameters. */
export function AttackSetup() {
  const config = useAttackStore((s) => s.config);
  const busy = useAttackStore((s) => isBusy(s.status));
  const setConfig = useAttackStore((s) => s.setConfig);
  const setAttack = useAttackStore((s) => s.setAttack);
  const setNorm = useAttackStore((s) => s.setNorm);
  const id = useId();
  const info = ATTACKS[config.attack];
  const model = findModel(config.model);
  const uploaded = useCustomModelStore((s) => s.models);
  const randomized = model ? isRandomized(model) : false;
  const withEps = hasEps(config.attack, config.norm);

  return (
    <fieldset className="attack-setup" disabled={busy} data-testid="attack-setup">
      <legend className="sr-only">Attack settings</legend>
      <EndpointPicker testId="attack-target-endpoint" />
      <div className="attack-setup__grid">
        <ModelField id={id} config={config} setConfig={setConfig} uploaded={uploaded} />

        <AttackMethodField id={id} attack={config.attack} setAttack={setAttack} />

        <NormField id={id} norm={config.norm} norms={info.norms} setNorm={setNorm} />

        <EpsField id={id} norm={config.norm} withEps={withEps} />

        {info.kind !== 'gradient' && (
          <LabelField id={`${id}-budget`} label="Query budget">
            <ConfigNumber
              id={`${id}-budget`}
              field="maxQueries"
              min={1}
              step={1}
              integer
              invalidText="The query budget must be a whole number ≥ 1"
              testId="attack-max-queries"
            />
          </LabelField>
        )}

        <GoalField config={config} setConfig={setConfig} />

        <LabelField id={`${id}-eot`} label="EOT k">
          <ConfigNumber
            id={`${id}-eot`}
            field="eot"
            min={1}
            max={64}
            step={1}
            integer
            invalidText="EOT k must be a whole number from 1 to 64"
            testId="attack-eot"
            className="input--narrow"
            describedBy={`${id}-eot-note`}
          />
        </LabelField>

        <SeedField id={id} setConfig={setConfig} />
      </div>

      <AttackAbout info={info} targeted={config.targeted} />
      <EotNote id={id} config={config} randomized={randomized} />

      <AdvancedParams attack={config.attack} disabled={busy} />
    </fieldset>
  );
}
