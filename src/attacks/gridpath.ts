/**
 * The distinct 8-bit images on a straight path between two images on the 8-bit grid, for the
 * binary searches of the decision-based attacks on a quantising API.
 *
 * A binary search over a continuous blend factor that stops at a fixed threshold (hsja.py's θ, or
 * "one gray level") does not see the images the API receives: near the end several distinct 8-bit
 * images lie inside one step, and stopping early leaves the point deep inside the adversarial
 * region. Here the path is enumerated exactly instead: every pixel's byte changes at known blend
 * factors (its rounding breakpoints), so the images along the path are a finite sequence
 * image(0) = x, …, image(length) = adv, and a binary search over that index ends on two
 * neighbouring images, one on each side of the boundary: nothing finer can reach the model.
 *
 * Two paths, as in hsja.py's `project`:
 * - 'blend' (L2): (1 − t)·x + t·adv, t ∈ [0, 1], each pixel rounded as the API does (quantizeByte);
 * - 'box' (L∞): clip(adv, x − r, x + r), r ∈ [0, ‖adv − x‖∞]; on the grid r = k/255, k = 0…K.
 */
import { quantizeByte } from './vec';

export type GridPathKind = 'blend' | 'box';

export class GridPath {
  /** Index of `adv` on the path; images 0…length are pairwise distinct (length 0: adv equals x). */
  readonly length: number;
  private readonly xb: Uint8Array;
  private readonly ab: Uint8Array;
  /** blend: the sorted distinct breakpoints in (0, 1) */
  private readonly breaks: Float64Array;

  /**
   * @param x reference image, values in [0, 1] on the 8-bit grid (k/255)
   * @param adv the other end, same length, also on the grid
   * @throws RangeError when the lengths differ
   */
  constructor(
    x: ArrayLike<number>,
    adv: ArrayLike<number>,
    readonly kind: GridPathKind,
  ) {
    if (x.length !== adv.length)
      throw new RangeError(`path ends differ in length: ${x.length} vs ${adv.length}`);
    const d = x.length;
    this.xb = new Uint8Array(d);
    this.ab = new Uint8Array(d);
    for (let i = 0; i < d; i++) {
      this.xb[i] = quantizeByte(x[i]);
      this.ab[i] = quantizeByte(adv[i]);
    }
    if (kind === 'box') {
      let k = 0;
      for (let i = 0; i < d; i++) k = Math.max(k, Math.abs(this.ab[i] - this.xb[i]));
      this.length = k;
      this.breaks = new Float64Array(0);
      return;
    }
    // pixel p → q crosses the rounding point m + ½ at t = (m + ½ − p)/(q − p)
    let n = 0;
    for (let i = 0; i < d; i++) n += Math.abs(this.ab[i] - this.xb[i]);
    const all = new Float64Array(n);
    let j = 0;
    for (let i = 0; i < d; i++) {
      const p = this.xb[i];
      const q = this.ab[i];
      const lo = Math.min(p, q);
      const hi = Math.max(p, q);
      for (let m = lo; m < hi; m++) all[j++] = (m + 0.5 - p) / (q - p);
    }
    all.sort();
    // breakpoints closer than 1e-12 are one event (pixels that change together)
    const distinct: number[] = [];
    for (let i = 0; i < all.length; i++) {
      if (distinct.length === 0 || all[i] - distinct[distinct.length - 1] > 1e-12) distinct.push(all[i]);
    }
    this.breaks = Float64Array.from(distinct);
    this.length = distinct.length;
  }

  /** The blend factor (blend) or radius in [0, 1] units (box) that gives image(j). */
  position(j: number): number {
    if (this.kind === 'box') return j / 255;
    if (j <= 0) return 0;
    if (j >= this.length) return 1;
    return (this.breaks[j - 1] + this.breaks[j]) / 2;
  }

  /** Image j of the path as float32 values k/255 (0 → x, length → adv). */
  image(j: number): Float32Array {
    if (!Number.isInteger(j) || j < 0 || j > this.length) {
      throw new RangeError(`path index ${j} outside 0…${this.length}`);
    }
    const d = this.xb.length;
    const out = new Float32Array(d);
    if (this.kind === 'box') {
      for (let i = 0; i < d; i++) {
        const p = this.xb[i];
        out[i] = Math.min(Math.max(this.ab[i], p - j), p + j) / 255;
      }
      return out;
    }
    if (j === this.length) {
      for (let i = 0; i < d; i++) out[i] = this.ab[i] / 255;
      return out;
    }
    const t = this.position(j);
    for (let i = 0; i < d; i++) out[i] = Math.round(this.xb[i] + t * (this.ab[i] - this.xb[i])) / 255;
    return out;
  }
}

/**
 * Binary search along a grid path whose start (index 0, x) is not adversarial and whose end
 * (index `path.length`) is. Queries one image per step, at most ⌈log₂(length)⌉ of them; returns
 * the first index judged adversarial after which the previous image was judged not adversarial,
 * so the result and its neighbour straddle the boundary.
 *
 * @param isAdversarial asks the model about one image (may throw to stop, e.g. on budget)
 * @param onAdversarial called with each adversarial image found on the way (the attack's best-so-far)
 */
export async function searchGridPath(
  path: GridPath,
  isAdversarial: (image: Float32Array) => Promise<{ adversarial: boolean; label: number }>,
  onAdversarial?: (image: Float32Array, label: number, index: number) => void,
): Promise<{ index: number; image: Float32Array | null; label: number | null }> {
  let low = 0;
  let high = path.length;
  let image: Float32Array | null = null;
  let label: number | null = null;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    const candidate = path.image(mid);
    const answer = await isAdversarial(candidate);
    if (answer.adversarial) {
      high = mid;
      image = candidate;
      label = answer.label;
      onAdversarial?.(candidate, answer.label, mid);
    } else {
      low = mid;
    }
  }
  return { index: high, image, label };
}
