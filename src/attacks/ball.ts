/**
 * Exact ε-ball membership for float32 images. A candidate x + δ computed in float64 and stored as
 * float32 can land a few ulps outside the ball; these helpers repair that (and 8-bit quantisation)
 * so that the check ‖adv − x‖ ≤ ε, evaluated in float64 on the stored float32 values, always holds.
 */
import type { Norm } from './types';
import { clip01, l2Distance, linfDistance, nextFloat32, quantizeByte } from './vec';

export function withinBall(adv: ArrayLike<number>, x: ArrayLike<number>, norm: Norm, eps: number): boolean {
  return (norm === 'linf' ? linfDistance(adv, x) : l2Distance(adv, x)) <= eps;
}

/**
 * The float32 image of clip(x + δ) inside the ball around x (x must itself lie in [0, 1]).
 * With `quantize`, pixels are snapped to the 8-bit grid; x must then be on the grid already (the
 * attacks quantise their reference image first), and a pixel whose nearest level leaves the ball
 * is rounded towards x instead, which never increases |δ_i|.
 */
export function projectToBall(
  x: Float32Array,
  delta: ArrayLike<number>,
  norm: Norm,
  eps: number,
  quantize = false,
): Float32Array {
  const d = x.length;
  const out = new Float32Array(d);
  if (norm === 'linf') {
    for (let i = 0; i < d; i++) out[i] = linfPixel(x[i], delta[i], eps, quantize);
    return out;
  }
  // L2: scale δ into the ball, clip (which only shrinks |δ_i|), then repair rounding by shrinking.
  let n = 0;
  for (let i = 0; i < d; i++) n += delta[i] * delta[i];
  n = Math.sqrt(n);
  let scale = n > eps ? eps / n : 1;
  for (let attempt = 0; attempt < 60; attempt++) {
    for (let i = 0; i < d; i++) out[i] = clip01(x[i] + scale * delta[i]);
    if (quantize) {
      for (let i = 0; i < d; i++) out[i] = quantizeByte(out[i]) / 255;
      if (l2Distance(out, x) > eps) {
        for (let i = 0; i < d; i++) out[i] = towardsOnGrid(clip01(x[i] + scale * delta[i]), x[i]);
      }
    }
    if (l2Distance(out, x) <= eps) return out;
    scale *= 1 - 1e-6 * 2 ** attempt;
    if (scale <= 0) break;
  }
  return Float32Array.from(x);
}

/** One pixel of an L∞ projection: clip(x + δ) to [x − ε, x + ε] ∩ [0, 1], exact in float32. */
export function linfPixel(x: number, delta: number, eps: number, quantize = false): number {
  const raw = Math.min(Math.max(x + delta, Math.max(0, x - eps)), Math.min(1, x + eps));
  let v = raw;
  if (quantize) {
    v = quantizeByte(raw) / 255;
    if (Math.abs(v - x) > eps) v = towardsOnGrid(raw, x);
  }
  // float32 rounding may step just past the edge: walk back one ulp at a time
  let f = Math.fround(v);
  for (let k = 0; k < 8 && f - x > eps; k++) f = nextFloat32(f, -1);
  for (let k = 0; k < 8 && x - f > eps; k++) f = nextFloat32(f, 1);
  return Math.abs(f - x) > eps ? x : f;
}

/** The 8-bit level between x and v that is closest to v (|result − x| ≤ |v − x|). */
function towardsOnGrid(v: number, x: number): number {
  // slack far below one level but above float32 error of x·255 (x = k/255 stored as float32)
  const k = v * 255;
  return (v >= x ? Math.floor(k + 1e-4) : Math.ceil(k - 1e-4)) / 255;
}
