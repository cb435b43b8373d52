/** Header button + popover: per-model load state, load time and last inference time. */
import { type RefObject, useEffect, useId, useRef, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useEngineStore } from '../stores/engineStore';
import { useResultsStore } from '../stores/resultsStore';
import { findModel } from './customModels';
import { bytes, ms } from './format';
import { useTargets } from './targets';

export function EngineStatusPopover() {
  const [open, setOpen] = useState(false);
  const id = useId();
  const rootRef = useRef<HTMLDivElement>(null);
  const panelRef = useRef<HTMLDivElement>(null);
  const targets = useTargets();
  const weights = useEngineStore((s) => s.weights);
  const backend = useEngineStore((s) => s.backend);

  const uniqueWeights = [...new Set(targets.map((t) => t.weights))];
  const ready = uniqueWeights.filter((w) => weights[w]?.state === 'ready').length;
  const loading = uniqueWeights.some((w) => weights[w]?.state === 'loading');
  const failed = uniqueWeights.filter((w) => weights[w]?.state === 'error').length;

  useDismiss(open, setOpen, rootRef, panelRef);

  return (
    <div className="popover-anchor" ref={rootRef}>
      <button
        type="button"
        className={`button button--ghost status-button ${failed ? 'has-error' : ''}`}
        aria-expanded={open}
        aria-controls={id}
        data-testid="status-button"
        title="Weight files of the selected models: a defense without its own training (resize-pad, noise) shares its vanilla model's file"
        onClick={() => setOpen(!open)}
      >
        <span
          className={`dot ${failed ? 'dot--error' : loading ? 'dot--loading' : 'dot--ready'}`}
          aria-hidden="true"
        />
        Weights {ready}/{uniqueWeights.length} loaded
        {failed > 0 && <span className="status-button__err"> · {failed} failed</span>}
      </button>
      {open && (
        <div
          id={id}
          ref={panelRef}
          className="popover"
          role="dialog"
          aria-label="Engine status"
          tabIndex={-1}
          data-testid="status-popover"
        >
          <h2 className="popover__title">Engine status</h2>
          <p className="popover__meta">
            Backend: <strong>{backend?.active ?? 'starting'}</strong>
            {backend?.active === 'wasm' &&
              ` · ${backend.workers ?? 1} worker(s) × ${backend.threads} thread(s)`}
            {backend?.crossOriginIsolated === false && ' · not cross-origin isolated'}
            {backend?.adapter && (
              <>
                <br />
                Adapter: {backend.adapter}
              </>
            )}
            {backend?.note && (
              <>
                <br />
                {backend.note}
              </>
            )}
          </p>
          <StatusTable targets={targets} />
          <p className="popover__foot muted">
            Load = fetch, checksum and session creation. Inference = one worker call for this image (all draws
            when sampling).
          </p>
        </div>
      )}
    </div>
  );
}

/** Escape (focus back on the button) or a pointer down outside closes the open popover. */
function useDismiss(
  open: boolean,
  setOpen: (open: boolean) => void,
  rootRef: RefObject<HTMLDivElement | null>,
  panelRef: RefObject<HTMLDivElement | null>,
): void {
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        rootRef.current?.querySelector('button')?.focus();
      }
    };
    const onDown = (e: PointerEvent) => {
      if (!rootRef.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('pointerdown', onDown);
    panelRef.current?.focus();
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('pointerdown', onDown);
    };
  }, [open, setOpen, rootRef, panelRef]);
}

/** One row per selected model: its weights, load state, size, load time and last inference time. */
function StatusTable({ targets }: { targets: ReturnType<typeof useTargets> }) {
  const weights = useEngineStore((s) => s.weights);
  const timings = useResultsStore(
    useShallow((s) => Object.fromEntries(Object.entries(s.results).map(([k, r]) => [k, r.inferenceMs]))),
  );
  if (targets.length === 0) return <p className="muted">No models selected.</p>;
  return (
    <table className="status-table">
      <thead>
        <tr>
          <th scope="col">Model</th>
          <th scope="col">Weights</th>
          <th scope="col">State</th>
          <th scope="col">Size</th>
          <th scope="col">Load</th>
          <th scope="col">Last inference</th>
        </tr>
      </thead>
      <tbody>
        {targets.map((t) => {
          const w = weights[t.weights];
          return (
            <tr key={t.key} data-testid={`status-row-${t.key}`}>
              <th scope="row">{findModel(t.key) ? t.key : t.name}</th>
              <td>{t.weights}</td>
              <td>
                <span className={`state state--${w?.state ?? 'idle'}`} title={w?.error ?? undefined}>
                  {w?.state ?? 'idle'}
                </span>
              </td>
              <td>{w?.totalBytes ? bytes(w.totalBytes) : '–'}</td>
              <td>{ms(w?.loadMs)}</td>
              <td>{ms(timings[t.key])}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
