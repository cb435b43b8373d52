/** A 28×28 (or any small) grayscale image drawn with crisp, unsmoothed pixels. */
import { useEffect, useRef } from 'react';

export interface PixelImageProps {
  /** Bytes (0–255) or floats in [0,1], row-major. */
  data: Uint8Array | Float32Array | null;
  width?: number;
  height?: number;
  /** Displayed size in CSS pixels (square). */
  size: number;
  label: string;
  className?: string;
  testId?: string;
}

export function PixelImage({
  data,
  width = 28,
  height = 28,
  size,
  label,
  className,
  testId,
}: PixelImageProps) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    const img = ctx.createImageData(width, height);
    const n = width * height;
    const scale = data instanceof Float32Array ? 255 : 1;
    for (let i = 0; i < n; i++) {
      const v = data ? Math.max(0, Math.min(255, Math.round(data[i] * scale))) : 0;
      img.data[4 * i] = v;
      img.data[4 * i + 1] = v;
      img.data[4 * i + 2] = v;
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }, [data, width, height]);
  return (
    <canvas
      ref={ref}
      width={width}
      height={height}
      role={label ? 'img' : undefined}
      aria-label={label || undefined}
      aria-hidden={label ? undefined : true}
      title={label || undefined}
      data-testid={testId}
      className={`pixel-image ${className ?? ''}`}
      style={{ width: size, height: (size * height) / width }}
    />
  );
}
