/**
 * Request pixels → model input, as the thesis service converted them with Pillow (SPEC §4):
 * RGB → "L", bilinear resize to 28×28 when the size differs, then /255. Pure functions on typed
 * arrays (no DOM), so they run in the page, the worker and Node alike.
 */

export const MODEL_SIDE = 28;
export const MODEL_PIXELS = MODEL_SIDE * MODEL_SIDE;

/**
 * Pillow's RGB → L (Convert.c `rgb2l`, Pillow ≥ 9): L = (R·19595 + G·38470 + B·7471 + 0x8000) >> 16,
 * i.e. ITU-R 601 weights 0.299/0.587/0.114 in 16-bit fixed point, rounded. (The SPEC's
 * floor(R·299/1000 + …) is the older formula; it disagrees on about half of all colours.)
 */
export function rgbToGray(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const n = checkSize(width, height);
  if (rgb.length !== n * 3)
    throw new RangeError(`RGB buffer has ${rgb.length} bytes, ${width}×${height}×3 needs ${n * 3}`);
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[i] = (rgb[j] * 19595 + rgb[j + 1] * 38470 + rgb[j + 2] * 7471 + 0x8000) >>> 16;
  }
  return out;
}

// Pillow's Resample.c: 8-bit images use coefficients with 22 fractional bits (32 - 8 - 2).
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

interface Coeffs {
  /** taps per output sample (stride of `k`) */
  ksize: number;
  /** first input index and tap count per output sample */
  bounds: Int32Array;
  /** fixed-point weights, ksize per output sample */
  k: Int32Array;
}

function bilinearFilter(x: number): number {
  const a = x < 0 ? -x : x;
  return a < 1 ? 1 - a : 0;
}

/**
 * Resample.c `precompute_coeffs` + `normalize_coeffs_8bpc` for the full box (0, inSize): the
 * triangle filter's support grows with the downscale factor (Pillow antialiases), the weights
 * are normalised in float64 and then rounded half away from zero to 22-bit fixed point.
 */
function precomputeCoeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1 * filterscale; // bilinear support is 1
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const k = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) truncates toward zero
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = bilinearFilter((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      k[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, k };
}

/** Resample.c `clip8`: drop the fraction (arithmetic shift) and clamp to 0..255. */
function clip8(ss: number): number {
  const v = Math.floor(ss / ONE);
  return v < 0 ? 0 : Math.min(v, 255);
}

function resampleHorizontal(src: Uint8Array, width: number, height: number, outWidth: number): Uint8Array {
  const { ksize, bounds, k } = precomputeCoeffs(width, outWidth);
  const out = new Uint8Array(outWidth * height);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx * 2];
      const xmax = bounds[xx * 2 + 1];
      const kk = xx * ksize;
      let ss = HALF;
      for (let x = 0; x < xmax; x++) ss += src[row + xmin + x] * k[kk + x];
      out[y * outWidth + xx] = clip8(ss);
    }
  }
  return out;
}

function resampleVertical(src: Uint8Array, width: number, height: number, outHeight: number): Uint8Array {
  const { ksize, bounds, k } = precomputeCoeffs(height, outHeight);
  const out = new Uint8Array(width * outHeight);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2];
    const ymax = bounds[yy * 2 + 1];
    const kk = yy * ksize;
    for (let x = 0; x < width; x++) {
      let ss = HALF;
      for (let y = 0; y < ymax; y++) ss += src[(ymin + y) * width + x] * k[kk + y];
      out[yy * width + x] = clip8(ss);
    }
  }
  return out;
}

/**
 * `Image.resize((outWidth, outHeight), Image.BILINEAR)` on a mode-"L" image, bit-exact with
 * Pillow 9's ImagingResample (Resample.c): a separable, antialiased triangle filter, horizontal
 * pass first, each pass in 22-bit fixed point with rounding and clipping to uint8 in between; a
 * pass whose size does not change is skipped, as in `ImagingResampleInner`.
 */
export function resizeBilinearPIL(
  gray: Uint8Array,
  width: number,
  height: number,
  outWidth = MODEL_SIDE,
  outHeight = MODEL_SIDE,
): Uint8Array {
  const n = checkSize(width, height);
  checkSize(outWidth, outHeight);
  if (gray.length !== n)
    throw new RangeError(`gray buffer has ${gray.length} bytes, ${width}×${height} needs ${n}`);
  let img = gray;
  if (outWidth !== width) img = resampleHorizontal(img, width, height, outWidth);
  if (outHeight !== height) img = resampleVertical(img, outWidth, height, outHeight);
  return img === gray ? gray.slice() : img;
}

/** uint8 gray → float32 in [0,1] (x / 255, as the thesis' `tensor / 255`). */
export function grayToFloat(gray: Uint8Array): Float32Array {
  const out = new Float32Array(gray.length);
  for (let i = 0; i < gray.length; i++) out[i] = gray[i] / 255;
  return out;
}

/** A gray image of any size → the 784 floats the models take (resize only when not 28×28). */
export function grayToModelInput(gray: Uint8Array, width: number, height: number): Float32Array {
  const same = width === MODEL_SIDE && height === MODEL_SIDE;
  return grayToFloat(same ? gray : resizeBilinearPIL(gray, width, height, MODEL_SIDE, MODEL_SIDE));
}

/**
 * Raw request pixels (row-major; channel 1 = gray bytes, channel 3 = interleaved RGB) → model input:
 * gray → bilinear resize to 28×28 if needed (the thesis' centre crop after it is a no-op) → /255.
 */
export function toModelInput(bytes: Uint8Array, width: number, height: number, channel: 1 | 3): Float32Array {
  const n = checkSize(width, height);
  if (channel !== 1 && channel !== 3) throw new RangeError(`channel must be 1 or 3, got ${channel}`);
  if (bytes.length !== n * channel) {
    throw new RangeError(`${bytes.length} bytes do not match ${width}×${height}×${channel} = ${n * channel}`);
  }
  const gray = channel === 3 ? rgbToGray(bytes, width, height) : bytes;
  return grayToModelInput(gray, width, height);
}

/** Model input (floats, nominally in [0,1]) → displayable gray bytes, rounded and clamped. */
export function floatToGray(x: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.round(x[i] * 255);
    out[i] = v < 0 ? 0 : Math.min(v, 255);
  }
  return out;
}

function checkSize(width: number, height: number): number {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`image size must be positive integers, got ${width}×${height}`);
  }
  return width * height;
}
