/**
 * The randomized input preprocessors of SPEC §3, on 28×28 float images (row-major, nominally in
 * [0,1]). Each query draws fresh parameters from the Rng it is given; `applyPreprocessor` returns
 * the draw so the UI can show it and a seeded request can be replayed.
 */

import { MODEL_PIXELS, MODEL_SIDE } from './image';
import type { PreprocessorSpec } from './models';
import type { Rng } from './prng';
import { resizeBicubic, resizeBicubicAdjoint } from './resample';

export type PreprocessDraw =
  | { kind: 'resize_pad'; applied: false }
  | {
      kind: 'resize_pad';
      applied: true;
      ratio: number;
      size: number;
      a: number;
      b: number;
      left: number;
      top: number;
    }
  | { kind: 'noise'; sigma: number }
  | { kind: 'blur'; sigma: number; kernelWidth: number; kernelHeight: number };

export interface PreprocessResult {
  output: Float32Array;
  draw: PreprocessDraw;
}

/**
 * Side after the resize: ⌊(1 − r)·28⌋, computed with the same double arithmetic as the thesis'
 * `int((1 - r) * 28)`. For the default ratios the products (25.2, 25.76, 26.32, 26.88, 27.44) are
 * far from integers, so float rounding cannot move the floor; a ratio like 0.25 gives exactly 21.
 */
export function resizePadSize(ratio: number): number {
  if (!(ratio >= 0 && ratio < 1)) throw new RangeError(`resize ratio must be in [0, 1), got ${ratio}`);
  const s = Math.floor((1 - ratio) * MODEL_SIDE);
  if (s < 1) throw new RangeError(`resize ratio ${ratio} leaves no pixels`);
  return s;
}

/** Offsets of the resized image inside the 28×28 canvas: ⌊a·(28 − s)⌋ from the left, ⌊b·(28 − s)⌋ from the top. */
export function resizePadGeometry(
  ratio: number,
  a: number,
  b: number,
): { size: number; left: number; top: number } {
  for (const [name, v] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (!(v >= 0 && v <= 1)) throw new RangeError(`offset ${name} must be in [0, 1], got ${v}`);
  }
  const size = resizePadSize(ratio);
  return { size, left: Math.floor(a * (MODEL_SIDE - size)), top: Math.floor(b * (MODEL_SIDE - size)) };
}

/**
 * `_3`'s transform for one draw: bicubic 28→s (PyTorch semantics), then zero padding back to 28×28.
 * Not clamped afterwards: the thesis (defenseByInputTransformation.Randomization) fed the model the
 * raw `F.interpolate` output, whose overshoot on Fashion-MNIST edges reaches about −0.11 / +1.01.
 */
export function resizePad(x: Float32Array, ratio: number, a: number, b: number): Float32Array {
  checkInput(x);
  const { size, left, top } = resizePadGeometry(ratio, a, b);
  const small = resizeBicubic(x, MODEL_SIDE, MODEL_SIDE, size, size);
  const out = new Float32Array(MODEL_PIXELS);
  for (let y = 0; y < size; y++)
    out.set(small.subarray(y * size, (y + 1) * size), (top + y) * MODEL_SIDE + left);
  return out;
}

/** `_4`: x + N(0, σ²) per pixel, clipped to [0, 1]. */
export function addGaussianNoise(x: Float32Array, sigma: number, rng: Rng): Float32Array {
  if (!(sigma >= 0 && Number.isFinite(sigma))) throw new RangeError(`noise sigma must be ≥ 0, got ${sigma}`);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i] + sigma * rng.normal();
    out[i] = v < 0 ? 0 : Math.min(v, 1);
  }
  return out;
}

/** torchvision's `_get_gaussian_kernel1d`: exp(−x²/2σ²) at linspace(−(k−1)/2, (k−1)/2, k), normalised. */
export function gaussianKernel1d(size: number, sigma: number): Float64Array {
  if (!Number.isInteger(size) || size <= 0 || size % 2 === 0) {
    throw new RangeError(`blur kernel size must be a positive odd integer, got ${size}`);
  }
  if (!(sigma > 0 && Number.isFinite(sigma))) throw new RangeError(`blur sigma must be > 0, got ${sigma}`);
  const half = (size - 1) / 2;
  const k = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const t = (i - half) / sigma;
    k[i] = Math.exp(-0.5 * t * t);
    sum += k[i];
  }
  for (let i = 0; i < size; i++) k[i] /= sum;
  return k;
}

/** Index into [0, n) with reflect padding (edge not repeated), as torch's pad(mode='reflect'). */
function reflect(i: number, n: number): number {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

/**
 * torchvision `gaussian_blur(img, kernel_size=[kernelWidth, kernelHeight], sigma=[σ, σ])`: the
 * kernel is the outer product of two 1-D kernels (so it can be applied separably), the image is
 * reflect-padded by half a kernel on each side, and the result is not clamped.
 */
export function gaussianBlur(
  x: Float32Array,
  kernelWidth: number,
  kernelHeight: number,
  sigma: number,
  width = MODEL_SIDE,
  height = MODEL_SIDE,
): Float32Array {
  if (x.length !== width * height)
    throw new RangeError(`expected ${width}×${height} values, got ${x.length}`);
  const kx = gaussianKernel1d(kernelWidth, sigma);
  const ky = gaussianKernel1d(kernelHeight, sigma);
  const hx = (kernelWidth - 1) / 2;
  const hy = (kernelHeight - 1) / 2;
  if (hx >= width || hy >= height) {
    throw new RangeError(
      `blur kernel ${kernelWidth}×${kernelHeight} is too large for a ${width}×${height} image`,
    );
  }
  const tmp = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let xx = 0; xx < width; xx++) {
      let acc = 0;
      for (let i = 0; i < kernelWidth; i++) acc += x[y * width + reflect(xx + i - hx, width)] * kx[i];
      tmp[y * width + xx] = acc;
    }
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let xx = 0; xx < width; xx++) {
      let acc = 0;
      for (let j = 0; j < kernelHeight; j++) acc += tmp[reflect(y + j - hy, height) * width + xx] * ky[j];
      out[y * width + xx] = acc;
    }
  }
  return out;
}

/**
 * The adjoint of one `_3` draw: ⟨resizePad(x), g⟩ = ⟨x, resizePadAdjoint(g)⟩. The transform is
 * linear for a fixed (ratio, a, b), so this is the exact gradient of the draw: the s×s window of the
 * cotangent under the pasted image, through the transpose of the bicubic resize.
 */
export function resizePadAdjoint(g: Float32Array, ratio: number, a: number, b: number): Float32Array {
  checkInput(g);
  const { size, left, top } = resizePadGeometry(ratio, a, b);
  const window = new Float32Array(size * size);
  for (let y = 0; y < size; y++)
    window.set(g.subarray((top + y) * MODEL_SIDE + left, (top + y) * MODEL_SIDE + left + size), y * size);
  return resizeBicubicAdjoint(window, MODEL_SIDE, MODEL_SIDE, size, size);
}

/**
 * The adjoint of `gaussianBlur` for one σ (linear, so the exact gradient of the draw):
 * ⟨gaussianBlur(x), g⟩ = ⟨x, gaussianBlurAdjoint(g)⟩, each pass transposed, reflect indices
 * included.
 */
export function gaussianBlurAdjoint(
  g: Float32Array,
  kernelWidth: number,
  kernelHeight: number,
  sigma: number,
  width = MODEL_SIDE,
  height = MODEL_SIDE,
): Float32Array {
  if (g.length !== width * height)
    throw new RangeError(`expected ${width}×${height} values, got ${g.length}`);
  const kx = gaussianKernel1d(kernelWidth, sigma);
  const ky = gaussianKernel1d(kernelHeight, sigma);
  const hx = (kernelWidth - 1) / 2;
  const hy = (kernelHeight - 1) / 2;
  if (hx >= width || hy >= height) {
    throw new RangeError(
      `blur kernel ${kernelWidth}×${kernelHeight} is too large for a ${width}×${height} image`,
    );
  }
  const tmp = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let xx = 0; xx < width; xx++) {
      const v = g[y * width + xx];
      for (let j = 0; j < kernelHeight; j++) tmp[reflect(y + j - hy, height) * width + xx] += v * ky[j];
    }
  }
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let xx = 0; xx < width; xx++) {
      const v = tmp[y * width + xx];
      for (let i = 0; i < kernelWidth; i++) out[y * width + reflect(xx + i - hx, width)] += v * kx[i];
    }
  }
  return Float32Array.from(out);
}

/**
 * The gradient through one preprocessor draw: ∂loss/∂x from ∂loss/∂(preprocessed x). Resize & pad
 * and the blur are linear for a fixed draw (their adjoints); Gaussian noise adds a constant and
 * passes the gradient through (its clip to [0, 1] is treated as the identity, as EOT attacks on
 * noise defenses do).
 */
export function preprocessAdjoint(draw: PreprocessDraw, g: Float32Array): Float32Array {
  checkInput(g);
  switch (draw.kind) {
    case 'resize_pad':
      return draw.applied ? resizePadAdjoint(g, draw.ratio, draw.a, draw.b) : g.slice();
    case 'noise':
      return g.slice();
    case 'blur':
      return gaussianBlurAdjoint(g, draw.kernelWidth, draw.kernelHeight, draw.sigma);
  }
}

/** One query through a randomized preprocessor: fresh parameters from `rng`, the result and the draw. */
export function applyPreprocessor(spec: PreprocessorSpec, x: Float32Array, rng: Rng): PreprocessResult {
  checkInput(x);
  switch (spec.kind) {
    case 'resize_pad': {
      if (spec.ratios.length === 0 || spec.offsets.length === 0) {
        throw new RangeError('resize_pad needs at least one ratio and one offset');
      }
      // the thesis applied the transform when torch.rand(1) <= prob
      if (!(rng.uniform() < spec.probability))
        return { output: x.slice(), draw: { kind: 'resize_pad', applied: false } };
      const ratio = rng.pick(spec.ratios);
      const a = rng.pick(spec.offsets);
      const b = rng.pick(spec.offsets);
      const { size, left, top } = resizePadGeometry(ratio, a, b);
      return {
        output: resizePad(x, ratio, a, b),
        draw: { kind: 'resize_pad', applied: true, ratio, size, a, b, left, top },
      };
    }
    case 'noise':
      return { output: addGaussianNoise(x, spec.sigma, rng), draw: { kind: 'noise', sigma: spec.sigma } };
    case 'blur': {
      if (!(spec.sigmaMin > 0 && spec.sigmaMax >= spec.sigmaMin)) {
        throw new RangeError(`blur sigma range [${spec.sigmaMin}, ${spec.sigmaMax}] is invalid`);
      }
      // torchvision's GaussianBlur draws one σ uniformly per call and uses it for both axes
      const sigma = rng.uniformIn(spec.sigmaMin, spec.sigmaMax);
      return {
        output: gaussianBlur(x, spec.kernelWidth, spec.kernelHeight, sigma),
        draw: { kind: 'blur', sigma, kernelWidth: spec.kernelWidth, kernelHeight: spec.kernelHeight },
      };
    }
  }
}

function checkInput(x: Float32Array): void {
  if (x.length !== MODEL_PIXELS)
    throw new RangeError(`expected ${MODEL_PIXELS} values (28×28), got ${x.length}`);
}
