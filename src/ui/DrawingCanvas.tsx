/** The 28×28 drawing canvas, shown large with crisp pixels; mouse, pen, touch and keyboard. */
import { type KeyboardEvent, type PointerEvent, useCallback, useEffect, useRef, useState } from 'react';
import { useDrawStore } from '../stores/drawStore';
import { useImageStore } from '../stores/imageStore';
import { beginStroke, paintTo, SIDE, type Stroke } from './brush';
import { DrawingTools } from './DrawingTools';

/** Make the canvas the current image. */
function publish(pixels: Uint8Array): void {
  const { origin } = useDrawStore.getState();
  useImageStore
    .getState()
    .setImage(pixels.slice(), { kind: 'draw', basedOn: origin?.name ?? null, label: origin?.label ?? null });
}

type Point = { x: number; y: number };

const ARROW_MOVES: Record<string, [number, number]> = {
  ArrowLeft: [-1, 0],
  ArrowRight: [1, 0],
  ArrowUp: [0, -1],
  ArrowDown: [0, 1],
};

/** The value the current tool paints towards: ink for the brush, background for the eraser. */
function strokeTarget(): number {
  const { tool, inverted } = useDrawStore.getState();
  const ink = inverted ? 0 : 255;
  return tool === 'brush' ? ink : 255 - ink;
}

/** Grid coordinates (0–28, fractional) of a client point over the canvas. */
function toGrid(clientX: number, clientY: number, rect: DOMRect): Point {
  return {
    x: ((clientX - rect.left) / rect.width) * SIDE,
    y: ((clientY - rect.top) / rect.height) * SIDE,
  };
}

/** A pen's pressure (0.5 when it reports none); mouse and touch paint at full strength. */
function pressureOf(pointerType: string, pressure: number): number {
  return pointerType === 'pen' ? pressure || 0.5 : 1;
}

/** A canvas ref that shows the given pixels. */
function useCanvasRender(pixels: Uint8Array) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = canvasRef.current?.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(SIDE, SIDE);
    for (let i = 0; i < SIDE * SIDE; i++) {
      img.data[4 * i] = pixels[i];
      img.data[4 * i + 1] = pixels[i];
      img.data[4 * i + 2] = pixels[i];
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }, [pixels]);
  return canvasRef;
}

/** The stroke in progress and its working copy of the pixels, flushed to the stores at most once a frame. */
function useStrokeBuffer() {
  const stroke = useRef<Stroke | null>(null);
  const work = useRef<Uint8Array | null>(null);
  const frame = useRef<number | null>(null);

  const flush = useCallback(() => {
    frame.current = null;
    if (!work.current) return;
    const next = work.current.slice();
    useDrawStore.getState().setPixels(next);
    publish(next);
  }, []);

  const scheduleFlush = useCallback(() => {
    if (frame.current === null) frame.current = requestAnimationFrame(flush);
  }, [flush]);

  useEffect(
    () => () => {
      if (frame.current !== null) cancelAnimationFrame(frame.current);
    },
    [],
  );

  /** Starts a stroke on a copy of the store's pixels, with an undo checkpoint. */
  const begin = () => {
    const st = useDrawStore.getState();
    st.checkpoint();
    work.current = st.pixels.slice();
    stroke.current = beginStroke(st.pixels, strokeTarget());
  };

  const paintAt = (x: number, y: number, pressure: number) => {
    if (!stroke.current || !work.current) return;
    const { brushSize: size, softness } = useDrawStore.getState();
    paintTo(stroke.current, work.current, x, y, size, softness, pressure);
  };

  /** Ends a pointer stroke and publishes it at once. */
  const end = () => {
    if (!stroke.current) return;
    stroke.current = null;
    if (frame.current !== null) cancelAnimationFrame(frame.current);
    flush();
  };

  return { stroke, begin, paintAt, flush, scheduleFlush, end };
}

type StrokeBuffer = ReturnType<typeof useStrokeBuffer>;

/** Mouse, pen and touch painting, with the hovered grid point for the cursor ring. */
function usePointerDrawing(buf: StrokeBuffer) {
  const [hover, setHover] = useState<Point | null>(null);

  const onPointerDown = (e: PointerEvent<HTMLCanvasElement>) => {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    e.currentTarget.setPointerCapture(e.pointerId);
    e.preventDefault();
    buf.begin();
    const p = toGrid(e.clientX, e.clientY, e.currentTarget.getBoundingClientRect());
    buf.paintAt(p.x, p.y, pressureOf(e.pointerType, e.pressure));
    buf.scheduleFlush();
  };

  const onPointerMove = (e: PointerEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    const p = toGrid(e.clientX, e.clientY, rect);
    setHover(p);
    if (!buf.stroke.current) return;
    const events = e.nativeEvent.getCoalescedEvents?.() ?? [];
    const pts = events.length
      ? events.map((ev) => ({ ...toGrid(ev.clientX, ev.clientY, rect), pressure: ev.pressure }))
      : [{ ...p, pressure: e.pressure }];
    for (const q of pts) buf.paintAt(q.x, q.y, pressureOf(e.pointerType, q.pressure));
    buf.scheduleFlush();
  };

  return { hover, setHover, onPointerDown, onPointerMove, onPointerUp: buf.end };
}

/** Keyboard painting: arrows move a cursor cell, Space/Enter stamps, Shift+arrows paint a line. */
function useKeyboardDrawing(buf: StrokeBuffer) {
  const [cursor, setCursor] = useState<Point | null>(null);
  const keyStroke = useRef(false);

  const onKeyDown = (e: KeyboardEvent<HTMLCanvasElement>) => {
    const cur = cursor ?? { x: 14, y: 14 };
    const stamp = (x: number, y: number, continuing: boolean) => {
      if (!continuing || !keyStroke.current || !buf.stroke.current) {
        buf.begin();
        buf.paintAt(cur.x + 0.5, cur.y + 0.5, 1);
      }
      keyStroke.current = true;
      buf.paintAt(x + 0.5, y + 0.5, 1);
      buf.flush();
    };
    if (e.key in ARROW_MOVES) {
      e.preventDefault();
      const [dx, dy] = ARROW_MOVES[e.key];
      const next = {
        x: Math.max(0, Math.min(SIDE - 1, cur.x + dx)),
        y: Math.max(0, Math.min(SIDE - 1, cur.y + dy)),
      };
      setCursor(next);
      if (e.shiftKey) stamp(next.x, next.y, true);
    } else if (e.key === ' ' || e.key === 'Enter') {
      e.preventDefault();
      setCursor(cur);
      stamp(cur.x, cur.y, false);
      keyStroke.current = false;
      buf.stroke.current = null;
    }
  };

  const onKeyUp = (e: KeyboardEvent<HTMLCanvasElement>) => {
    if (e.key === 'Shift' && keyStroke.current) {
      keyStroke.current = false;
      buf.stroke.current = null;
    }
  };

  return { cursor, setCursor, onKeyDown, onKeyUp };
}

/** The brush-sized ring over the hovered point (or the keyboard cursor's cell). */
function CursorRing({ at, brushSize }: { at: Point; brushSize: number }) {
  const size = `${(Math.max(1, brushSize) / SIDE) * 100}%`;
  return (
    <div
      className="draw__cursor"
      aria-hidden="true"
      style={{ left: `${(at.x / SIDE) * 100}%`, top: `${(at.y / SIDE) * 100}%`, width: size, height: size }}
    />
  );
}

/** The drawing canvas with its grid, cursor ring, hint and tools. */
export function DrawingCanvas() {
  const pixels = useDrawStore((s) => s.pixels);
  const showGrid = useDrawStore((s) => s.showGrid);
  const brushSize = useDrawStore((s) => s.brushSize);
  const isCurrent = useImageStore((s) => s.source?.kind === 'draw');
  const canvasRef = useCanvasRender(pixels);
  const buf = useStrokeBuffer();
  const pointer = usePointerDrawing(buf);
  const keys = useKeyboardDrawing(buf);

  const { cursor } = keys;
  const ring = pointer.hover ?? (cursor ? { x: cursor.x + 0.5, y: cursor.y + 0.5 } : null);

  return (
    <div className="draw">
      <div className="draw__stage">
        <canvas
          ref={canvasRef}
          width={SIDE}
          height={SIDE}
          className="draw__canvas"
          data-testid="draw-canvas"
          tabIndex={0}
          role="img"
          aria-label="Drawing canvas, 28 by 28 pixels. Arrow keys move the cursor, Space paints, Shift with arrows paints a line, Ctrl+Z undoes."
          onPointerDown={pointer.onPointerDown}
          onPointerMove={pointer.onPointerMove}
          onPointerUp={pointer.onPointerUp}
          onPointerCancel={pointer.onPointerUp}
          onPointerLeave={() => pointer.setHover(null)}
          onKeyDown={keys.onKeyDown}
          onKeyUp={keys.onKeyUp}
          onBlur={() => keys.setCursor(null)}
        />
        {showGrid && <div className="draw__grid" aria-hidden="true" />}
        {ring && <CursorRing at={ring} brushSize={brushSize} />}
      </div>
      {!isCurrent && (
        <p className="hint muted draw__hint" data-testid="draw-hint">
          Draw with mouse, pen or touch (or focus the canvas and use the arrow keys and Space). The canvas
          becomes the current image with your first stroke.
        </p>
      )}
      <DrawingTools onChange={publish} />
    </div>
  );
}
