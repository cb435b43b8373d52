/** Brush, eraser, size, softness, undo, clear, invert, grid. */
import { type ReactNode, useEffect } from 'react';
import { type DrawTool, useDrawStore } from '../stores/drawStore';
import { Icon, type IconName } from './icons';
import { Segmented, type SegmentedOption } from './Segmented';

const TOOLS: SegmentedOption<DrawTool>[] = [
  { value: 'brush', label: 'Brush', icon: 'brush' },
  { value: 'eraser', label: 'Eraser', icon: 'eraser' },
];

function isTextField(el: EventTarget | null): boolean {
  return el instanceof HTMLElement && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
}

/** A square icon button; its `label` is the accessible name and, unless `title` is given, the tooltip. */
function IconButton(props: {
  icon: IconName;
  label: string;
  title?: string;
  testId: string;
  onClick: () => void;
  disabled?: boolean;
  pressed?: boolean;
}) {
  return (
    <button
      type="button"
      className="icon-button"
      aria-pressed={props.pressed}
      onClick={props.onClick}
      disabled={props.disabled}
      aria-label={props.label}
      title={props.title ?? props.label}
      data-testid={props.testId}
    >
      <Icon name={props.icon} />
    </button>
  );
}

/** A range input (`range`: min, max, step) under its caption, `children`. */
function Slider(props: {
  range: [min: number, max: number, step: number];
  value: number;
  testId: string;
  onValue: (v: number) => void;
  children: ReactNode;
}) {
  const [min, max, step] = props.range;
  return (
    <label className="slider">
      <span className="slider__label">{props.children}</span>
      <input
        type="range"
        min={min}
        max={max}
        step={step}
        value={props.value}
        data-testid={props.testId}
        onChange={(e) => props.onValue(Number(e.target.value))}
      />
    </label>
  );
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
  /** A click handler that applies `change` to the drawing, then reports the new pixels. */
  const edit = (change: () => void) => () => {
    change();
    onChange(st().pixels);
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
        <Segmented legend="Tool" options={TOOLS} value={tool} onSelect={st().setTool} testIdPrefix="tool" />
        <div className="button-row">
          <IconButton
            icon="undo"
            label="Undo last stroke (Ctrl+Z)"
            testId="draw-undo"
            onClick={undo}
            disabled={!canUndo}
          />
          <IconButton
            icon="invert"
            label={`Invert (now ${inverted ? 'black on white' : 'white on black'})`}
            title={`Invert colours (now ${inverted ? 'black on white' : 'white on black'})`}
            testId="draw-invert"
            onClick={edit(() => st().invert())}
          />
          <IconButton
            icon="trash"
            label="Clear canvas"
            testId="draw-clear"
            onClick={edit(() => st().clear())}
          />
          <IconButton
            icon="grid"
            label="Show pixel grid"
            testId="draw-grid"
            pressed={showGrid}
            onClick={() => st().setShowGrid(!showGrid)}
          />
        </div>
      </div>
      <Slider testId="brush-size" range={[1, 8, 0.5]} value={brushSize} onValue={st().setBrushSize}>
        Size <output>{brushSize.toFixed(1)} px</output>
      </Slider>
      <Slider testId="brush-softness" range={[0, 1, 0.05]} value={softness} onValue={st().setSoftness}>
        Softness <output>{Math.round(softness * 100)}%</output>
      </Slider>
    </div>
  );
}
