/** IDX (MNIST-format) parsing, shared by the page (after DecompressionStream) and Node tools (after zlib). */

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export function parseIdx(bytes: Uint8Array): IdxArray {
  if (bytes.length < 4) throw new Error('IDX file too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic >> 8 !== 0x08) throw new Error(`not an unsigned-byte IDX file (magic 0x${magic.toString(16)})`);
  const ndim = magic & 0xff;
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i));
  const offset = 4 + 4 * ndim;
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - offset !== size)
    throw new Error(`IDX data has ${bytes.length - offset} bytes, dims say ${size}`);
  return { dims, data: bytes.subarray(offset) };
}

export interface TestSet {
  count: number;
  /** 784 bytes per image, row-major, white-on-black. */
  images: Uint8Array;
  labels: Uint8Array;
}

export function testSetFromIdx(images: Uint8Array, labels: Uint8Array): TestSet {
  const im = parseIdx(images);
  const lb = parseIdx(labels);
  if (im.dims.length !== 3 || im.dims[1] !== 28 || im.dims[2] !== 28)
    throw new Error(`unexpected image dims ${im.dims}`);
  if (lb.dims[0] !== im.dims[0]) throw new Error(`${im.dims[0]} images but ${lb.dims[0]} labels`);
  return { count: im.dims[0], images: im.data, labels: lb.data };
}

export function imageAt(set: TestSet, index: number): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index >= set.count) {
    throw new RangeError(`test-set index ${index} is outside 0..${set.count - 1}`);
  }
  return set.images.subarray(index * 784, (index + 1) * 784);
}

/** [0,1] float input for one test image. */
export function imageInput(set: TestSet, index: number): Float32Array {
  const px = imageAt(set, index);
  const out = new Float32Array(784);
  for (let i = 0; i < 784; i++) out[i] = px[i] / 255;
  return out;
}
