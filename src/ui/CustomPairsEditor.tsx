/** Advanced: pair any input preprocessor (noise, resize & pad, blur) with any weight set. */
import { useState } from 'react';
import { BLUR_DEFAULT, NOISE_DEFAULT, type PreprocessorSpec, RESIZE_PAD_DEFAULT } from '../core/models';
import { useModelStore } from '../stores/modelStore';
import { Field, Options, SelectField } from './fields';
import { Icon } from './icons';
import {
  customTarget,
  describePreprocessor,
  describeWeights,
  useWeightChoices,
  WEIGHT_CHOICES,
} from './targets';

type Kind = 'none' | PreprocessorSpec['kind'];

function numberList(text: string): number[] | null {
  const parts = text.split(/[,\s]+/).filter(Boolean);
  const nums = parts.map(Number);
  return nums.length && nums.every(Number.isFinite) ? nums : null;
}

type ParamKey = 'sigma' | 'probability' | 'ratios' | 'offsets' | 'kw' | 'kh' | 'smin' | 'smax';

/** One preprocessor parameter's input: a number (step "any" unless given) or, for lists, text. */
interface ParamField {
  key: ParamKey;
  label: string;
  testId: string;
  list?: boolean;
  step?: number;
  min?: number;
  max?: number;
}

const PARAM_FIELDS: Record<PreprocessorSpec['kind'], ParamField[]> = {
  noise: [{ key: 'sigma', label: 'σ', step: 0.01, min: 0, max: 1, testId: 'custom-sigma' }],
  resize_pad: [
    { key: 'probability', label: 'Probability', step: 0.05, min: 0, max: 1, testId: 'custom-probability' },
    { key: 'ratios', label: 'Ratios r', list: true, testId: 'custom-ratios' },
    { key: 'offsets', label: 'Offsets a, b', list: true, testId: 'custom-offsets' },
  ],
  blur: [
    { key: 'kw', label: 'Kernel width', step: 2, min: 1, max: 27, testId: 'custom-kw' },
    { key: 'kh', label: 'Kernel height', step: 2, min: 1, max: 27, testId: 'custom-kh' },
    { key: 'smin', label: 'σ min', step: 0.1, min: 0, testId: 'custom-sigma-min' },
    { key: 'smax', label: 'σ max', step: 0.1, min: 0, testId: 'custom-sigma-max' },
  ],
};

function ParamInput({
  field,
  value,
  onChange,
}: {
  field: ParamField;
  value: string;
  onChange: (v: string) => void;
}) {
  const number = field.list ? {} : { step: field.step ?? 'any', min: field.min, max: field.max };
  return (
    <Field label={field.label}>
      {(id) => (
        <input
          id={id}
          type={field.list ? 'text' : 'number'}
          value={value}
          {...number}
          data-testid={field.testId}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

function initialParams(): Record<ParamKey, string> {
  const rp = RESIZE_PAD_DEFAULT.kind === 'resize_pad' ? RESIZE_PAD_DEFAULT : null;
  const bl = BLUR_DEFAULT.kind === 'blur' ? BLUR_DEFAULT : null;
  return {
    sigma: String(NOISE_DEFAULT.kind === 'noise' ? NOISE_DEFAULT.sigma : 0.1),
    probability: String(rp?.probability ?? 0.8),
    ratios: (rp?.ratios ?? []).join(', '),
    offsets: (rp?.offsets ?? []).join(', '),
    kw: String(bl?.kernelWidth ?? 5),
    kh: String(bl?.kernelHeight ?? 9),
    smin: String(bl?.sigmaMin ?? 0.1),
    smax: String(bl?.sigmaMax ?? 5),
  };
}

export function CustomPairsEditor() {
  const pairs = useModelStore((s) => s.customPairs);
  const { addCustomPair, removeCustomPair } = useModelStore.getState();
  const [weights, setWeights] = useState(WEIGHT_CHOICES[0]);
  const weightChoices = useWeightChoices();
  const [kind, setKind] = useState<Kind>('blur');
  const [params, setParams] = useState(initialParams);
  const { sigma, probability, ratios, offsets, kw, kh, smin, smax } = params;

  let spec: PreprocessorSpec | null = null;
  let problem: string | null = null;
  if (kind === 'noise') {
    const s = Number(sigma);
    if (!(s >= 0 && s <= 1)) problem = 'σ must be between 0 and 1';
    else spec = { kind: 'noise', sigma: s };
  } else if (kind === 'resize_pad') {
    const p = Number(probability);
    const r = numberList(ratios);
    const o = numberList(offsets);
    if (!(p >= 0 && p <= 1)) problem = 'probability must be between 0 and 1';
    else if (!r || r.some((x) => !(x >= 0 && x < 1))) problem = 'ratios must be numbers in [0, 1)';
    else if (!o || o.some((x) => !(x >= 0 && x <= 1))) problem = 'offsets must be numbers in [0, 1]';
    else spec = { kind: 'resize_pad', probability: p, ratios: r, offsets: o };
  } else if (kind === 'blur') {
    const w = Number(kw);
    const h = Number(kh);
    const lo = Number(smin);
    const hi = Number(smax);
    const oddOk = (k: number) => Number.isInteger(k) && k >= 1 && k <= 27 && k % 2 === 1;
    if (!oddOk(w) || !oddOk(h)) problem = 'kernel sizes must be odd integers from 1 to 27';
    else if (!(lo > 0 && hi >= lo)) problem = 'need 0 < σ min ≤ σ max';
    else spec = { kind: 'blur', kernelWidth: w, kernelHeight: h, sigmaMin: lo, sigmaMax: hi };
  }

  return (
    <details className="custom-pairs" data-testid="custom-pairs" open={pairs.length > 0 || undefined}>
      <summary>
        Custom pairs{' '}
        <span className="muted">(advanced: any preprocessor × any weights, your models too)</span>
        {pairs.length > 0 && <span className="panel__count">{pairs.length}</span>}
      </summary>
      <form
        className="custom-pairs__form"
        onSubmit={(e) => {
          e.preventDefault();
          if (problem) return;
          addCustomPair(weights, kind === 'none' ? null : spec);
        }}
      >
        <SelectField label="Weights" value={weights} onChange={setWeights} testId="custom-weights">
          <Options values={weightChoices} label={describeWeights} />
        </SelectField>
        <SelectField<Kind> label="Preprocessor" value={kind} onChange={setKind} testId="custom-preprocessor">
          <option value="none">none</option>
          <option value="noise">Gaussian noise</option>
          <option value="resize_pad">random resize &amp; pad</option>
          <option value="blur">Gaussian blur (thesis code's _4)</option>
        </SelectField>
        {kind !== 'none' &&
          PARAM_FIELDS[kind].map((f) => (
            <ParamInput
              key={f.key}
              field={f}
              value={params[f.key]}
              onChange={(v) => setParams((p) => ({ ...p, [f.key]: v }))}
            />
          ))}
        <div className="custom-pairs__submit">
          <button
            type="submit"
            className="button button--primary"
            disabled={problem !== null}
            data-testid="custom-add"
          >
            Add pair
          </button>
          {problem ? (
            <span className="text-error" role="status">
              {problem}
            </span>
          ) : (
            <span className="muted">
              {weights} + {kind === 'none' ? 'no preprocessor' : describePreprocessor(spec)}
            </span>
          )}
        </div>
      </form>
      {pairs.length > 0 && (
        <ul className="chips" aria-label="Custom pairs">
          {pairs.map((p) => {
            const t = customTarget(p);
            return (
              <li key={p.key} className="chip" data-testid={`custom-pair-${p.key}`} title={t.description}>
                {t.name}
                <button
                  type="button"
                  className="chip__remove"
                  aria-label={`Remove ${t.name}`}
                  onClick={() => removeCustomPair(p.key)}
                >
                  <Icon name="x" size={12} />
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </details>
  );
}
