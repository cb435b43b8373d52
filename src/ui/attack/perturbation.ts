/**
 * The perturbation view: δ = adversarial − original, amplified to the full range of a diverging
 * colour scale (ColorBrewer RdBu: blue where the attack darkened a pixel, red where it brightened
 * one, near-white where it left it alone). Pure functions, no DOM.
 */

/** RdBu, 11 classes, from −1 (dark blue) through 0 (near-white) to +1 (dark red). */
export const DIVERGING_STOPS: readonly string[] = [
  '#053061',
  '#2166ac',
  '#4393c3',
  '#92c5de',
  '#d1e5f0',
  '#f7f7f7',
  '#fddbc7',
  '#f4a582',
  '#d6604d',
  '#b2182b',
  '#67001f',
];

const STOP_RGB: [number, number, number][] = DIVERGING_STOPS.map((hex) => [
  Number.parseInt(hex.slice(1, 3), 16),
  Number.parseInt(hex.slice(3, 5), 16),
  Number.parseInt(hex.slice(5, 7), 16),
]);

/** Colour of t ∈ [−1, 1] (clamped), linearly interpolated between the stops. */
export function divergingColor(t: number): [number, number, number] {
  const c = Number.isFinite(t) ? Math.max(-1, Math.min(1, t)) : 0;
  const pos = ((c + 1) / 2) * (STOP_RGB.length - 1);
  const i = Math.min(STOP_RGB.length - 2, Math.floor(pos));
  const f = pos - i;
  const a = STOP_RGB[i];
  const b = STOP_RGB[i + 1];
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}

/** CSS gradient of the scale, left (−) to right (+), for the legend. */
export const DIVERGING_GRADIENT = `linear-gradient(to right, ${DIVERGING_STOPS.join(', ')})`;

/** The image the attack measured distances from: x on the 8-bit grid (the worker quantises). */
export function quantize(x: ArrayLike<number>): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.round(Math.max(0, Math.min(1, x[i])) * 255) / 255;
  return out;
}

export interface Perturbation {
  delta: Float32Array;
  min: number;
  max: number;
  /** max |δ|: the scale maps [−absMax, absMax] onto the colour range (0 when δ is all zero). */
  absMax: number;
  /** Pixels with δ ≠ 0. */
  changed: number;
}

export function perturbation(original: ArrayLike<number>, adversarial: ArrayLike<number>): Perturbation {
  if (original.length !== adversarial.length) {
    throw new RangeError(`sizes differ: ${original.length} vs ${adversarial.length}`);
  }
  const delta = new Float32Array(original.length);
  let min = 0;
  let max = 0;
  let changed = 0;
  for (let i = 0; i < delta.length; i++) {
    const d = adversarial[i] - original[i];
    // differences below half a gray level are float noise, not perturbation
    delta[i] = Math.abs(d) < 0.5 / 255 ? 0 : d;
    if (delta[i] !== 0) changed++;
    if (delta[i] < min) min = delta[i];
    if (delta[i] > max) max = delta[i];
  }
  return { delta, min, max, absMax: Math.max(-min, max), changed };
}

/** RGBA pixels of δ on the diverging scale, amplified so that ±absMax reach the ends. */
export function perturbationRgba(p: Perturbation): Uint8ClampedArray {
  const out = new Uint8ClampedArray(p.delta.length * 4);
  const scale = p.absMax > 0 ? 1 / p.absMax : 0;
  for (let i = 0; i < p.delta.length; i++) {
    const [r, g, b] = divergingColor(p.delta[i] * scale);
    out[4 * i] = r;
    out[4 * i + 1] = g;
    out[4 * i + 2] = b;
    out[4 * i + 3] = 255;
  }
  return out;
}

/** RGBA pixels of a gray image with values in [0, 1]. */
export function grayRgba(x: ArrayLike<number>): Uint8ClampedArray {
  const out = new Uint8ClampedArray(x.length * 4);
  for (let i = 0; i < x.length; i++) {
    const v = Math.round(Math.max(0, Math.min(1, x[i])) * 255);
    out[4 * i] = v;
    out[4 * i + 1] = v;
    out[4 * i + 2] = v;
    out[4 * i + 3] = 255;
  }
  return out;
}
