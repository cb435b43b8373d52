/** Brush, eraser, size, softness, undo, clear, invert, grid. */
import { useEffect } from 'react';
import { type DrawTool, useDrawStore } from '../stores/drawStore';
import { Icon, type IconName } from './icons';

const TOOLS: { value: DrawTool; label: string; icon: IconName }[] = [
  { value: 'brush', label: 'Brush', icon: 'brush' },
  { value: 'eraser', label: 'Eraser', icon: 'eraser' },
];

function isTextField(el: EventTarget | null): boolean {
  return el instanceof HTMLElement && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
}

export function DrawingTools({ onChange }: { onChange: (pixels: Uint8Array) => void }) {
  const tool = useDrawStore((s) => s.tool);
  const brushSize = useDrawStore((s) => s.brushSize);
  const softness = useDrawStore((s) => s.softness);
  const showGrid = useDrawStore((s) => s.showGrid);
  const canUndo = useDrawStore((s) => s.undoStack.length > 0);
  const inverted = useDrawStore((s) => s.inverted);
  const st = useDrawStore.getState;

  const undo = () => {
    if (st().undo()) onChange(st().pixels);
  };

  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === 'z' && !isTextField(e.target)) {
        e.preventDefault();
        if (useDrawStore.getState().undo()) onChange(useDrawStore.getState().pixels);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onChange]);

  return (
    <div className="draw-tools">
      <div className="draw-tools__row">
        <fieldset className="segmented">
          <legend className="sr-only">Tool</legend>
          {TOOLS.map((t) => (
            <button
              key={t.value}
              type="button"
              className="segmented__item"
              aria-pressed={tool === t.value}
              data-testid={`tool-${t.value}`}
              onClick={() => st().setTool(t.value)}
            >
              <Icon name={t.icon} /> {t.label}
            </button>
          ))}
        </fieldset>
        <div className="button-row">
          <button
            type="button"
            className="icon-button"
            onClick={undo}
            disabled={!canUndo}
            aria-label="Undo last stroke (Ctrl+Z)"
            title="Undo last stroke (Ctrl+Z)"
            data-testid="draw-undo"
          >
            <Icon name="undo" />
          </button>
          <button
            type="button"
            className="icon-button"
            onClick={() => {
              st().invert();
              onChange(st().pixels);
            }}
            aria-label={`Invert (now ${inverted ? 'black on white' : 'white on black'})`}
            title={`Invert colours (now ${inverted ? 'black on white' : 'white on black'})`}
            data-testid="draw-invert"
          >
            <Icon name="invert" />
          </button>
          <button
            type="button"
            className="icon-button"
            onClick={() => {
              st().clear();
              onChange(st().pixels);
            }}
            aria-label="Clear canvas"
            title="Clear canvas"
            data-testid="draw-clear"
          >
            <Icon name="trash" />
          </button>
          <button
            type="button"
            className="icon-button"
            aria-pressed={showGrid}
            onClick={() => st().setShowGrid(!showGrid)}
            aria-label="Show pixel grid"
            title="Show pixel grid"
            data-testid="draw-grid"
          >
            <Icon name="grid" />
          </button>
        </div>
      </div>
      <label className="slider">
        <span className="slider__label">
          Size <output>{brushSize.toFixed(1)} px</output>
        </span>
        <input
          type="range"
          min={1}
          max={8}
          step={0.5}
          value={brushSize}
          data-testid="brush-size"
          onChange={(e) => st().setBrushSize(Number(e.target.value))}
        />
      </label>
      <label className="slider">
        <span className="slider__label">
          Softness <output>{Math.round(softness * 100)}%</output>
        </span>
        <input
          type="range"
          min={0}
          max={1}
          step={0.05}
          value={softness}
          data-testid="brush-softness"
          onChange={(e) => st().setSoftness(Number(e.target.value))}
        />
      </label>
    </div>
  );
}
