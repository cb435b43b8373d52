/** Advanced: pair any input preprocessor (noise, resize & pad, blur) with any weight set. */
import { useId, useState } from 'react';
import { BLUR_DEFAULT, NOISE_DEFAULT, type PreprocessorSpec, RESIZE_PAD_DEFAULT } from '../core/models';
import { useModelStore } from '../stores/modelStore';
import { Icon } from './icons';
import { customTarget, describePreprocessor, describeWeights, WEIGHT_CHOICES } from './targets';

type Kind = 'none' | PreprocessorSpec['kind'];

function numberList(text: string): number[] | null {
  const parts = text.split(/[,\s]+/).filter(Boolean);
  const nums = parts.map(Number);
  return nums.length && nums.every(Number.isFinite) ? nums : null;
}

function NumberField(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  step?: number;
  min?: number;
  max?: number;
  testId: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id} className="field__label">
        {props.label}
      </label>
      <input
        id={id}
        type="number"
        value={props.value}
        step={props.step ?? 'any'}
        min={props.min}
        max={props.max}
        data-testid={props.testId}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </div>
  );
}

function TextField(props: { label: string; value: string; onChange: (v: string) => void; testId: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id} className="field__label">
        {props.label}
      </label>
      <input
        id={id}
        type="text"
        value={props.value}
        data-testid={props.testId}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </div>
  );
}

export function CustomPairsEditor() {
  const pairs = useModelStore((s) => s.customPairs);
  const { addCustomPair, removeCustomPair } = useModelStore.getState();
  const weightsId = useId();
  const kindId = useId();
  const [weights, setWeights] = useState(WEIGHT_CHOICES[0]);
  const [kind, setKind] = useState<Kind>('blur');
  const [sigma, setSigma] = useState(String(NOISE_DEFAULT.kind === 'noise' ? NOISE_DEFAULT.sigma : 0.1));
  const rp = RESIZE_PAD_DEFAULT.kind === 'resize_pad' ? RESIZE_PAD_DEFAULT : null;
  const [probability, setProbability] = useState(String(rp?.probability ?? 0.8));
  const [ratios, setRatios] = useState((rp?.ratios ?? []).join(', '));
  const [offsets, setOffsets] = useState((rp?.offsets ?? []).join(', '));
  const bl = BLUR_DEFAULT.kind === 'blur' ? BLUR_DEFAULT : null;
  const [kw, setKw] = useState(String(bl?.kernelWidth ?? 5));
  const [kh, setKh] = useState(String(bl?.kernelHeight ?? 9));
  const [smin, setSmin] = useState(String(bl?.sigmaMin ?? 0.1));
  const [smax, setSmax] = useState(String(bl?.sigmaMax ?? 5));

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
        Custom pairs <span className="muted">(advanced: any preprocessor × any weights)</span>
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
        <div className="field">
          <label htmlFor={weightsId} className="field__label">
            Weights
          </label>
          <select
            id={weightsId}
            value={weights}
            onChange={(e) => setWeights(e.target.value)}
            data-testid="custom-weights"
          >
            {WEIGHT_CHOICES.map((w) => (
              <option key={w} value={w}>
                {describeWeights(w)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={kindId} className="field__label">
            Preprocessor
          </label>
          <select
            id={kindId}
            value={kind}
            onChange={(e) => setKind(e.target.value as Kind)}
            data-testid="custom-preprocessor"
          >
            <option value="none">none</option>
            <option value="noise">Gaussian noise</option>
            <option value="resize_pad">random resize &amp; pad</option>
            <option value="blur">Gaussian blur (thesis code's _4)</option>
          </select>
        </div>
        {kind === 'noise' && (
          <NumberField
            label="σ"
            value={sigma}
            onChange={setSigma}
            step={0.01}
            min={0}
            max={1}
            testId="custom-sigma"
          />
        )}
        {kind === 'resize_pad' && (
          <>
            <NumberField
              label="Probability"
              value={probability}
              onChange={setProbability}
              step={0.05}
              min={0}
              max={1}
              testId="custom-probability"
            />
            <TextField label="Ratios r" value={ratios} onChange={setRatios} testId="custom-ratios" />
            <TextField label="Offsets a, b" value={offsets} onChange={setOffsets} testId="custom-offsets" />
          </>
        )}
        {kind === 'blur' && (
          <>
            <NumberField
              label="Kernel width"
              value={kw}
              onChange={setKw}
              step={2}
              min={1}
              max={27}
              testId="custom-kw"
            />
            <NumberField
              label="Kernel height"
              value={kh}
              onChange={setKh}
              step={2}
              min={1}
              max={27}
              testId="custom-kh"
            />
            <NumberField
              label="σ min"
              value={smin}
              onChange={setSmin}
              step={0.1}
              min={0}
              testId="custom-sigma-min"
            />
            <NumberField
              label="σ max"
              value={smax}
              onChange={setSmax}
              step={0.1}
              min={0}
              testId="custom-sigma-max"
            />
          </>
        )}
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
