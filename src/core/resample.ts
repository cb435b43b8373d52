/**
 * Bicubic resize of a float image with the semantics of PyTorch's
 * `F.interpolate(x, size=(h, w), mode='bicubic', align_corners=False)` (no antialias): Keys' cubic
 * convolution with A = −0.75, source coordinate scale·(dst + 0.5) − 0.5 (not clamped, as PyTorch
 * does for cubic), the four taps' indices clamped to the border, and no clamping of the result
 * (bicubic overshoots a little around edges). Computed in float64; PyTorch uses float32, so the
 * results agree to about 1e-7.
 */

const A = -0.75;

/** |x| ≤ 1 branch of the cubic convolution kernel. */
function cubic1(x: number): number {
  return ((A + 2) * x - (A + 3)) * x * x + 1;
}

/** 1 < |x| < 2 branch. */
function cubic2(x: number): number {
  return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
}

/** The four weights for taps at floor(src) − 1 … floor(src) + 2, given t = src − floor(src). */
export function cubicWeights(t: number): [number, number, number, number] {
  return [cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)];
}

interface AxisTaps {
  /** 4 clamped source indices per output sample */
  index: Int32Array;
  /** 4 weights per output sample */
  weight: Float64Array;
}

function axisTaps(inSize: number, outSize: number): AxisTaps {
  const scale = inSize / outSize;
  const index = new Int32Array(outSize * 4);
  const weight = new Float64Array(outSize * 4);
  for (let o = 0; o < outSize; o++) {
    const src = scale * (o + 0.5) - 0.5;
    const i0 = Math.floor(src);
    const w = cubicWeights(src - i0);
    for (let j = 0; j < 4; j++) {
      const i = i0 - 1 + j;
      index[o * 4 + j] = i < 0 ? 0 : Math.min(i, inSize - 1);
      weight[o * 4 + j] = w[j];
    }
  }
  return { index, weight };
}

/** Row-major `width`×`height` floats → `outWidth`×`outHeight` floats. */
export function resizeBicubic(
  x: ArrayLike<number>,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): Float32Array {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
    ['outWidth', outWidth],
    ['outHeight', outHeight],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  if (x.length !== width * height)
    throw new RangeError(`expected ${width}×${height} values, got ${x.length}`);
  const tx = axisTaps(width, outWidth);
  const ty = axisTaps(height, outHeight);
  const out = new Float32Array(outWidth * outHeight);
  for (let oy = 0; oy < outHeight; oy++) {
    for (let ox = 0; ox < outWidth; ox++) {
      // rows outer, columns inner: the order PyTorch's kernel accumulates in
      let acc = 0;
      for (let j = 0; j < 4; j++) {
        const row = ty.index[oy * 4 + j] * width;
        let t = 0;
        for (let i = 0; i < 4; i++) t += x[row + tx.index[ox * 4 + i]] * tx.weight[ox * 4 + i];
        acc += t * ty.weight[oy * 4 + j];
      }
      out[oy * outWidth + ox] = acc;
    }
  }
  return out;
}

/**
 * The adjoint (transpose) of `resizeBicubic`: ⟨resizeBicubic(x), g⟩ = ⟨x, resizeBicubicAdjoint(g)⟩
 * for every x and g. `g` holds `outWidth`×`outHeight` values, the result `width`×`height`: each
 * output sample's cotangent is spread back onto its 4×4 taps with the same weights.
 */
export function resizeBicubicAdjoint(
  g: ArrayLike<number>,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): Float32Array {
  if (g.length !== outWidth * outHeight)
    throw new RangeError(`expected ${outWidth}×${outHeight} values, got ${g.length}`);
  const tx = axisTaps(width, outWidth);
  const ty = axisTaps(height, outHeight);
  const acc = new Float64Array(width * height);
  for (let oy = 0; oy < outHeight; oy++) {
    for (let ox = 0; ox < outWidth; ox++) {
      const v = g[oy * outWidth + ox];
      if (v === 0) continue;
      for (let j = 0; j < 4; j++) {
        const row = ty.index[oy * 4 + j] * width;
        const wy = v * ty.weight[oy * 4 + j];
        for (let i = 0; i < 4; i++) acc[row + tx.index[ox * 4 + i]] += wy * tx.weight[ox * 4 + i];
      }
    }
  }
  return Float32Array.from(acc);
}
