/** The shipped test set: filter by class, random pick, jump to an index; marks which models got each right. */
import { useEffect, useId, useMemo, useState } from 'react';
import { engine } from '../app/runtime';
import { CLASS_NAMES_EN } from '../core/labels';
import { imageAt, imageInput, type TestSet } from '../data/idx';
import { filteredIndices, GALLERY_PAGE_SIZE, useGalleryStore } from '../stores/galleryStore';
import { useImageStore } from '../stores/imageStore';
import { Icon } from './icons';
import { PixelImage } from './PixelImage';
import { type Target, useTargets } from './targets';
import { ensureTestSet } from './testSet';
import { showTestImage } from './urlState';
import { serialized } from './useAutoClassify';

type Verdicts = Record<number, { key: string; name: string; pred: number }[]>;

/** Classifies the visible page with every selected model (one batch per model), for the ✓/✗ dots. */
function usePageVerdicts(set: TestSet | null, indices: number[], targets: Target[]): Verdicts {
  const [verdicts, setVerdicts] = useState<Verdicts>({});
  const key = `${indices.join(',')}|${targets.map((t) => t.key).join(',')}`;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` captures indices and targets
  useEffect(() => {
    setVerdicts({});
    if (!set || indices.length === 0 || targets.length === 0) return;
    let cancelled = false;
    const timer = setTimeout(async () => {
      const inputs = indices.map((i) => imageInput(set, i));
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

export function GalleryPanel() {
  const filterId = useId();
  const jumpId = useId();
  const status = useGalleryStore((s) => s.status);
  const error = useGalleryStore((s) => s.error);
  const testSet = useGalleryStore((s) => s.testSet);
  const classFilter = useGalleryStore((s) => s.classFilter);
  const page = useGalleryStore((s) => s.page);
  const { setClassFilter, setPage } = useGalleryStore.getState();
  const current = useImageStore((s) => (s.source?.kind === 'test' ? s.source.index : null));
  const targets = useTargets();
  const [jump, setJump] = useState('');

  useEffect(() => {
    ensureTestSet().catch(() => {});
  }, []);

  const indices = useMemo(
    () => (testSet ? filteredIndices(testSet, classFilter) : []),
    [testSet, classFilter],
  );
  const pages = Math.max(1, Math.ceil(indices.length / GALLERY_PAGE_SIZE));
  const safePage = Math.min(page, pages - 1);
  const visible = indices.slice(safePage * GALLERY_PAGE_SIZE, (safePage + 1) * GALLERY_PAGE_SIZE);
  const verdicts = usePageVerdicts(testSet, visible, targets);

  const pick = (index: number) => {
    void showTestImage(index);
  };

  const pickRandom = () => {
    if (!indices.length) return;
    const pos = Math.floor(Math.random() * indices.length);
    setPage(Math.floor(pos / GALLERY_PAGE_SIZE));
    pick(indices[pos]);
  };

  const goTo = () => {
    const n = Number(jump);
    if (!testSet || !Number.isInteger(n) || n < 0 || n >= testSet.count) return;
    setClassFilter(null);
    setPage(Math.floor(n / GALLERY_PAGE_SIZE));
    pick(n);
  };

  if (status === 'error') {
    return (
      <div className="inline-error" role="alert" data-testid="gallery-error">
        <Icon name="alert" /> The test set could not be loaded: {error}
        <button type="button" className="button" onClick={() => ensureTestSet().catch(() => {})}>
          Retry
        </button>
      </div>
    );
  }
  if (!testSet) {
    return (
      <p className="muted loading-line" data-testid="gallery-loading">
        Loading the Fashion-MNIST test set…
      </p>
    );
  }

  const jumpValid =
    jump !== '' && Number.isInteger(Number(jump)) && Number(jump) >= 0 && Number(jump) < testSet.count;

  return (
    <div className="gallery" data-testid="gallery">
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
          onClick={pickRandom}
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
            goTo();
          }}
        >
          <label htmlFor={jumpId} className="sr-only">
            Test image index
          </label>
          <input
            id={jumpId}
            type="number"
            min={0}
            max={testSet.count - 1}
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

      <ul className="gallery__grid" aria-label="Test images">
        {visible.map((idx) => {
          const label = testSet.labels[idx];
          const marks = verdicts[idx] ?? [];
          const right = marks.filter((m) => m.pred === label).length;
          const summary = marks.length
            ? ` — ${right} of ${marks.length} selected models right: ${marks
                .map((m) => `${m.name} ${m.pred === label ? '✓' : `✗ (${CLASS_NAMES_EN[m.pred]})`}`)
                .join(', ')}`
            : '';
          return (
            <li key={idx}>
              <button
                type="button"
                className="thumb"
                aria-pressed={current === idx}
                aria-label={`Test image #${idx}: ${CLASS_NAMES_EN[label]}${summary}`}
                title={`#${idx} · ${CLASS_NAMES_EN[label]}${summary}`}
                data-testid={`gallery-item-${idx}`}
                data-label={label}
                onClick={() => pick(idx)}
              >
                <PixelImage data={imageAt(testSet, idx)} size={44} label="" />
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
        })}
      </ul>

      <nav className="pager" aria-label="Gallery pages">
        <button
          type="button"
          className="button button--ghost"
          disabled={safePage === 0}
          onClick={() => setPage(safePage - 1)}
          data-testid="gallery-prev"
        >
          ‹ Prev
        </button>
        <span className="pager__text" data-testid="gallery-page">
          Page {safePage + 1} / {pages} · {indices.length.toLocaleString('en')} images
        </span>
        <button
          type="button"
          className="button button--ghost"
          disabled={safePage >= pages - 1}
          onClick={() => setPage(safePage + 1)}
          data-testid="gallery-next"
        >
          Next ›
        </button>
      </nav>
      <p className="legend muted">
        <span>
          <span className="mark mark--ok" aria-hidden="true" /> right
        </span>
        <span>
          <span className="mark mark--bad" aria-hidden="true" /> wrong
        </span>
        <span>— one dot per selected model, in card order</span>
      </p>
    </div>
  );
}
