/**
 * The shipped test set, or one of the adversarial sets crafted from it: filter by class, random
 * pick, jump to an index; marks which models got each right.
 */
import { useEffect, useId, useMemo, useState } from 'react';
import { engine } from '../app/runtime';
import { CLASS_NAMES_EN } from '../core/labels';
import { type AdversarialIndex, type AdversarialSet, adversarialImageAt } from '../data/adversarial';
import { imageAt, type TestSet } from '../data/idx';
import { filteredIndices, GALLERY_PAGE_SIZE, useGalleryStore } from '../stores/galleryStore';
import { useImageStore } from '../stores/imageStore';
import { AdversarialTwin } from './AdversarialTwin';
import { Icon } from './icons';
import { PixelImage } from './PixelImage';
import { describeWeights, type Target, useTargets } from './targets';
import { chooseGallerySource, ensureAdversarialIndex, ensureTestSet } from './testSet';
import { revealInGallery, showAdversarialImage, showTestImage } from './urlState';
import { serialized } from './useAutoClassify';

type Verdicts = Record<number, { key: string; name: string; pred: number }[]>;

/** The gallery's image of test-set index i: the clean one, or the adversarial set's. */
function pixelsOf(testSet: TestSet, adversarial: AdversarialSet | null, i: number): Uint8Array {
  return adversarial ? adversarialImageAt(adversarial, i) : imageAt(testSet, i);
}

/** Classifies the visible page with every selected model (one batch per model), for the ✓/✗ dots. */
function usePageVerdicts(
  set: TestSet | null,
  adversarial: AdversarialSet | null,
  indices: number[],
  targets: Target[],
): Verdicts {
  const [verdicts, setVerdicts] = useState<Verdicts>({});
  const key = `${adversarial?.name ?? ''}|${indices.join(',')}|${targets.map((t) => t.key).join(',')}`;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` captures indices and targets
  useEffect(() => {
    setVerdicts({});
    if (!set || indices.length === 0 || targets.length === 0) return;
    let cancelled = false;
    const timer = setTimeout(async () => {
      const inputs = indices.map((i) => Float32Array.from(pixelsOf(set, adversarial, i), (v) => v / 255));
      const acc: Verdicts = {};
      for (const t of targets) {
        if (cancelled) return;
        try {
          const out = (await serialized(() =>
            engine.classify({
              model: t.modelId ?? { weights: t.weights, preprocessor: t.preprocessor },
              inputs,
            }),
          )) as { preds: number[] };
          indices.forEach((idx, i) => {
            acc[idx] = [...(acc[idx] ?? []), { key: t.key, name: t.name, pred: out.preds[i] }];
          });
          if (!cancelled) setVerdicts({ ...acc });
        } catch {
          /* a model that cannot load is reported on its card */
        }
      }
    }, 500);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [set, key]);
  return verdicts;
}

/** Whether n is an index of the test set that the shown set (if any) holds. */
function inSet(n: number, testSet: TestSet, shown: AdversarialSet | null): boolean {
  return Number.isInteger(n) && n >= 0 && n < testSet.count && (!shown || shown.position.has(n));
}

/** The thumbnail's accessible summary of which selected models got it right ('' before any verdict). */
function verdictSummary(marks: Verdicts[number], label: number): string {
  if (!marks.length) return '';
  const right = marks.filter((m) => m.pred === label).length;
  return ` — ${right} of ${marks.length} selected models right: ${marks
    .map((m) => `${m.name} ${m.pred === label ? '✓' : `✗ (${CLASS_NAMES_EN[m.pred]})`}`)
    .join(', ')}`;
}

function GalleryError({ error }: { error: string | null }) {
  return (
    <div className="inline-error" role="alert" data-testid="gallery-error">
      <Icon name="alert" /> The test set could not be loaded: {error}
      <button type="button" className="button" onClick={() => ensureTestSet().catch(() => {})}>
        Retry
      </button>
    </div>
  );
}

/** Chooses between the clean test set and the adversarial sets on offer. */
function GallerySourcePicker({
  source,
  advIndex,
}: {
  source: string | null;
  advIndex: AdversarialIndex | null;
}) {
  const sourceId = useId();
  return (
    <div className="gallery__source">
      <label htmlFor={sourceId} className="small">
        Images
      </label>
      <select
        id={sourceId}
        value={source ?? ''}
        data-testid="gallery-source"
        onChange={(e) => void chooseGallerySource(e.target.value === '' ? null : e.target.value)}
      >
        <option value="">Clean test set (10,000)</option>
        {(advIndex?.sets ?? []).map((s) => (
          <option key={s.name} value={`adversarial/${s.name}`}>
            PGD ε {s.eps} from {describeWeights(s.source)} ({s.count.toLocaleString('en')}; its own accuracy{' '}
            {(100 * s.source_accuracy).toFixed(1)} %)
          </option>
        ))}
      </select>
    </div>
  );
}

/** The chosen set's loading line, its error, or what its images are. */
function GallerySourceStatus(props: {
  source: string | null;
  shown: AdversarialSet | null;
  sourceError: string | null;
}) {
  const { source, shown, sourceError } = props;
  return (
    <>
      {source !== null && !shown && !sourceError && (
        <p className="muted loading-line" data-testid="gallery-source-loading">
          Loading {source}…
        </p>
      )}
      {sourceError && (
        <div className="inline-error" role="alert" data-testid="gallery-source-error">
          <Icon name="alert" /> {sourceError}
        </div>
      )}
      {shown && (
        <p className="small muted" data-testid="gallery-source-note">
          White-box L∞ PGD-{shown.card.attack.steps} images crafted on{' '}
          {describeWeights(shown.card.source.model)}, sent to every selected model as they are: a transfer
          attack on other weights; on model {shown.card.source.model} itself white-box, and on its weights
          behind a random preprocessor (_3, _4) a white-box attack that ignores the preprocessor.
        </p>
      )}
    </>
  );
}

/** The class filter, the random pick and the jump-to-index form. */
function GalleryToolbar(props: {
  classFilter: number | null;
  onRandom: () => void;
  jump: string;
  setJump: (jump: string) => void;
  jumpValid: boolean;
  maxIndex: number;
  onGo: () => void;
}) {
  const { classFilter, onRandom, jump, setJump, jumpValid, maxIndex, onGo } = props;
  const filterId = useId();
  const jumpId = useId();
  const { setClassFilter } = useGalleryStore.getState();
  return (
    <div className="gallery__toolbar">
      <label htmlFor={filterId} className="sr-only">
        Filter by class
      </label>
      <select
        id={filterId}
        className="gallery__filter"
        value={classFilter ?? ''}
        data-testid="gallery-class-filter"
        onChange={(e) => setClassFilter(e.target.value === '' ? null : Number(e.target.value))}
      >
        <option value="">All classes</option>
        {CLASS_NAMES_EN.map((n, i) => (
          <option key={n} value={i}>
            {n}
          </option>
        ))}
      </select>
      <button
        type="button"
        className="icon-button"
        onClick={onRandom}
        data-testid="gallery-random"
        aria-label={`Random test image${classFilter === null ? '' : ` of class ${CLASS_NAMES_EN[classFilter]}`}`}
        title="Random test image (of the chosen class)"
      >
        <Icon name="dice" />
      </button>
      <form
        className="gallery__jump"
        onSubmit={(e) => {
          e.preventDefault();
          onGo();
        }}
      >
        <label htmlFor={jumpId} className="sr-only">
          Test image index
        </label>
        <input
          id={jumpId}
          type="number"
          min={0}
          max={maxIndex}
          placeholder="# index"
          value={jump}
          onChange={(e) => setJump(e.target.value)}
          data-testid="gallery-index"
        />
        <button type="submit" className="button" disabled={!jumpValid} data-testid="gallery-go">
          Go
        </button>
      </form>
    </div>
  );
}

/** One thumbnail with a ✓/✗ dot per selected model. */
function GalleryThumb(props: {
  testSet: TestSet;
  shown: AdversarialSet | null;
  idx: number;
  marks: Verdicts[number];
  pressed: boolean;
  onPick: (idx: number) => void;
}) {
  const { testSet, shown, idx, marks, pressed, onPick } = props;
  const label = testSet.labels[idx];
  const summary = verdictSummary(marks, label);
  return (
    <li>
      <button
        type="button"
        className="thumb"
        aria-pressed={pressed}
        aria-label={`${shown ? 'Adversarial image of test' : 'Test image'} #${idx}: ${CLASS_NAMES_EN[label]}${summary}`}
        title={`#${idx} · ${CLASS_NAMES_EN[label]}${summary}`}
        data-testid={`gallery-item-${idx}`}
        data-label={label}
        onClick={() => onPick(idx)}
      >
        <PixelImage data={pixelsOf(testSet, shown, idx)} size={44} label="" />
        <span className="thumb__index">#{idx}</span>
        {marks.length > 0 && (
          <span className="thumb__marks" aria-hidden="true">
            {marks.map((m) => (
              <span key={m.key} className={`mark ${m.pred === label ? 'mark--ok' : 'mark--bad'}`} />
            ))}
          </span>
        )}
      </button>
    </li>
  );
}

function GalleryPager({ page, pages, count }: { page: number; pages: number; count: number }) {
  const { setPage } = useGalleryStore.getState();
  return (
    <nav className="pager" aria-label="Gallery pages">
      <button
        type="button"
        className="button button--ghost"
        disabled={page === 0}
        onClick={() => setPage(page - 1)}
        data-testid="gallery-prev"
      >
        ‹ Prev
      </button>
      <span className="pager__text" data-testid="gallery-page">
        Page {page + 1} / {pages} · {count.toLocaleString('en')} images
      </span>
      <button
        type="button"
        className="button button--ghost"
        disabled={page >= pages - 1}
        onClick={() => setPage(page + 1)}
        data-testid="gallery-next"
      >
        Next ›
      </button>
    </nav>
  );
}

function GalleryLegend() {
  return (
    <p className="legend muted">
      <span>
        <span className="mark mark--ok" aria-hidden="true" /> right
      </span>
      <span>
        <span className="mark mark--bad" aria-hidden="true" /> wrong
      </span>
      <span>— one dot per selected model, in card order</span>
    </p>
  );
}

/** The test-set (or adversarial-set) gallery: source, filter, random pick, jump, pages of thumbnails. */
export function GalleryPanel() {
  const status = useGalleryStore((s) => s.status);
  const error = useGalleryStore((s) => s.error);
  const testSet = useGalleryStore((s) => s.testSet);
  const classFilter = useGalleryStore((s) => s.classFilter);
  const page = useGalleryStore((s) => s.page);
  const { setPage } = useGalleryStore.getState();
  const current = useImageStore((s) => (s.source?.kind === 'test' ? s.source.index : null));
  const targets = useTargets();
  const [jump, setJump] = useState('');
  const source = useGalleryStore((s) => s.source);
  const adversarial = useGalleryStore((s) => s.adversarial);
  const sourceError = useGalleryStore((s) => s.sourceError);
  const advIndex = useGalleryStore((s) => s.adversarialIndex);
  const currentAdv = useImageStore((s) => (s.source?.kind === 'adversarial' ? s.source : null));

  useEffect(() => {
    ensureTestSet().catch(() => {});
    ensureAdversarialIndex();
  }, []);

  // a chosen set still loading (or refused) shows nothing rather than the clean images
  const shown = source === null ? null : adversarial;
  const indices = useMemo(
    () => (testSet && (source === null || shown) ? filteredIndices(testSet, classFilter, shown) : []),
    [testSet, classFilter, source, shown],
  );
  const pages = Math.max(1, Math.ceil(indices.length / GALLERY_PAGE_SIZE));
  const safePage = Math.min(page, pages - 1);
  const visible = indices.slice(safePage * GALLERY_PAGE_SIZE, (safePage + 1) * GALLERY_PAGE_SIZE);
  const verdicts = usePageVerdicts(testSet, shown, visible, targets);
  const selected = shown ? (currentAdv?.set === shown.name ? currentAdv.index : null) : current;

  const pick = (index: number) => {
    void (shown ? showAdversarialImage(shown, index) : showTestImage(index));
  };

  const pickRandom = () => {
    if (!indices.length) return;
    const pos = Math.floor(Math.random() * indices.length);
    setPage(Math.floor(pos / GALLERY_PAGE_SIZE));
    pick(indices[pos]);
  };

  const goTo = () => {
    const n = Number(jump);
    if (!testSet || !inSet(n, testSet, shown)) return;
    revealInGallery(n, shown);
    pick(n);
  };

  if (status === 'error') return <GalleryError error={error} />;
  if (!testSet) {
    return (
      <p className="muted loading-line" data-testid="gallery-loading">
        Loading the Fashion-MNIST test set…
      </p>
    );
  }

  const jumpValid = jump !== '' && inSet(Number(jump), testSet, shown);

  return (
    <div className="gallery" data-testid="gallery">
      <GallerySourcePicker source={source} advIndex={advIndex} />
      <GallerySourceStatus source={source} shown={shown} sourceError={sourceError} />
      <AdversarialTwin />
      <GalleryToolbar
        classFilter={classFilter}
        onRandom={pickRandom}
        jump={jump}
        setJump={setJump}
        jumpValid={jumpValid}
        maxIndex={testSet.count - 1}
        onGo={goTo}
      />
      {shown && jump !== '' && !jumpValid && (
        <p className="small muted" data-testid="gallery-jump-hint">
          #{jump} is not in this set: it holds {shown.card.count.toLocaleString('en')} of the 10,000 test
          images.
        </p>
      )}

      <ul className="gallery__grid" aria-label="Test images">
        {visible.map((idx) => (
          <GalleryThumb
            key={idx}
            testSet={testSet}
            shown={shown}
            idx={idx}
            marks={verdicts[idx] ?? []}
            pressed={selected === idx}
            onPick={pick}
          />
        ))}
      </ul>

      <GalleryPager page={safePage} pages={pages} count={indices.length} />
      <GalleryLegend />
    </div>
  );
}
