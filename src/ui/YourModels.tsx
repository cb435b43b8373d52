/**
 * "Your models": upload an ONNX classifier (file input or drag and drop), see why a file was refused,
 * remove a model, evaluate it on the test set. Thin: the work is in ./customModels.ts.
 */
import { useState } from 'react';
import { type CustomModelEntry, EXPECTED_MODEL } from '../core/custom-models';
import { CLASS_NAMES_EN } from '../core/labels';
import {
  type CustomModelState,
  type Evaluation,
  type Refusal,
  type UploadProgress,
  useCustomModelStore,
} from '../stores/customModelStore';
import { useEngineStore } from '../stores/engineStore';
import { evaluateCustomModel, forgetUnrestored, removeCustomModel, uploadCustomModel } from './customModels';
import { percent } from './format';
import { Icon } from './icons';

function mib(n: number): string {
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

const VANILLA = [
  ['0', 'CNN'],
  ['2', 'ResNet18'],
  ['5', 'ViT'],
] as const;

function EvaluationView({ id, ev }: { id: string; ev: Evaluation }) {
  const manifest = useEngineStore((s) => s.models);
  const fraction = ev.total > 0 ? ev.done / ev.total : 0;
  return (
    <div className="your-models__eval" data-testid={`custom-eval-${id}`} data-state={ev.state}>
      {ev.state === 'running' && (
        <div className="your-models__progress">
          <span
            className="progress"
            role="progressbar"
            aria-valuemin={0}
            aria-valuemax={ev.total}
            aria-valuenow={ev.done}
            aria-label={`Evaluating ${id} on the test set`}
          >
            <span className="progress__bar" style={{ width: `${Math.round(fraction * 100)}%` }} />
          </span>
          <span className="muted small">
            {ev.done.toLocaleString('en')} / {ev.total.toLocaleString('en')} test images
          </span>
        </div>
      )}
      {ev.state === 'error' && <p className="text-error">Evaluation failed: {ev.error}</p>}
      {ev.state === 'done' && ev.accuracy !== null && (
        <p>
          Clean accuracy on the 10,000 test images:{' '}
          <strong data-testid={`custom-eval-accuracy-${id}`} data-value={ev.accuracy}>
            {percent(ev.accuracy)}
          </strong>{' '}
          <span className="muted">
            ({ev.ms !== null ? `${(ev.ms / 1000).toFixed(1)} s; ` : ''}
            vanilla{' '}
            {VANILLA.map(([mid, name]) => {
              const a = manifest[mid]?.cleanAccuracy;
              return `${name} ${typeof a === 'number' ? percent(a) : '–'}`;
            }).join(', ')}
            )
          </span>
        </p>
      )}
      {ev.done > 0 && (
        <table className="status-table your-models__table">
          <thead>
            <tr>
              <th scope="col">class</th>
              <th scope="col">images</th>
              <th scope="col">correct</th>
              <th scope="col">accuracy</th>
            </tr>
          </thead>
          <tbody>
            {CLASS_NAMES_EN.map((name, c) => (
              <tr key={name}>
                <th scope="row">
                  {c} {name}
                </th>
                <td>{ev.perClass[c]}</td>
                <td>{ev.correct[c]}</td>
                <td>{ev.perClass[c] > 0 ? percent(ev.correct[c] / ev.perClass[c]) : '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function ModelItem({ entry }: { entry: CustomModelEntry }) {
  const persisted = useCustomModelStore((s) => s.persisted[entry.id]);
  const ev = useCustomModelStore((s) => s.evaluations[entry.id]);
  const { spec } = entry;
  return (
    <li className="your-models__item" data-testid={`custom-model-${entry.id}`}>
      <div className="your-models__head">
        <strong>{entry.id}</strong>
        <span className="muted small">
          {entry.fileName} · {mib(entry.bytes)} · sha256{' '}
          <code title={entry.sha256}>{entry.sha256.slice(0, 12)}…</code>
          {persisted === false && ' · not saved in this browser'}
        </span>
        <span className="button-row">
          <button
            type="button"
            className="button button--small"
            onClick={() => void evaluateCustomModel(entry.id)}
            disabled={ev?.state === 'running'}
            data-testid={`custom-evaluate-${entry.id}`}
          >
            Evaluate on the test set
          </button>
          <button
            type="button"
            className="button button--small button--ghost"
            onClick={() => void removeCustomModel(entry.id)}
            aria-label={`Remove ${entry.id}`}
            data-testid={`custom-remove-${entry.id}`}
          >
            <Icon name="x" size={12} /> Remove
          </button>
        </span>
      </div>
      <p className="muted small">
        input <code>{spec.inputName}</code> [{spec.inputShape.join(',') || 'N,1,28,28'}] · output{' '}
        <code>{spec.outputName}</code> [{spec.outputShape.join(',') || 'N,10'}] ·{' '}
        {spec.outputs === 'probabilities' ? 'probabilities (passed on)' : 'logits (softmax applied)'}
        {spec.batch === 1 ? ' · batch fixed at 1' : ''} · API <code>POST /custom/{entry.id}/decision</code>,{' '}
        <code>/score</code>; defended <code>/custom/{entry.id}/3/…</code> (resize &amp; pad),{' '}
        <code>/4/…</code> (noise σ 0.1), <code>/blur/…</code>
      </p>
      {entry.whiteBox !== undefined && (
        <p
          className={`small ${entry.whiteBox === null ? 'muted' : 'attack-note--warn'}`}
          data-testid={`custom-whitebox-${entry.id}`}
          data-value={entry.whiteBox === null ? 'yes' : 'no'}
        >
          {entry.whiteBox === null
            ? 'White-box attacks (FGSM, PGD) work on it: every op has a gradient rule.'
            : `Black-box only: white-box attacks cannot differentiate it (${entry.whiteBox}). Every other use works.`}
        </p>
      )}
      {ev && <EvaluationView id={entry.id} ev={ev} />}
    </li>
  );
}

function UploadBusy({ upload }: { upload: UploadProgress }) {
  return (
    <span className="dropzone__busy your-models__progress" data-testid="custom-upload-progress">
      <span className="progress">
        <span
          className="progress__bar"
          style={{ width: `${Math.round((upload.total ? upload.loaded / upload.total : 0) * 100)}%` }}
        />
      </span>
      {upload.phase === 'reading'
        ? `Reading ${upload.fileName}: ${mib(upload.loaded)} of ${mib(upload.total)}`
        : upload.phase === 'checking'
          ? `Checking ${upload.fileName} in onnxruntime…`
          : `Saving ${upload.fileName} in this browser…`}
    </span>
  );
}

/** The .onnx file input, also a drop target; `take` uploads the files one after another. */
function Dropzone({
  upload,
  take,
}: {
  upload: UploadProgress | null;
  take: (files: FileList | null) => Promise<void>;
}) {
  const [dragging, setDragging] = useState(false);
  return (
    <label
      className={`dropzone your-models__drop ${dragging ? 'is-dragging' : ''}`}
      data-testid="custom-dropzone"
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        void take(e.dataTransfer.files);
      }}
    >
      <span className="dropzone__title">Drop an .onnx file here or choose one</span>
      <input
        type="file"
        accept=".onnx"
        multiple
        data-testid="custom-file-input"
        disabled={upload !== null}
        onChange={(e) => {
          const files = e.currentTarget.files;
          void take(files).finally(() => {
            e.target.value = '';
          });
        }}
      />
      {upload && <UploadBusy upload={upload} />}
    </label>
  );
}

/** Saved models that could not be served again, refused uploads, and a storage problem, each dismissable. */
function Messages({
  unrestored,
  refusals,
  notice,
}: {
  unrestored: CustomModelState['unrestored'];
  refusals: Refusal[];
  notice: string | null;
}) {
  const { dismissRefusal, setStorageNotice } = useCustomModelStore.getState();
  return (
    <>
      {unrestored.map((u) => (
        <div
          key={u.id}
          className="inline-error your-models__refusal"
          role="alert"
          data-testid="custom-unrestored"
        >
          <span>
            Saved model “{u.fileName}” could not be served again ({u.message}). It stays saved and is retried
            on the next visit.
          </span>
          <button
            type="button"
            className="button button--small"
            onClick={() => void forgetUnrestored(u.id)}
            data-testid="custom-unrestored-remove"
          >
            Remove
          </button>
        </div>
      ))}
      {refusals.map((r) => (
        <div
          key={r.time}
          className="inline-error your-models__refusal"
          role="alert"
          data-testid="custom-refusal"
        >
          <span>{r.message}</span>
          <button
            type="button"
            className="chip__remove"
            aria-label={`Dismiss the message about ${r.fileName}`}
            onClick={() => dismissRefusal(r.time)}
          >
            <Icon name="x" size={12} />
          </button>
        </div>
      ))}
      {notice && (
        <div className="inline-error your-models__refusal" role="status" data-testid="custom-storage-notice">
          <span>{notice}</span>
          <button
            type="button"
            className="chip__remove"
            aria-label="Dismiss the storage message"
            onClick={() => setStorageNotice(null)}
          >
            <Icon name="x" size={12} />
          </button>
        </div>
      )}
    </>
  );
}

/** The "Your models" panel: upload, messages, and the list of uploaded models. */
export function YourModels() {
  const models = useCustomModelStore((s) => s.models);
  const upload = useCustomModelStore((s) => s.upload);
  const refusals = useCustomModelStore((s) => s.refusals);
  const unrestored = useCustomModelStore((s) => s.unrestored);
  const notice = useCustomModelStore((s) => s.storageNotice);
  const [probabilities, setProbabilities] = useState(false);

  const take = async (files: FileList | null) => {
    for (const f of files ? [...files] : [])
      await uploadCustomModel(f, probabilities ? 'probabilities' : 'logits');
  };

  return (
    <section className="panel your-models" aria-labelledby="your-models-heading" data-testid="your-models">
      <div className="panel__header">
        <h2 id="your-models-heading" className="panel__title">
          Your models {models.length > 0 && <span className="panel__count">{models.length}</span>}
        </h2>
      </div>
      <p className="hint muted" data-testid="custom-expected">
        Bring an ONNX classifier and compare and attack it beside the fifteen. Expected: {EXPECTED_MODEL}. It
        is served at <code>/custom/&lt;file name&gt;/decision</code> and <code>/score</code> and kept in this
        browser until removed.
      </p>
      <Dropzone upload={upload} take={take} />
      <label className="your-models__check">
        <input
          type="checkbox"
          checked={probabilities}
          onChange={(e) => setProbabilities(e.target.checked)}
          data-testid="custom-probabilities"
        />{' '}
        outputs are already probabilities{' '}
        <span className="muted">(otherwise they are taken as logits and softmax is applied)</span>
      </label>
      <Messages unrestored={unrestored} refusals={refusals} notice={notice} />
      {models.length > 0 && (
        <ul className="your-models__list" aria-label="Your models">
          {models.map((m) => (
            <ModelItem key={m.id} entry={m} />
          ))}
        </ul>
      )}
    </section>
  );
}
