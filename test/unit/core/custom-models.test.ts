/**
 * "Bring your own model": the ID rules and the metadata checks of
 * src/core/custom-models.ts, then the same checks on real files in onnxruntime-node (the fixtures of
 * test/fixtures/custom-models/, made by make-custom-models.py) and the router serving the result.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createNodeEngine, uploadSessionOptions } from '../../../server/node-engine';
import { storageErrorMessage } from '../../../src/app/custom-model-storage';
import { encodeBase64 } from '../../../src/core/base64';
import {
  checkTestRun,
  customIdOf,
  customModelId,
  customModelInfos,
  isCustomId,
  probabilitiesToLogits,
  slugFromFileName,
  type TensorMeta,
  validateCustomModel,
} from '../../../src/core/custom-models';
import { CLASS_NAMES_DE } from '../../../src/core/labels';
import { softmaxRows } from '../../../src/core/math';
import { createRouter, parseModelPath } from '../../../src/core/router';
import { imageAt } from '../../../src/data/idx';
import { loadTestSetNode } from '../../../tools/lib/test-set-node';

const HOSTILE = join(process.cwd(), 'test', 'fixtures', 'hostile');
const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'custom-models');
const fixture = (name: string) => new Uint8Array(readFileSync(join(FIXTURES, name)));

const tensor = (name: string, shape: (number | string)[], type = 'float32'): TensorMeta => ({
  name,
  isTensor: true,
  type,
  shape,
});

describe('IDs from file names', () => {
  it.each([
    ['student-mlp.onnx', 'student-mlp'],
    ['Student MLP (v2).onnx', 'student-mlp-v2'],
    ['student_mlp.onnx', 'student-mlp'],
    ['models/sub/ResNet.ONNX', 'resnet'],
    ['C:\\work\\net.onnx', 'net'],
    ['Modèle-été.onnx', 'modele-ete'],
    ['---.onnx', 'model'],
    ['.onnx', 'onnx'],
    ['noext', 'noext'],
    [`${'a'.repeat(80)}.onnx`, 'a'.repeat(48)],
  ])('%s → %s', (name, id) => {
    expect(slugFromFileName(name)).toBe(id);
    expect(isCustomId(slugFromFileName(name))).toBe(true);
  });

  it('a clash gets the first free suffix', () => {
    expect(customModelId('student-mlp.onnx', [])).toBe('student-mlp');
    expect(customModelId('student-mlp.onnx', ['student-mlp'])).toBe('student-mlp-2');
    expect(customModelId('Student_MLP.onnx', ['student-mlp', 'student-mlp-2'])).toBe('student-mlp-3');
    expect(customModelId('student-mlp.onnx', ['student-mlp', 'student-mlp-3'])).toBe('student-mlp-2');
  });

  it('IDs are URL-safe and cannot leave their route', () => {
    for (const bad of ['', 'a/b', '..', 'a_b', 'A', 'a b', '-a', 'a-', 'a--b'])
      expect(isCustomId(bad)).toBe(false);
    expect(encodeURIComponent(slugFromFileName('ä/ö?#%&=.onnx'))).toBe(slugFromFileName('ä/ö?#%&=.onnx'));
  });

  it('routes and IDs: /custom/<id>/… and the defended variants', () => {
    expect(parseModelPath('/custom/student-mlp/score')).toEqual({
      kind: 'model',
      modelId: 'custom/student-mlp',
      action: 'score',
    });
    expect(parseModelPath('/custom/student-mlp/3/decision')).toEqual({
      kind: 'model',
      modelId: 'custom/student-mlp/3',
      action: 'decision',
    });
    expect(parseModelPath('/custom/a/b/c/score')).toBeNull();
    expect(customIdOf('custom/student-mlp')).toBe('student-mlp');
    expect(customIdOf('custom/student-mlp/blur')).toBe('student-mlp');
    expect(customIdOf('0_3')).toBeNull();
    expect(customIdOf('custom/')).toBeNull();
  });
});

describe('metadata checks', () => {
  const ok = (inputs: TensorMeta[], outputs: TensorMeta[]) => validateCustomModel('m.onnx', inputs, outputs);

  it('accepts [N,1,28,28] → [N,10] with any names, dynamic or fixed-1 batch', () => {
    const dyn = ok([tensor('pixels', ['batch', 1, 28, 28])], [tensor('class_scores', ['batch', 10])]);
    expect(dyn).toEqual({
      ok: true,
      value: {
        inputName: 'pixels',
        outputName: 'class_scores',
        inputShape: ['batch', 1, 28, 28],
        outputShape: ['batch', 10],
        batch: 'dynamic',
        outputs: 'logits',
      },
    });
    const one = ok([tensor('x', [1, 1, 28, 28])], [tensor('y', [1, 10])]);
    expect(one.ok && one.value.batch).toBe(1);
    // unknown shapes are left to the test run
    expect(ok([tensor('x', [])], [tensor('y', [])]).ok).toBe(true);
    expect(ok([tensor('x', [-1, 1, 28, 28])], [tensor('y', ['n', 10])]).ok).toBe(true);
  });

  it.each<[string, TensorMeta[], TensorMeta[], RegExp[]]>([
    [
      'five classes',
      [tensor('x', ['batch', 1, 28, 28])],
      [tensor('y', ['batch', 5])],
      [
        /"y" has shape \[batch,5\], not \[N,10\] \(5 classes, not 10\)/,
        /Found 1 input: "x" float32 \[batch,1,28,28\]; 1 output: "y" float32 \[batch,5\]/,
      ],
    ],
    [
      'RGB input',
      [tensor('img', ['n', 3, 28, 28])],
      [tensor('y', ['n', 10])],
      [/"img" has shape \[n,3,28,28\]/],
    ],
    ['flat input', [tensor('img', ['n', 784])], [tensor('y', ['n', 10])], [/\[n,784\], not \[N,1,28,28\]/]],
    [
      'uint8 input',
      [tensor('img', ['n', 1, 28, 28], 'uint8')],
      [tensor('y', ['n', 10])],
      [/"img" is uint8, not float32/],
    ],
    ['fixed batch 8', [tensor('img', [8, 1, 28, 28])], [tensor('y', [8, 10])], [/fixes the batch size at 8/]],
    [
      'two inputs',
      [tensor('a', ['n', 1, 28, 28]), tensor('b', ['n', 1])],
      [tensor('y', ['n', 10])],
      [/2 inputs, not exactly one/, /Found 2 inputs: "a" float32 \[n,1,28,28\], "b" float32 \[n,1\]/],
    ],
    [
      'two outputs',
      [tensor('x', ['n', 1, 28, 28])],
      [tensor('logits', ['n', 10]), tensor('feat', ['n', 128])],
      [/2 outputs, not exactly one/, /"feat" float32 \[n,128\]/],
    ],
    ['no outputs', [tensor('x', ['n', 1, 28, 28])], [], [/0 outputs/, /no outputs\./]],
    [
      'a sequence output',
      [tensor('x', ['n', 1, 28, 28])],
      [{ name: 'seq', isTensor: false }],
      [/output "seq" is not a tensor/],
    ],
    [
      'int64 output',
      [tensor('x', ['n', 1, 28, 28])],
      [tensor('label', ['n'], 'int64')],
      [/"label" is int64/, /\[n\], not \[N,10\]/],
    ],
  ])('refuses %s, naming the file and what was found', (_what, inputs, outputs, patterns) => {
    const r = validateCustomModel('student.onnx', inputs, outputs);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatch(/^"student\.onnx" was refused: /);
    expect(r.error).toMatch(/Expected one float32 input \[N,1,28,28\]/);
    for (const p of patterns) expect(r.error).toMatch(p);
  });
});

describe('test-run checks', () => {
  const spec = (outputs: 'logits' | 'probabilities') => {
    const r = validateCustomModel(
      'm.onnx',
      [tensor('x', ['n', 1, 28, 28])],
      [tensor('y', ['n', 10])],
      outputs,
    );
    if (!r.ok) throw new Error(r.error);
    return r.value;
  };
  it('needs N×10 finite values', () => {
    expect(checkTestRun('m.onnx', spec('logits'), new Float32Array(20).fill(3), [2, 10], 2)).toBeNull();
    expect(checkTestRun('m.onnx', spec('logits'), new Float32Array(10), [1, 10], 2)).toMatch(
      /"m\.onnx" was refused: its first test run on 2 images \[2,1,28,28\] returned output "y" of shape \[1,10\] \(10 values\), not \[2,10\]/,
    );
    const nan = new Float32Array(10);
    nan[3] = Number.NaN;
    expect(checkTestRun('m.onnx', spec('logits'), nan, [1, 10], 1)).toMatch(
      /non-finite value \(NaN\) at index 3/,
    );
  });
  it('"already probabilities" needs rows in [0,1] summing to 1', () => {
    const p = new Float32Array(10).fill(0.1);
    expect(checkTestRun('m.onnx', spec('probabilities'), p, [1, 10], 1)).toBeNull();
    expect(
      checkTestRun(
        'm.onnx',
        spec('probabilities'),
        p.map((v) => v * 2),
        [1, 10],
        1,
      ),
    ).toMatch(/summing to 2\.0000/);
    expect(checkTestRun('m.onnx', spec('probabilities'), new Float32Array(10).fill(-1), [1, 10], 1)).toMatch(
      /not a probability/,
    );
  });
  it('probabilities become log-probabilities whose softmax gives them back', () => {
    const p = Float32Array.from([0.5, 0.25, 0.25, 0, 0, 0, 0, 0, 0, 0]);
    const back = softmaxRows(probabilitiesToLogits(Float32Array.from(p)), 1)[0];
    for (let i = 0; i < 10; i++) expect(back[i]).toBeCloseTo(p[i], 6);
  });
  it('a custom model is served as itself and three defended variants on one weight set', () => {
    const entry = { id: 'm', fileName: 'm.onnx', sha256: 'ab', bytes: 1, spec: spec('logits') };
    const infos = customModelInfos(entry);
    expect(infos.map((m) => m.id)).toEqual(['custom/m', 'custom/m/3', 'custom/m/4', 'custom/m/blur']);
    expect(new Set(infos.map((m) => m.weights))).toEqual(new Set(['custom/m']));
    expect(infos.map((m) => m.preprocessor?.kind ?? null)).toEqual([null, 'resize_pad', 'noise', 'blur']);
  });
});

describe('real files in onnxruntime-node', () => {
  it('accepts the tiny MLP with its own tensor names and serves the contract', async () => {
    const engine = createNodeEngine();
    const bytes = fixture('tiny-mlp.onnx');
    const entry = await engine.addCustom('tiny-mlp', 'tiny-mlp.onnx', bytes);
    expect(entry.spec).toMatchObject({ inputName: 'pixels', outputName: 'class_scores', batch: 'dynamic' });
    expect(entry.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(entry.bytes).toBe(bytes.byteLength);

    const router = createRouter(engine, { models: () => customModelInfos(entry) });
    const set = loadTestSetNode();
    const body = {
      batch: [0, 1, 2].map((i) => ({
        image: encodeBase64(imageAt(set, i)),
        image_size: [28, 28],
        channel: 1,
      })),
    };
    const score = await router.handle({
      method: 'POST',
      path: '/custom/tiny-mlp/score',
      body: JSON.stringify(body),
    });
    expect(score.status).toBe(200);
    // reference: the file run directly in onnxruntime-node, softmax here
    const session = await ort.InferenceSession.create(bytes);
    const x = new Float32Array(3 * 784);
    for (let i = 0; i < 3; i++)
      x.set(
        Float32Array.from(imageAt(set, i), (v) => v / 255),
        i * 784,
      );
    const out = await session.run({ pixels: new ort.Tensor('float32', x, [3, 1, 28, 28]) });
    const ref = softmaxRows(out.class_scores.data as Float32Array, 3);
    const data = (score.body as { data: number[][] }).data;
    for (let i = 0; i < 3; i++)
      for (let c = 0; c < 10; c++) expect(Math.abs(data[i][c] - ref[i][c])).toBeLessThan(1e-6);

    const decision = await router.handle({
      method: 'POST',
      path: '/custom/tiny-mlp/3/decision',
      body: JSON.stringify({ ...body.batch[0], seed: 5 }),
    });
    expect(decision.status).toBe(200);
    expect(CLASS_NAMES_DE).toContain((decision.body as { data: string }).data);
    expect(decision.headers['X-Seed']).toBe('5');
    const root = await router.handle({ method: 'GET', path: '/' });
    const listed = (
      root.body as { models: { id: string; custom?: { sha256: string; input: { name: string } } }[] }
    ).models;
    expect(listed.find((m) => m.id === 'custom/tiny-mlp')?.custom).toMatchObject({
      sha256: entry.sha256,
      input: { name: 'pixels' },
    });
    expect((await router.handle({ method: 'POST', path: '/custom/other/score', body: '{}' })).status).toBe(
      404,
    );
    expect(
      (await router.handle({ method: 'POST', path: '/custom/tiny-mlp/score', body: '{"image": 1}' })).status,
    ).toBe(400);
    await engine.release();
  });

  it('runs a fixed-batch-1 probability model one image at a time and passes its probabilities on', async () => {
    const engine = createNodeEngine();
    const bytes = fixture('linear-probs.onnx');
    const refused = await engine.addCustom('linear-probs', 'linear-probs.onnx', bytes, 'logits').then(
      () => null,
      (e: Error) => e.message,
    );
    // logits are accepted whatever their values: the same file is fine as "logits" too
    expect(refused).toBeNull();
    const entry = await engine.addCustom('linear-probs', 'linear-probs.onnx', bytes, 'probabilities');
    expect(entry.spec).toMatchObject({
      inputName: 'image',
      outputName: 'probs',
      batch: 1,
      outputs: 'probabilities',
    });
    const x = new Float32Array(3 * 784).map((_, i) => (i % 7) / 7);
    const logits = await engine.infer('custom/linear-probs', x, 3);
    const session = await ort.InferenceSession.create(bytes);
    const probs = softmaxRows(logits, 3);
    for (let i = 0; i < 3; i++) {
      const out = await session.run({
        image: new ort.Tensor('float32', x.slice(i * 784, (i + 1) * 784), [1, 1, 28, 28]),
      });
      const p = out.probs.data as Float32Array;
      for (let c = 0; c < 10; c++) expect(Math.abs(probs[i][c] - p[c])).toBeLessThan(1e-6);
    }
    await engine.release();
  });

  it.each([
    [
      'five-class.onnx',
      'logits',
      fixture('five-class.onnx'),
      /"five-class\.onnx" was refused: output "y" has shape \[batch,5\], not \[N,10\]/,
    ],
    [
      'notes.onnx',
      'logits',
      new TextEncoder().encode('these are my notes, not a model'),
      /"notes\.onnx" was refused: it is not a well-formed ONNX file \(model, field \d+: /,
    ],
    [
      'tiny-mlp.onnx',
      'probabilities',
      fixture('tiny-mlp.onnx'),
      /"tiny-mlp\.onnx" was refused: its first test run .*(not a probability|not 1)/,
    ],
  ] as const)('refuses %s read as %s, with a message naming it', async (name, outputs, bytes, pattern) => {
    const engine = createNodeEngine();
    const err = await engine.addCustom('m', name, bytes, outputs).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(pattern);
    expect(engine.loaded()).toEqual([]);
  });
});

describe('external data (a file-read hole in onnxruntime-node)', () => {
  it('refuses a model whose tensors live outside the file, before onnxruntime reads them', async () => {
    // an initializer pointing at a file in the working directory: onnxruntime-node would read it
    // relative to process.cwd() and the model could return its bytes through /score
    const { onnx } = onnxProto;
    const model = onnx.ModelProto.decode(fixture('tiny-mlp.onnx'));
    const init = model.graph!.initializer![0];
    init.rawData = new Uint8Array(0);
    init.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    init.externalData = [onnx.StringStringEntryProto.create({ key: 'location', value: 'package.json' })];
    const bytes = onnx.ModelProto.encode(model).finish();
    const engine = createNodeEngine();
    const err = await engine.addCustom('leak', 'leak.onnx', bytes).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      /^"leak\.onnx" was refused: model\.graph\.initializer\[0\]: a tensor stores its data outside the file \(external_data\)/,
    );
    expect(engine.loaded()).toEqual([]);
  });

  it.each(['exfil-dupgraph.onnx', 'exfil-wiretype.onnx'])(
    'refuses the handed parser-differential file %s before onnxruntime sees it',
    async (name) => {
      const engine = createNodeEngine();
      const err = await engine
        .addCustom('exfil', name, new Uint8Array(readFileSync(join(HOSTILE, name))))
        .then(
          () => null,
          (e: Error) => e,
        );
      expect(err?.name).toBe('ModelRefusedError');
      expect(err?.message).toMatch(
        new RegExp(
          `^"${name.replace('.', '\\.')}" was refused: (model|it is not a well-formed ONNX file \\(model)`,
        ),
      );
      expect(engine.loaded()).toEqual([]);
    },
  );

  it('second layer: onnxruntime-node resolves external data in an empty folder, not the working directory', async () => {
    // exfil-wiretype.onnx is exfil-direct.onnx behind 4 prepended bytes: an initializer of 3104
    // bytes at location "package.json", gathered by pixel 0 (see test/fixtures/hostile/make-models.py)
    const direct = new Uint8Array(readFileSync(join(HOSTILE, 'exfil-wiretype.onnx'))).subarray(4);
    const input = { x: new ort.Tensor('float32', new Float32Array(784), [1, 1, 28, 28]) };
    // without the option the hole is real: the first logits are package.json's first bytes / 16
    const open = await ort.InferenceSession.create(direct);
    const leaked = (await open.run(input)).y.data as Float32Array;
    expect(Array.from(leaked.slice(1, 3), (v) => String.fromCharCode(v * 16))).toEqual(['{', '\n']);
    await open.release();
    await expect(ort.InferenceSession.create(direct, uploadSessionOptions({}))).rejects.toThrow(
      /External data path does not exist: ".*playground-no-external-data-[^/]+\/package\.json"/,
    );
  });
});

describe('storage errors', () => {
  it('a full quota says so, with the file, its size and what to do', async () => {
    const quota = Object.assign(new Error('The quota has been exceeded.'), { name: 'QuotaExceededError' });
    const msg = await storageErrorMessage(quota, 'big.onnx', 80 * 2 ** 20);
    expect(msg).toMatch(/^The browser's storage is full/);
    expect(msg).toMatch(
      /"big\.onnx" \(80\.0 MiB\) works in this session but will not be there after a reload/,
    );
    expect(msg).toMatch(/Remove uploaded models you no longer need/);
  });
  it('any other failure names the cause', async () => {
    const msg = await storageErrorMessage(new Error('IndexedDB is blocked'), 'm.onnx', 10);
    expect(msg).toBe(
      '"m.onnx" could not be saved in this browser (IndexedDB is blocked): it works in this session but will not be there after a reload.',
    );
  });
});
