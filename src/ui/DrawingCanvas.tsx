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

export function DrawingCanvas() {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const pixels = useDrawStore((s) => s.pixels);
  const showGrid = useDrawStore((s) => s.showGrid);
  const brushSize = useDrawStore((s) => s.brushSize);
  const stroke = useRef<Stroke | null>(null);
  const work = useRef<Uint8Array | null>(null);
  const frame = useRef<number | null>(null);
  const [hover, setHover] = useState<{ x: number; y: number } | null>(null);
  const [cursor, setCursor] = useState<{ x: number; y: number } | null>(null);
  const keyStroke = useRef(false);
  const isCurrent = useImageStore((s) => s.source?.kind === 'draw');

  // render the store's pixels
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

  const target = () => {
    const { tool, inverted } = useDrawStore.getState();
    const ink = inverted ? 0 : 255;
    return tool === 'brush' ? ink : 255 - ink;
  };

  const gridPoint = (e: PointerEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    return {
      x: ((e.clientX - rect.left) / rect.width) * SIDE,
      y: ((e.clientY - rect.top) / rect.height) * SIDE,
    };
  };

  const paintAt = (x: number, y: number, pressure: number) => {
    if (!stroke.current || !work.current) return;
    const { brushSize: size, softness } = useDrawStore.getState();
    paintTo(stroke.current, work.current, x, y, size, softness, pressure);
  };

  const onPointerDown = (e: PointerEvent<HTMLCanvasElement>) => {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    e.currentTarget.setPointerCapture(e.pointerId);
    e.preventDefault();
    const st = useDrawStore.getState();
    st.checkpoint();
    work.current = st.pixels.slice();
    stroke.current = beginStroke(st.pixels, target());
    const p = gridPoint(e);
    paintAt(p.x, p.y, e.pointerType === 'pen' ? e.pressure || 0.5 : 1);
    scheduleFlush();
  };

  const onPointerMove = (e: PointerEvent<HTMLCanvasElement>) => {
    const p = gridPoint(e);
    setHover(p);
    if (!stroke.current) return;
    const events = e.nativeEvent.getCoalescedEvents?.() ?? [];
    const rect = e.currentTarget.getBoundingClientRect();
    const pts = events.length
      ? events.map((ev) => ({
          x: ((ev.clientX - rect.left) / rect.width) * SIDE,
          y: ((ev.clientY - rect.top) / rect.height) * SIDE,
          pressure: ev.pressure,
        }))
      : [{ ...p, pressure: e.pressure }];
    for (const q of pts) paintAt(q.x, q.y, e.pointerType === 'pen' ? q.pressure || 0.5 : 1);
    scheduleFlush();
  };

  const endStroke = () => {
    if (!stroke.current) return;
    stroke.current = null;
    if (frame.current !== null) cancelAnimationFrame(frame.current);
    flush();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLCanvasElement>) => {
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-1, 0],
      ArrowRight: [1, 0],
      ArrowUp: [0, -1],
      ArrowDown: [0, 1],
    };
    const cur = cursor ?? { x: 14, y: 14 };
    const stamp = (x: number, y: number, continuing: boolean) => {
      const st = useDrawStore.getState();
      if (!continuing || !keyStroke.current || !stroke.current) {
        st.checkpoint();
        work.current = st.pixels.slice();
        stroke.current = beginStroke(st.pixels, target());
        paintAt(cur.x + 0.5, cur.y + 0.5, 1);
      }
      keyStroke.current = true;
      paintAt(x + 0.5, y + 0.5, 1);
      flush();
    };
    if (e.key in moves) {
      e.preventDefault();
      const [dx, dy] = moves[e.key];
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
      stroke.current = null;
    }
  };

  const onKeyUp = (e: KeyboardEvent<HTMLCanvasElement>) => {
    if (e.key === 'Shift' && keyStroke.current) {
      keyStroke.current = false;
      stroke.current = null;
    }
  };

  const ring = hover ?? (cursor ? { x: cursor.x + 0.5, y: cursor.y + 0.5 } : null);

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
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={endStroke}
          onPointerCancel={endStroke}
          onPointerLeave={() => setHover(null)}
          onKeyDown={onKeyDown}
          onKeyUp={onKeyUp}
          onBlur={() => setCursor(null)}
        />
        {showGrid && <div className="draw__grid" aria-hidden="true" />}
        {ring && (
          <div
            className="draw__cursor"
            aria-hidden="true"
            style={{
              left: `${(ring.x / SIDE) * 100}%`,
              top: `${(ring.y / SIDE) * 100}%`,
              width: `${(Math.max(1, brushSize) / SIDE) * 100}%`,
              height: `${(Math.max(1, brushSize) / SIDE) * 100}%`,
            }}
          />
        )}
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
