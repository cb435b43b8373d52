/** A 28×28 RGBA image on a canvas, shown large with crisp (pixelated) pixels. */
import { useEffect, useRef } from 'react';

export interface AttackCanvasProps {
  rgba: Uint8ClampedArray | null;
  label: string;
  testId: string;
  size?: number;
  side?: number;
  /** Extra data attributes for tests (e.g. the decision shown under the image). */
  data?: Record<string, string | number>;
}

export function AttackCanvas({ rgba, label, testId, size = 196, side = 28, data }: AttackCanvasProps) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(side, side);
    if (rgba && rgba.length === img.data.length) img.data.set(rgba);
    ctx.putImageData(img, 0, 0);
  }, [rgba, side]);
  const attrs: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(data ?? {})) attrs[`data-${k}`] = v;
  return (
    <canvas
      ref={ref}
      width={side}
      height={side}
      role="img"
      aria-label={label}
      title={label}
      data-testid={testId}
      className="pixel-image attack-canvas"
      style={{ width: size, height: size }}
      {...attrs}
    />
  );
}
