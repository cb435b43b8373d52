/**
 * Pure encoders for the attack panel's downloads (no DOM): the API request body (the thesis
 * service's JSON format), an 8-bit grayscale PNG (fast-png) and NumPy's `.npy` v1.0
 * format for float32 arrays, plus a parser for the
 * latter so that tests (and users) can check a file round-trips.
 */
import { encode as encodePng } from 'fast-png';
import { type ApiRequestBody, imageRequestBody } from '../../core/api';

export const IMAGE_SIDE = 28;
export const IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE;

/** Model input (floats in [0,1]) → gray bytes, Math.round(x·255), clamped to 0..255. */
export function toGrayBytes(x: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.round(x[i] * 255);
    out[i] = Number.isNaN(v) || v < 0 ? 0 : Math.min(v, 255);
  }
  return out;
}

/**
 * The body of a `POST /<model>/decision` (or `/score`) request for a 28×28 gray image; with `seed`,
 * a randomized defense draws the same noise on every call (the API's `"seed"` extension).
 */
export function apiRequestBody(x: ArrayLike<number>, seed?: number): ApiRequestBody {
  if (x.length !== IMAGE_PIXELS) throw new RangeError(`expected ${IMAGE_PIXELS} values, got ${x.length}`);
  return imageRequestBody(toGrayBytes(x), [IMAGE_SIDE, IMAGE_SIDE], 1, seed);
}

/** The request body as pretty-printed JSON text (what the JSON download contains). */
export function apiRequestJson(x: ArrayLike<number>, seed?: number): string {
  return `${JSON.stringify(apiRequestBody(x, seed), null, 2)}\n`;
}

/**
 * The seed the downloaded request carries: the run's own seed for a randomized defense, so that its
 * decision is one fixed, reproducible draw (without one, each call draws fresh noise and the answer
 * can change); none for a deterministic model, whose answer never depends on it.
 */
export function downloadSeed(meta: { seed: number }, randomized: boolean): number | undefined {
  return randomized ? meta.seed : undefined;
}

/**
 * An 8-bit grayscale PNG (colour type 0, no alpha) of `gray`, row-major `width × height` bytes, by
 * fast-png. A canvas cannot do this: `toBlob` always writes RGBA, so a "grayscale" PNG from it loads
 * as (28, 28, 4) in numpy/Pillow.
 * @throws RangeError when the byte count does not match width × height
 */
export function encodeGrayPng(gray: Uint8Array, width: number, height: number): Uint8Array {
  if (gray.length !== width * height) {
    throw new RangeError(`${gray.length} bytes, but a ${width}×${height} gray image has ${width * height}`);
  }
  return encodePng({ width, height, data: gray, depth: 8, channels: 1 });
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** magic (6) + version (2) + header length (2) */
const NPY_PREAMBLE = 10;

/** Python's repr of a shape tuple: `(784,)`, `(28, 28)`, `()`. */
function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/**
 * The header dict exactly as numpy writes it — `{'descr': '<f4', 'fortran_order': False, 'shape':
 * (28, 28), }` — padded with spaces and ended by `\n` so that preamble + header is a multiple of 64.
 */
export function npyHeader(shape: readonly number[]): string {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  const unpadded = NPY_PREAMBLE + dict.length + 1; // + '\n'
  const pad = (64 - (unpadded % 64)) % 64;
  return `${dict}${' '.repeat(pad)}\n`;
}

/** A float32 array as an `.npy` v1.0 file: little-endian `<f4`, C order. */
export function encodeNpy(
  data: ArrayLike<number>,
  shape: readonly number[] = [IMAGE_SIDE, IMAGE_SIDE],
): Uint8Array {
  const size = shape.reduce((a, b) => a * b, 1);
  if (shape.some((s) => !Number.isInteger(s) || s < 0)) throw new RangeError(`bad shape ${shapeRepr(shape)}`);
  if (size !== data.length) {
    throw new RangeError(`shape ${shapeRepr(shape)} holds ${size} values, got ${data.length}`);
  }
  const header = npyHeader(shape);
  if (header.length > 0xffff) throw new RangeError('npy header too long for format version 1.0');
  const offset = NPY_PREAMBLE + header.length;
  const out = new Uint8Array(offset + 4 * size);
  out.set(NPY_MAGIC, 0);
  out[6] = 1; // major version
  out[7] = 0; // minor version
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[NPY_PREAMBLE + i] = header.charCodeAt(i);
  for (let i = 0; i < size; i++) view.setFloat32(offset + 4 * i, data[i], true);
  return out;
}

export interface ParsedNpy {
  version: [number, number];
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** Length of the header string (dict + padding + '\n'). */
  headerLength: number;
  data: Float32Array;
}

/** Parses a `.npy` file with a little-endian float32 (`<f4`) array (version 1.x or 2.x headers). */
export function parseNpy(bytes: Uint8Array): ParsedNpy {
  if (bytes.length < NPY_PREAMBLE || NPY_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error('not an .npy file (bad magic)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const minor = bytes[7];
  let headerLength: number;
  let start: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLength = view.getUint32(8, true);
    start = 12;
  } else {
    throw new Error(`unsupported .npy version ${major}.${minor}`);
  }
  if (start + headerLength > bytes.length) throw new Error('.npy header runs past the end of the file');
  let header = '';
  for (let i = 0; i < headerLength; i++) header += String.fromCharCode(bytes[start + i]);
  if (!header.endsWith('\n')) throw new Error('.npy header does not end with a newline');
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new Error(`malformed .npy header: ${header.trim()}`);
  }
  if (descr !== '<f4') throw new Error(`only little-endian float32 ('<f4') is supported, got '${descr}'`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number.parseInt(s, 10));
  const size = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLength;
  if (bytes.length - offset !== 4 * size) {
    throw new Error(`.npy data has ${bytes.length - offset} bytes, shape (${shape}) needs ${4 * size}`);
  }
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = view.getFloat32(offset + 4 * i, true);
  return { version: [major, minor], descr, fortranOrder: fortran === 'True', shape, headerLength, data };
}

/** File-name stem for an attack's downloads, e.g. `adversarial_0_square_linf_seed1`. */
export function downloadStem(meta: { model: string; attack: string; norm: string; seed: number }): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, '-');
  return `adversarial_${safe(meta.model)}_${safe(meta.attack)}_${safe(meta.norm)}_seed${meta.seed}`;
}
