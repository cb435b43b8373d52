/**
 * The structural check every uploaded ONNX file gets before onnxruntime sees it (page, service and
 * experiment runner alike): the file must be a self-contained ONNX ModelProto that C++ protobuf
 * (onnxruntime) and this check cannot read differently.
 *
 * Why a wire-format walk of our own: a tensor can be stored outside the file (`data_location:
 * EXTERNAL`, `external_data {location: …}`); loaded from bytes, onnxruntime-node resolves such a
 * location against a folder on the server, so a hostile model could read a file there and hand it
 * back through `/score`. A check that decodes the file with another protobuf library (protobufjs)
 * is only as good as that library's agreement with C++ protobuf, and two differentials broke it:
 * C++ merges a repeated singular message field (`ModelProto.graph` written twice) where protobufjs
 * keeps the last copy, and C++ skips a field of the wrong wire type as unknown where protobufjs
 * throws. This walk therefore refuses what the two parsers could read differently instead of
 * guessing how onnxruntime reads it (fail closed):
 * - bytes that do not parse as protobuf to the last byte (truncated, bad varint, wire type 3, 4, 6, 7);
 * - a known field with a wire type other than the schema's (C++ would skip it as unknown);
 * - a singular message field written more than once (C++ would merge the copies);
 * - a field number the ONNX schema does not define in a message that holds or leads to tensors
 *   (ModelProto, GraphProto, NodeProto, AttributeProto, FunctionProto, TensorProto,
 *   SparseTensorProto, TrainingInfoProto), since a newer schema might give it tensors;
 * - nesting deeper than C++ protobuf's default recursion limit (100);
 * - any tensor whose `data_location` is not DEFAULT or that carries `external_data`, wherever it
 *   sits: initializers, sparse initializers, Constant and other attribute tensors, subgraphs
 *   (If/Loop/Scan bodies), model-local functions and training-info graphs.
 * It is one layer: the engines also hand onnxruntime an empty folder for external data (see
 * `server/` and docs/custom-models.md), so that neither layer has to be right alone.
 *
 * Field numbers are those of onnx/onnx.proto (ONNX 1.19, IR version 11).
 */

/** Protobuf wire types (https://protobuf.dev/programming-guides/encoding/). */
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** C++ protobuf's default recursion limit for nested messages. */
const MAX_DEPTH = 100;

type MessageName =
  | 'ModelProto'
  | 'GraphProto'
  | 'NodeProto'
  | 'AttributeProto'
  | 'FunctionProto'
  | 'TensorProto'
  | 'SparseTensorProto'
  | 'TrainingInfoProto';

/**
 * One known field: a nested message to walk (`msg`, with `repeated`), or a leaf whose wire types
 * are listed (`wire`; repeated scalars may come packed, as LEN, or one by one).
 */
type FieldSpec = { msg: MessageName; name: string; repeated: boolean } | { wire: readonly number[] };

const msg = (m: MessageName, name: string, repeated = false): FieldSpec => ({ msg: m, name, repeated });
const str: FieldSpec = { wire: [LEN] }; // string, bytes and messages that cannot hold tensors
const int: FieldSpec = { wire: [VARINT] };
const ints: FieldSpec = { wire: [VARINT, LEN] }; // repeated int/enum, packed or not
const f32: FieldSpec = { wire: [I32] };
const f32s: FieldSpec = { wire: [I32, LEN] };
const f64s: FieldSpec = { wire: [I64, LEN] };

/** The ONNX schema of the messages that hold or lead to tensors: field number → spec. */
const SCHEMA: Record<MessageName, Record<number, FieldSpec>> = {
  ModelProto: {
    1: int, // ir_version
    2: str, // producer_name
    3: str, // producer_version
    4: str, // domain
    5: int, // model_version
    6: str, // doc_string
    7: msg('GraphProto', 'graph'),
    8: str, // opset_import (OperatorSetIdProto, repeated)
    14: str, // metadata_props
    20: msg('TrainingInfoProto', 'training_info', true),
    25: msg('FunctionProto', 'functions', true),
    26: str, // configuration (DeviceConfigurationProto, repeated)
  },
  GraphProto: {
    1: msg('NodeProto', 'node', true),
    2: str, // name
    5: msg('TensorProto', 'initializer', true),
    10: str, // doc_string
    11: str, // input (ValueInfoProto)
    12: str, // output
    13: str, // value_info
    14: str, // quantization_annotation
    15: msg('SparseTensorProto', 'sparse_initializer', true),
    16: str, // metadata_props
  },
  NodeProto: {
    1: str, // input
    2: str, // output
    3: str, // name
    4: str, // op_type
    5: msg('AttributeProto', 'attribute', true),
    6: str, // doc_string
    7: str, // domain
    8: str, // overload
    9: str, // metadata_props
    10: str, // device_configurations
  },
  AttributeProto: {
    1: str, // name
    2: f32, // f
    3: int, // i
    4: str, // s
    5: msg('TensorProto', 't'),
    6: msg('GraphProto', 'g'),
    7: f32s, // floats
    8: ints, // ints
    9: str, // strings
    10: msg('TensorProto', 'tensors', true),
    11: msg('GraphProto', 'graphs', true),
    13: str, // doc_string
    14: str, // tp (TypeProto)
    15: str, // type_protos
    20: int, // type
    21: str, // ref_attr_name
    22: msg('SparseTensorProto', 'sparse_tensor'),
    23: msg('SparseTensorProto', 'sparse_tensors', true),
  },
  FunctionProto: {
    1: str, // name
    4: str, // input
    5: str, // output
    6: str, // attribute
    7: msg('NodeProto', 'node', true),
    8: str, // doc_string
    9: str, // opset_import
    10: str, // domain
    11: msg('AttributeProto', 'attribute_proto', true),
    12: str, // value_info
    13: str, // overload
    14: str, // metadata_props
  },
  TensorProto: {
    1: ints, // dims
    2: int, // data_type
    3: str, // segment
    4: f32s, // float_data
    5: ints, // int32_data
    6: str, // string_data
    7: ints, // int64_data
    8: str, // name
    9: str, // raw_data
    10: f64s, // double_data
    11: ints, // uint64_data
    12: str, // doc_string
    13: str, // external_data: refused wherever it appears (below)
    14: int, // data_location: refused unless DEFAULT (0)
    16: str, // metadata_props
  },
  SparseTensorProto: {
    1: msg('TensorProto', 'values'),
    2: msg('TensorProto', 'indices'),
    3: ints, // dims
  },
  TrainingInfoProto: {
    1: msg('GraphProto', 'initialization'),
    2: msg('GraphProto', 'algorithm'),
    3: str, // initialization_binding
    4: str, // update_binding
  },
};

/**
 * Why a file was refused: what was found and where (a path of field names and indices). `format`:
 * the bytes are not well-formed ONNX protobuf at all; otherwise a readable model with a part that
 * must not reach onnxruntime.
 */
class Refusal extends Error {
  constructor(
    message: string,
    readonly format = true,
  ) {
    super(message);
  }
}

/** A cursor over protobuf bytes; every read that would pass `end` is a Refusal. */
class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}

  /** A varint of up to 10 bytes, as a Number (exact below 2^53; larger values only need to be nonzero). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Refusal('the file ends inside a number');
      const b = this.bytes[this.pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new Refusal('a number is longer than 10 bytes');
  }

  skip(n: number): void {
    if (n > this.end - this.pos) throw new Refusal('a field runs past the end of its message');
    this.pos += n;
  }
}

const WIRE_NAMES = ['varint', '64-bit', 'length-delimited', 'group start', 'group end', '32-bit', '6', '7'];

/** Walks one message of type `type` between `r.pos` and `r.end`, refusing what the module doc lists. */
function walk(r: Reader, type: MessageName, path: string, depth: number): Map<number, number> {
  if (depth > MAX_DEPTH) throw new Refusal(`${path}: messages nested deeper than ${MAX_DEPTH}`);
  const schema = SCHEMA[type];
  const seen = new Map<number, number>();
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new Refusal(`${path}: field number 0 is not valid protobuf`);
    const spec = schema[field];
    const where = `${path}, field ${field}`;
    if (!spec) throw new Refusal(`${where}: ${type} has no such field in the ONNX schema`);
    const expected = 'msg' in spec ? [LEN] : spec.wire;
    if (!expected.includes(wire))
      throw new Refusal(
        `${where}: written as ${WIRE_NAMES[wire]}, which the ONNX schema does not allow for this field`,
      );
    const count = (seen.get(field) ?? 0) + 1;
    seen.set(field, count);
    if (type === 'TensorProto' && field === 13)
      throw new Refusal(`${path}: a tensor stores its data outside the file (external_data)`, false);
    if (wire === VARINT) {
      const value = r.varint();
      if (type === 'TensorProto' && field === 14 && value !== 0)
        throw new Refusal(
          `${path}: a tensor stores its data outside the file (data_location ${value})`,
          false,
        );
    } else if (wire === I64) r.skip(8);
    else if (wire === I32) r.skip(4);
    else {
      const length = r.varint();
      if (length > r.end - r.pos) throw new Refusal(`${where}: its length runs past the end of its message`);
      const end = r.pos + length;
      if ('msg' in spec) {
        const inner = `${path}.${spec.name}${spec.repeated ? `[${count - 1}]` : ''}`;
        if (!spec.repeated && count > 1)
          throw new Refusal(
            `${inner}: written ${count} times, where ONNX has one (onnxruntime would merge the copies)`,
            false,
          );
        walk(new Reader(r.bytes, r.pos, end), spec.msg, inner, depth + 1);
      }
      r.pos = end;
    }
  }
  return seen;
}

/**
 * Why onnxruntime must not be handed this file, or null when it is a self-contained ONNX model
 * that this check and C++ protobuf read alike (the rules are in the module doc).
 * @param bytes the whole file
 * @returns a clause naming what was found and where, e.g. "model.graph.initializer[12]: a tensor
 *   stores its data outside the file (external_data)" or "it is not a well-formed ONNX file (model,
 *   field 14: written as group end, …)"; null when the file passes
 */
export function modelFileProblem(bytes: Uint8Array): string | null {
  if (bytes.length >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === 'ORTM')
    return 'it is in onnxruntime\'s own ".ort" format, not ONNX';
  try {
    const fields = walk(new Reader(bytes, 0, bytes.length), 'ModelProto', 'model', 0);
    return fields.has(7) ? null : 'it is not an ONNX model (it holds no graph)';
  } catch (e) {
    if (e instanceof Refusal)
      return e.format ? `it is not a well-formed ONNX file (${e.message})` : e.message;
    throw e;
  }
}
