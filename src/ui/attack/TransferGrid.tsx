/** Transferability: the adversarial image classified by all fifteen models, one compact card each. */
import { CLASS_NAMES_DE, CLASS_NAMES_EN } from '../../core/labels';
import { isRandomized, MODELS } from '../../core/models';
import { type TransferEntry, useAttackStore } from '../../stores/attack';
import { useCustomModelStore } from '../../stores/customModelStore';
import { customModelInfoList, findModel } from '../customModels';
import { modelShort, pct } from './format';
import { classifyWithAll } from './runner';

function TransferCard({
  entry,
  label,
  target,
}: {
  entry: TransferEntry;
  label: number;
  target: number | null;
}) {
  const model = findModel(entry.model);
  const randomized = model ? isRandomized(model) : false;
  const adv = entry.adversarial;
  const clean = entry.clean;
  const fooledShare = adv && adv.fooled !== undefined ? adv.fooled / adv.draws : null;
  const fooled = fooledShare !== null ? fooledShare > 0.5 : null;
  const cleanWrong = clean ? (target === null ? clean.pred !== label : clean.pred === target) : false;
  const state = entry.status !== 'ready' ? entry.status : fooled ? 'fooled' : 'resisted';
  return (
    <li
      className={`attack-transfer__card is-${state}`}
      data-testid={`attack-transfer-card-${entry.model}`}
      data-status={entry.status}
      data-fooled={fooled === null ? undefined : fooled}
      data-class={adv?.pred}
    >
      <div className="attack-transfer__head">
        <span className="attack-transfer__id">{entry.model}</span>
        {randomized && (
          <span
            className="badge badge--random"
            title="Randomized defense: the count of fresh draws the image fools; the card counts as fooled above half"
          >
            random
          </span>
        )}
      </div>
      <span className="attack-transfer__desc muted">{modelShort(entry.model)}</span>
      {entry.status === 'pending' && <span className="muted small">classifying…</span>}
      {entry.status === 'error' && (
        <span className="text-error small" title={entry.error}>
          unavailable
        </span>
      )}
      {adv && (
        <>
          <span className="attack-transfer__class" title={`API: „${CLASS_NAMES_DE[adv.pred]}“`}>
            {CLASS_NAMES_EN[adv.pred]} <span className="muted">{pct(adv.probs[adv.pred], 0)}</span>
          </span>
          <span
            className={`verdict ${fooled ? 'verdict--bad' : 'verdict--ok'}`}
            data-testid="attack-transfer-verdict"
          >
            {adv.draws > 1 ? `fooled in ${adv.fooled}/${adv.draws} draws` : fooled ? 'fooled' : 'not fooled'}
          </span>
          {cleanWrong && (
            <span className="muted small" title="The model already gets the original image wrong">
              already wrong on the original
            </span>
          )}
        </>
      )}
    </li>
  );
}

export function TransferGrid() {
  const transfer = useAttackStore((s) => s.transfer);
  const running = useAttackStore((s) => s.transferRunning);
  const meta = useAttackStore((s) => s.meta);
  const uploaded = useCustomModelStore((s) => s.models);
  if (!meta) return null;
  const all = [...MODELS, ...customModelInfoList(uploaded)];
  const entries = transfer ? all.map((m) => transfer[m.id]).filter(Boolean) : [];
  const ready = entries.filter((e) => e.status === 'ready');
  const fooledCount = ready.filter(
    (e) => e.adversarial && (e.adversarial.fooled ?? 0) / e.adversarial.draws > 0.5,
  ).length;
  return (
    <section className="attack-transfer" data-testid="attack-transfer" aria-label="Transferability">
      <div className="attack-transfer__bar">
        <button
          type="button"
          className="button button--small"
          onClick={() => void classifyWithAll()}
          disabled={running}
          data-testid="attack-transfer-run"
        >
          {running ? `Classifying… ${ready.length}/${all.length}` : `Classify with all ${all.length} models`}
        </button>
        {transfer && !running && (
          <span className="muted small" data-testid="attack-transfer-summary" data-fooled={fooledCount}>
            {fooledCount} of {ready.length} models fooled
            {meta.target !== null ? ` (classified as ${CLASS_NAMES_EN[meta.target]})` : ''}
          </span>
        )}
      </div>
      {transfer && (
        <ul className="attack-transfer__grid" data-testid="attack-transfer-grid">
          {entries.map((e) => (
            <TransferCard key={e.model} entry={e} label={meta.label} target={meta.target} />
          ))}
        </ul>
      )}
    </section>
  );
}
