/**
 * The structural check of uploaded ONNX files (src/core/onnx-file-check.ts): the shipped models and
 * the fixtures pass; external data anywhere, the two parser differentials found against the
 * service (test/fixtures/hostile/exfil-*.onnx), and bytes that do not parse are refused; and no
 * input makes the check throw instead of answering.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { fileRefusal } from '../../../src/core/custom-models';
import { modelFileProblem } from '../../../src/core/onnx-file-check';

const { onnx } = onnxProto;
const MODELS = join(process.cwd(), 'public', 'models');
const CUSTOM = join(process.cwd(), 'test', 'fixtures', 'custom-models');
const HOSTILE = join(process.cwd(), 'test', 'fixtures', 'hostile');
const tinyMlp = () => new Uint8Array(readFileSync(join(CUSTOM, 'tiny-mlp.onnx')));

/** An external-data tensor as onnx's own `save_model(..., save_as_external_data=True)` writes it. */
function externalTensor(name: string, withEntries = true) {
  return onnx.TensorProto.create({
    name,
    dataType: onnx.TensorProto.DataType.UINT8,
    dims: [16],
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: withEntries
      ? [onnx.StringStringEntryProto.create({ key: 'location', value: 'package.json' })]
      : [],
  });
}

/** A Constant node whose value (an attribute tensor) is external data. */
const externalConstant = () =>
  onnx.NodeProto.create({
    opType: 'Constant',
    output: ['c'],
    attribute: [onnx.AttributeProto.create({ name: 'value', type: 4, t: externalTensor('c') })],
  });

/** tiny-mlp.onnx with `edit` applied to its decoded ModelProto, encoded again. */
function edited(edit: (m: onnxProto.onnx.ModelProto) => void): Uint8Array {
  const m = onnx.ModelProto.decode(tinyMlp());
  edit(m);
  return onnx.ModelProto.encode(m).finish();
}

/** A length-delimited protobuf field (field number < 16, payload < 2^21 bytes). */
function lenField(num: number, payload: Uint8Array): Uint8Array {
  const len: number[] = [];
  for (let v = payload.length; ; v >>>= 7) {
    if (v < 0x80) {
      len.push(v);
      break;
    }
    len.push((v & 0x7f) | 0x80);
  }
  return Uint8Array.from([(num << 3) | 2, ...len, ...payload]);
}

describe('modelFileProblem', () => {
  it('passes the shipped models and the custom-model fixtures', () => {
    const files = [
      ...readdirSync(MODELS).map((f) => join(MODELS, f)),
      ...readdirSync(CUSTOM).map((f) => join(CUSTOM, f)),
    ].filter((f) => f.endsWith('.onnx'));
    expect(files.length).toBeGreaterThanOrEqual(12);
    for (const f of files) expect([f, modelFileProblem(readFileSync(f))]).toEqual([f, null]);
  });

  it('refuses both handed exfiltration files, naming what it found', () => {
    const read = (f: string) => modelFileProblem(readFileSync(join(HOSTILE, f)));
    // the first of the two graph copies holds the external initializer
    expect(read('exfil-dupgraph.onnx')).toBe(
      'model.graph.initializer[0]: a tensor stores its data outside the file (external_data)',
    );
    // ir_version (a varint) written length-delimited: C++ skips it, protobufjs throws
    expect(read('exfil-wiretype.onnx')).toBe(
      'it is not a well-formed ONNX file (model, field 1: written as length-delimited, which the ONNX schema does not allow for this field)',
    );
  });

  it('refuses a graph written twice even when neither copy holds external data', () => {
    const bytes = tinyMlp();
    const m = onnx.ModelProto.decode(bytes);
    const graph = onnx.GraphProto.encode(m.graph!).finish();
    const twice = Uint8Array.from([...bytes, ...lenField(7, graph)]);
    expect(onnx.ModelProto.decode(twice).graph).toBeTruthy(); // protobufjs reads it happily: one graph
    expect(modelFileProblem(twice)).toBe(
      'model.graph: written 2 times, where ONNX has one (onnxruntime would merge the copies)',
    );
  });

  it.each([
    ['an initializer', (m: onnxProto.onnx.ModelProto) => m.graph!.initializer!.push(externalTensor('w'))],
    [
      'an initializer marked EXTERNAL without entries',
      (m: onnxProto.onnx.ModelProto) => m.graph!.initializer!.push(externalTensor('w', false)),
    ],
    [
      'a sparse initializer',
      (m: onnxProto.onnx.ModelProto) =>
        m.graph!.sparseInitializer!.push(
          onnx.SparseTensorProto.create({
            values: externalTensor('v'),
            indices: externalTensor('i'),
            dims: [16],
          }),
        ),
    ],
    ['a Constant node', (m: onnxProto.onnx.ModelProto) => m.graph!.node!.push(externalConstant())],
    [
      'a subgraph (If branch)',
      (m: onnxProto.onnx.ModelProto) =>
        m.graph!.node!.push(
          onnx.NodeProto.create({
            opType: 'If',
            input: ['cond'],
            output: ['o'],
            attribute: [
              onnx.AttributeProto.create({
                name: 'then_branch',
                type: 5,
                g: onnx.GraphProto.create({ name: 'then', initializer: [externalTensor('t')] }),
              }),
            ],
          }),
        ),
    ],
    [
      'a model-local function',
      (m: onnxProto.onnx.ModelProto) =>
        m.functions!.push(
          onnx.FunctionProto.create({
            name: 'f',
            domain: 'local',
            node: [externalConstant()],
          }),
        ),
    ],
    [
      'a training-info graph',
      (m: onnxProto.onnx.ModelProto) =>
        m.trainingInfo!.push(
          onnx.TrainingInfoProto.create({
            initialization: onnx.GraphProto.create({ initializer: [externalTensor('s')] }),
          }),
        ),
    ],
  ])('refuses external data in %s', (_where, edit) => {
    expect(modelFileProblem(edited(edit))).toMatch(
      /: a tensor stores its data outside the file \((external_data|data_location 1)\)$/,
    );
  });

  it.each([
    ['an empty file', new Uint8Array(0), 'it is not an ONNX model (it holds no graph)'],
    [
      'text',
      new TextEncoder().encode('hello, I am not a model'),
      /field .*(no such field|written as)|ends inside|past the end/,
    ],
    ['a truncated model', tinyMlp().subarray(0, 500), /runs past the end|ends inside a number/],
    [
      'an unknown ModelProto field',
      Uint8Array.from([...tinyMlp(), ...lenField(15, new Uint8Array(3))]),
      'it is not a well-formed ONNX file (model, field 15: ModelProto has no such field in the ONNX schema)',
    ],
    [
      'a group (wire type 3)',
      Uint8Array.from([(1 << 3) | 3, ...tinyMlp()]),
      /field 1: written as group start/,
    ],
    [
      'field number 0',
      Uint8Array.from([0x02, 0x00, ...tinyMlp()]),
      'it is not a well-formed ONNX file (model: field number 0 is not valid protobuf)',
    ],
    [
      'an .ort flatbuffer header',
      new TextEncoder().encode('\x14\x00\x00\x00ORTM\x00\x00'),
      'it is in onnxruntime\'s own ".ort" format, not ONNX',
    ],
  ])('refuses %s', (_what, bytes, expected) => {
    const problem = modelFileProblem(bytes);
    if (typeof expected === 'string') expect(problem).toBe(expected);
    else expect(problem).toMatch(expected);
  });

  it('refuses nesting deeper than C++ protobuf would parse', () => {
    let g = onnx.GraphProto.create({ name: 'leaf' });
    for (let i = 0; i < 60; i++) {
      g = onnx.GraphProto.create({
        node: [
          onnx.NodeProto.create({
            opType: 'If',
            attribute: [onnx.AttributeProto.create({ name: 'g', type: 5, g })],
          }),
        ],
      });
    }
    const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, graph: g })).finish();
    expect(modelFileProblem(bytes)).toMatch(/: messages nested deeper than 100\)$/);
  });

  it('answers every byte string with a sentence or null, never an exception', () => {
    const base = tinyMlp();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        (edits) => {
          const b = Uint8Array.from(base);
          for (const [at, v] of edits) b[at] = v;
          const p = modelFileProblem(b);
          expect(p === null || typeof p === 'string').toBe(true);
        },
      ),
      { numRuns: 400, seed: 7 },
    );
  });
});

describe('fileRefusal', () => {
  it('names the file, what was found and what an upload must be', () => {
    const err = fileRefusal('leak.onnx', readFileSync(join(HOSTILE, 'exfil-dupgraph.onnx')));
    expect(err?.name).toBe('ModelRefusedError');
    expect(err?.message).toBe(
      '"leak.onnx" was refused: model.graph.initializer[0]: a tensor stores its data outside the file (external_data). ' +
        'An uploaded model must be one self-contained ONNX file (no external data), so that it cannot read files where it is served.',
    );
    expect(fileRefusal('tiny-mlp.onnx', tinyMlp())).toBeNull();
  });
});
