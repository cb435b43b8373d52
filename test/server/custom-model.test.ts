/**
 * `npm run serve -- --model path/to/model.onnx` over real HTTP: the file's model is served
 * under /custom/<file stem>/… with the contract (softmax as onnxruntime-node on the file, German
 * decisions, batch, errors, defended variants with seeds), listed by GET / with sha256, size and
 * spec; a repeated file name gets a suffix; a refused file stops the start with its reason.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildService, type Service } from '../../server/app';
import { encodeBase64 } from '../../src/core/base64';
import { CLASS_NAMES_DE } from '../../src/core/labels';
import { softmaxRows } from '../../src/core/math';
import { imageAt } from '../../src/data/idx';
import { loadTestSetNode } from '../../tools/lib/test-set-node';

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'custom-models');
const MLP = join(FIXTURES, 'tiny-mlp.onnx');
const testSet = loadTestSetNode();
const gray = (i: number, extra: Record<string, unknown> = {}) => ({
  image: encodeBase64(imageAt(testSet, i)),
  image_size: [28, 28],
  channel: 1,
  ...extra,
});

async function post(url: string, body: unknown) {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

describe('npm run serve -- --model', () => {
  let service: Service;
  let url: string;
  beforeAll(async () => {
    service = await buildService({ logLevel: 'silent', threads: 1, models: ['0'], customModels: [MLP, MLP] });
    url = await service.app.listen({ host: '127.0.0.1', port: 0 });
    await service.loaded;
  });
  afterAll(() => service.app.close());

  it('GET / lists the file with sha256, size and spec; the same file name twice gets a suffix', async () => {
    const body = (await (await fetch(`${url}/`)).json()) as {
      models: { id: string; routes: { score: string }; custom?: Record<string, unknown> }[];
      ready: boolean;
    };
    const bytes = readFileSync(MLP);
    expect(body.models.map((m) => m.id)).toEqual([
      '0',
      'custom/tiny-mlp',
      'custom/tiny-mlp/3',
      'custom/tiny-mlp/4',
      'custom/tiny-mlp/blur',
      'custom/tiny-mlp-2',
      'custom/tiny-mlp-2/3',
      'custom/tiny-mlp-2/4',
      'custom/tiny-mlp-2/blur',
    ]);
    const mine = body.models[1];
    expect(mine.routes.score).toBe('/custom/tiny-mlp/score');
    expect(mine.custom).toMatchObject({
      file: 'tiny-mlp.onnx',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.byteLength,
      input: { name: 'pixels', dtype: 'float32', shape: ['batch', 1, 28, 28] },
      output: { name: 'class_scores', shape: ['batch', 10] },
      outputs: 'logits',
    });
    expect(body.ready).toBe(true);
  });

  it('/custom/<id>/score is the softmax of the file run in onnxruntime-node; decisions, batch, errors', async () => {
    const idx = [0, 1, 2, 3];
    const res = await post(`${url}/custom/tiny-mlp/score`, { batch: idx.map((i) => gray(i)) });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-model-id')).toBe('custom/tiny-mlp');
    const session = await ort.InferenceSession.create(MLP);
    const x = new Float32Array(idx.length * 784);
    for (const [k, i] of idx.entries())
      x.set(
        Float32Array.from(imageAt(testSet, i), (v) => v / 255),
        k * 784,
      );
    const out = await session.run({ pixels: new ort.Tensor('float32', x, [idx.length, 1, 28, 28]) });
    const ref = softmaxRows(out.class_scores.data as Float32Array, idx.length);
    const data = res.json.data as number[][];
    for (let k = 0; k < idx.length; k++)
      for (let c = 0; c < 10; c++) expect(Math.abs(data[k][c] - ref[k][c])).toBeLessThan(1e-5);
    await session.release();

    const decision = await post(`${url}/custom/tiny-mlp-2/decision`, gray(0));
    expect(decision.status).toBe(200);
    expect(decision.json.data).toBe(CLASS_NAMES_DE[ref[0].indexOf(Math.max(...ref[0]))]);
    const a = await post(`${url}/custom/tiny-mlp/4/score`, gray(0, { seed: 11 }));
    const b = await post(`${url}/custom/tiny-mlp/4/score`, gray(0, { seed: 11 }));
    expect(a.status).toBe(200);
    expect(a.headers.get('x-seed')).toBe('11');
    expect(a.json).toEqual(b.json);
    expect(
      (await post(`${url}/custom/tiny-mlp/score`, { image: 'x', image_size: [28, 28], channel: 1 })).status,
    ).toBe(400);
    expect((await post(`${url}/custom/nobody/score`, gray(0))).status).toBe(404);
    expect((await fetch(`${url}/custom/tiny-mlp/score`)).status).toBe(405);
  });

  it('a refused or missing file stops the CLI with the reason', () => {
    const run = (file: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'server/cli.ts', '--port', '0', '--model', file], {
        cwd: process.cwd(),
        encoding: 'utf8',
        timeout: 60_000,
      });
    const five = run(join(FIXTURES, 'five-class.onnx'));
    expect(five.status).toBe(2);
    expect(five.stderr).toMatch(
      /"five-class\.onnx" was refused: output "y" has shape \[batch,5\], not \[N,10\]/,
    );
    // the two parser differentials that read the server's package.json back through /score
    for (const name of ['exfil-dupgraph.onnx', 'exfil-wiretype.onnx']) {
      const exfil = run(join(process.cwd(), 'test', 'fixtures', 'hostile', name));
      expect(exfil.status).toBe(2);
      expect(exfil.stderr).toContain(`"${name}" was refused: `);
      expect(exfil.stderr).toMatch(/a tensor stores its data outside the file|not a well-formed ONNX file/);
    }
    const missing = run('no/such/model.onnx');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--model \/\S*no\/such\/model\.onnx: cannot read the file \(ENOENT\)/);
  });
});
