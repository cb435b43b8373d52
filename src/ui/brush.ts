/**
 * Soft round brush on a 28×28 grid. A stroke keeps the pixels it started from and the strongest
 * coverage each pixel got so far, so overlapping segments of one stroke never build up.
 */

export const SIDE = 28;

export interface Stroke {
  base: Uint8Array;
  coverage: Float32Array;
  /** Value the brush paints towards (255 white ink, 0 black). */
  target: number;
  last: { x: number; y: number } | null;
}

export function beginStroke(pixels: Uint8Array, target: number): Stroke {
  return { base: pixels.slice(), coverage: new Float32Array(SIDE * SIDE), target, last: null };
}

function distToSegment(px: number, py: number, x0: number, y0: number, x1: number, y1: number): number {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  let t = len2 === 0 ? 0 : ((px - x0) * dx + (py - y0) * dy) / len2;
  t = Math.max(0, Math.min(1, t));
  const cx = x0 + t * dx - px;
  const cy = y0 + t * dy - py;
  return Math.sqrt(cx * cx + cy * cy);
}

/**
 * Paints the segment from the stroke's last point to (x, y) (grid units, pixel centres at i + 0.5)
 * into `out`. `size` is the brush diameter in pixels, `softness` in [0,1], `pressure` in [0,1].
 */
export function paintTo(
  stroke: Stroke,
  out: Uint8Array,
  x: number,
  y: number,
  size: number,
  softness: number,
  pressure = 1,
): void {
  const from = stroke.last ?? { x, y };
  stroke.last = { x, y };
  const r = Math.max(0.5, size / 2);
  const inner = r * (1 - Math.max(0, Math.min(1, softness)));
  const minX = Math.max(0, Math.floor(Math.min(from.x, x) - r));
  const maxX = Math.min(SIDE - 1, Math.ceil(Math.max(from.x, x) + r));
  const minY = Math.max(0, Math.floor(Math.min(from.y, y) - r));
  const maxY = Math.min(SIDE - 1, Math.ceil(Math.max(from.y, y) + r));
  for (let j = minY; j <= maxY; j++) {
    for (let i = minX; i <= maxX; i++) {
      const d = distToSegment(i + 0.5, j + 0.5, from.x, from.y, x, y);
      let a: number;
      if (d <= inner) a = 1;
      else if (d >= r) a = 0;
      else {
        const t = (r - d) / (r - inner);
        a = t * t * (3 - 2 * t); // smoothstep falloff
      }
      a *= pressure;
      const k = j * SIDE + i;
      if (a <= stroke.coverage[k]) continue;
      stroke.coverage[k] = a;
      const b = stroke.base[k];
      out[k] = Math.round(b + (stroke.target - b) * a);
    }
  }
}
