/**
 * Reading an ONNX classifier for the reverse pass: the decoded ModelProto (onnx-proto), its default
 * opset, small tensors as plain numbers, and typed access to node attributes. Semantics follow the
 * ONNX IR and operator specification (https://onnx.ai/onnx/repo-docs/IR.html, Operators.md).
 */

import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;

/** ONNX TensorProto.DataType codes used here. */
export const DTYPE = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

/** A tensor held as plain numbers (row-major): small constants and shape values, never weights. */
export interface Const {
  dtype: number;
  dims: number[];
  data: number[];
}

/** The model is not one the reverse pass can handle; `message` says what was found. */
export class GradientUnsupportedError extends Error {
  /**
   * @param ops the ONNX op types without a rule (empty when the reason is not a missing rule)
   */
  constructor(
    message: string,
    readonly ops: readonly string[] = [],
  ) {
    super(message);
    this.name = 'GradientUnsupportedError';
  }
}

/** protobufjs decodes int64 fields as Long objects when the `long` package is present. */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof v === 'object' && 'toNumber' in v) return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

export function decodeModel(bytes: Uint8Array): ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/** Version of the default (`ai.onnx`) opset the model imports; throws when it imports none. */
export function defaultOpset(model: ModelProto): number {
  for (const o of model.opsetImport ?? []) {
    if (!o.domain || o.domain === 'ai.onnx') return toNumber(o.version);
  }
  throw new GradientUnsupportedError('the model imports no default (ai.onnx) opset');
}

/** Number of elements of a shape. */
export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/**
 * A TensorProto's values as numbers, or null when it is larger than `limit` elements or of a type
 * the pass never needs to read (strings, float16). Raw data is little-endian (ONNX IR).
 */
export function tensorToConst(t: TensorProto, limit = Number.POSITIVE_INFINITY): Const | null {
  const dims = (t.dims ?? []).map(toNumber);
  const n = sizeOf(dims);
  if (n > limit) return null;
  const dtype = t.dataType ?? 0;
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const data: number[] = new Array(n);
  if (raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const width = {
      [DTYPE.FLOAT]: 4,
      [DTYPE.INT32]: 4,
      [DTYPE.INT64]: 8,
      [DTYPE.DOUBLE]: 8,
      [DTYPE.BOOL]: 1,
      [DTYPE.UINT8]: 1,
      [DTYPE.INT8]: 1,
    }[dtype];
    if (width === undefined || raw.byteLength !== n * width) return null;
    for (let i = 0; i < n; i++) {
      const o = i * width;
      switch (dtype) {
        case DTYPE.FLOAT:
          data[i] = view.getFloat32(o, true);
          break;
        case DTYPE.DOUBLE:
          data[i] = view.getFloat64(o, true);
          break;
        case DTYPE.INT32:
          data[i] = view.getInt32(o, true);
          break;
        case DTYPE.INT64:
          data[i] = Number(view.getBigInt64(o, true));
          break;
        case DTYPE.INT8:
          data[i] = view.getInt8(o);
          break;
        default:
          data[i] = view.getUint8(o);
      }
    }
    return { dtype, dims, data };
  }
  let src: unknown[] | null | undefined;
  if (dtype === DTYPE.FLOAT) src = t.floatData;
  else if (dtype === DTYPE.INT64) src = t.int64Data;
  else if (dtype === DTYPE.DOUBLE) src = t.doubleData;
  else if (dtype === DTYPE.INT32 || dtype === DTYPE.BOOL || dtype === DTYPE.UINT8 || dtype === DTYPE.INT8)
    src = t.int32Data;
  else return null;
  if (!src || src.length !== n) return null;
  for (let i = 0; i < n; i++) data[i] = toNumber(src[i]);
  return { dtype, dims, data };
}

/** A float32 or int64 TensorProto holding `data`, for the constants the pass adds. */
export function constToTensor(name: string, c: Const): TensorProto {
  const n = sizeOf(c.dims);
  if (c.data.length !== n)
    throw new RangeError(`constant ${name}: ${c.data.length} values for shape [${c.dims}]`);
  let raw: Uint8Array;
  if (c.dtype === DTYPE.FLOAT) raw = new Uint8Array(Float32Array.from(c.data).buffer);
  else if (c.dtype === DTYPE.INT64)
    raw = new Uint8Array(BigInt64Array.from(c.data.map((v) => BigInt(v))).buffer);
  else if (c.dtype === DTYPE.BOOL) raw = Uint8Array.from(c.data.map((v) => (v ? 1 : 0)));
  else throw new RangeError(`constant ${name}: data type ${c.dtype} is not written by the pass`);
  return onnx.TensorProto.create({ name, dims: c.dims, dataType: c.dtype, rawData: raw });
}

export type AttrValue = number | number[] | string | TensorProto | undefined;

/** A node's attributes by name: ints and floats as numbers, lists as arrays, strings decoded. */
export function attributes(node: NodeProto): Map<string, AttrValue> {
  const out = new Map<string, AttrValue>();
  for (const a of node.attribute ?? []) {
    const name = a.name ?? '';
    switch (a.type) {
      case onnx.AttributeProto.AttributeType.FLOAT:
        out.set(name, a.f ?? 0);
        break;
      case onnx.AttributeProto.AttributeType.INT:
        out.set(name, toNumber(a.i ?? 0));
        break;
      case onnx.AttributeProto.AttributeType.STRING:
        out.set(name, new TextDecoder().decode(a.s ?? new Uint8Array()));
        break;
      case onnx.AttributeProto.AttributeType.TENSOR:
        out.set(name, a.t ?? undefined);
        break;
      case onnx.AttributeProto.AttributeType.FLOATS:
        out.set(name, [...(a.floats ?? [])]);
        break;
      case onnx.AttributeProto.AttributeType.INTS:
        out.set(name, (a.ints ?? []).map(toNumber));
        break;
      default:
        out.set(name, undefined);
    }
  }
  return out;
}

/** Typed attribute reads with defaults; a wrong type is a GradientUnsupportedError naming the node. */
export class Attrs {
  readonly map: Map<string, AttrValue>;
  constructor(readonly node: NodeProto) {
    this.map = attributes(node);
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  int(name: string, fallback: number): number {
    const v = this.map.get(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'number') throw this.wrong(name, 'an int');
    return v;
  }
  float(name: string, fallback: number): number {
    return this.int(name, fallback);
  }
  ints(name: string, fallback: number[]): number[] {
    const v = this.map.get(name);
    if (v === undefined) return fallback;
    if (!Array.isArray(v)) throw this.wrong(name, 'a list of ints');
    return v;
  }
  string(name: string, fallback: string): string {
    const v = this.map.get(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'string') throw this.wrong(name, 'a string');
    return v;
  }
  private wrong(name: string, what: string): GradientUnsupportedError {
    return new GradientUnsupportedError(
      `${this.node.opType} node "${this.node.name ?? ''}": attribute ${name} is not ${what}`,
    );
  }
}
