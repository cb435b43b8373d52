/**
 * Small vector helpers shared by the attacks. Images are flat Float32Arrays (row-major [h, w],
 * one channel) with values in [0, 1]; arithmetic is done in float64 and stored as float32.
 */

export function clip01(v: number): number {
  return Math.min(Math.max(v, 0), 1);
}

export function l2Distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const t = a[i] - b[i];
    s += t * t;
  }
  return Math.sqrt(s);
}

export function linfDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const t = Math.abs(a[i] - b[i]);
    if (t > m) m = t;
  }
  return m;
}

/** One pixel as the HTTP API transmits it: round(x * 255) clamped to 0..255. */
export function quantizeByte(v: number): number {
  return Math.round(clip01(v) * 255);
}

/**
 * The image the server will actually classify: every pixel snapped to the 8-bit grid k/255.
 * The API carries uint8 gray bytes, so an attack run through an HTTP oracle must report (and judge
 * success on) this quantised image, not the float one it computed.
 */
export function quantize(x: ArrayLike<number>): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = quantizeByte(x[i]) / 255;
  return out;
}

/** Gray bytes for the API body. */
export function toBytes(x: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = quantizeByte(x[i]);
  return out;
}

/** [h, w] from an explicit shape, or the square side when d is a perfect square. */
export function resolveShape(d: number, shape?: readonly [number, number]): [number, number] {
  if (shape) {
    if (shape[0] * shape[1] !== d) {
      throw new RangeError(`shape [${shape[0]}, ${shape[1]}] does not match an image of ${d} pixels`);
    }
    return [shape[0], shape[1]];
  }
  const side = Math.round(Math.sqrt(d));
  if (side * side !== d) throw new RangeError(`an image of ${d} pixels is not square: pass shape [h, w]`);
  return [side, side];
}

const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);

/** The adjacent float32 above (dir = 1) or below (dir = -1) v; used to repair rounding at a ball edge. */
export function nextFloat32(v: number, dir: 1 | -1): number {
  F32[0] = v;
  if (v === 0) {
    I32[0] = 1;
    return dir > 0 ? F32[0] : -F32[0];
  }
  if (v > 0 === dir > 0) I32[0] += 1;
  else I32[0] -= 1;
  return F32[0];
}

/** Shuffles in place with the attack's Rng (Fisher–Yates). */
export function shuffleInPlace<T>(a: T[] | Int32Array, rng: { int(n: number): number }): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
