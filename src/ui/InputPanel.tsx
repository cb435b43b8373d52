/** Left column: the current image and the three ways to change it (draw, upload, gallery). */
import { type KeyboardEvent, useRef } from 'react';
import { type InputTab, usePrefsStore } from '../stores/prefsStore';
import { CurrentImage } from './CurrentImage';
import { DrawingCanvas } from './DrawingCanvas';
import { GalleryPanel } from './GalleryPanel';
import { Icon, type IconName } from './icons';
import { UploadPanel } from './UploadPanel';

const TABS: { id: InputTab; label: string; icon: IconName }[] = [
  { id: 'draw', label: 'Draw', icon: 'brush' },
  { id: 'upload', label: 'Upload', icon: 'upload' },
  { id: 'gallery', label: 'Test set', icon: 'grid' },
];

export function InputPanel() {
  const tab = usePrefsStore((s) => s.inputTab);
  const setTab = usePrefsStore((s) => s.setInputTab);
  const tabRefs = useRef<Record<string, HTMLButtonElement | null>>({});

  const onKeyDown = (e: KeyboardEvent) => {
    const i = TABS.findIndex((t) => t.id === tab);
    let next = -1;
    if (e.key === 'ArrowRight') next = (i + 1) % TABS.length;
    else if (e.key === 'ArrowLeft') next = (i + TABS.length - 1) % TABS.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = TABS.length - 1;
    if (next < 0) return;
    e.preventDefault();
    setTab(TABS[next].id);
    tabRefs.current[TABS[next].id]?.focus();
  };

  return (
    <section className="panel input-panel" aria-labelledby="input-heading">
      <h2 id="input-heading" className="panel__title">
        Input
      </h2>
      <CurrentImage />
      <div
        className="tabs"
        role="tablist"
        aria-label="Image source"
        data-testid="input-tabs"
        onKeyDown={onKeyDown}
      >
        {TABS.map((t) => (
          <button
            key={t.id}
            ref={(el) => {
              tabRefs.current[t.id] = el;
            }}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`tabpanel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            className="tabs__tab"
            data-testid={`tab-${t.id}`}
            onClick={() => setTab(t.id)}
          >
            <Icon name={t.icon} /> {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`tabpanel-${tab}`} aria-labelledby={`tab-${tab}`} className="tabs__panel">
        {tab === 'draw' && <DrawingCanvas />}
        {tab === 'upload' && <UploadPanel />}
        {tab === 'gallery' && <GalleryPanel />}
      </div>
    </section>
  );
}
