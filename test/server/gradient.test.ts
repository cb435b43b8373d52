/**
 * `npm run serve -- --gradients`: POST /<model>/gradient over real HTTP. The answer matches the
 * gradient computed in this process (the same reverse pass on onnxruntime-node), the route is
 * absent without the flag, bad fields get JSON 400s that name them, a randomized model's EOT
 * gradient replays from its seed, and a model with an op that has no rule answers 422 while its
 * /score still works.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildService, type Service } from '../../server/app';
import { createNodeEngine } from '../../server/node-engine';
import { encodeBase64 } from '../../src/core/base64';
import { toModelInput } from '../../src/core/image';
import { MODELS } from '../../src/core/models';
import { imageAt } from '../../src/data/idx';
import { modelGradient } from '../../src/gradients/eot';
import { loadTestSetNode } from '../../tools/lib/test-set-node';
import { softplusModel } from '../helpers/onnx-models';

const testSet = loadTestSetNode();
const gray = (i: number, extra: Record<string, unknown> = {}) => ({
  image: encodeBase64(imageAt(testSet, i)),
  image_size: [28, 28],
  channel: 1,
  ...extra,
});

async function post(url: string, body: unknown) {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, any> };
}

describe('POST /<model>/gradient (npm run serve -- --gradients)', () => {
  let service: Service;
  let url: string;
  const engine = createNodeEngine({ threads: 1 });
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradient-test-'));
    writeFileSync(join(dir, 'softplus.onnx'), softplusModel());
    service = await buildService({
      logLevel: 'silent',
      threads: 1,
      workers: 1,
      gradients: true,
      models: ['0', '0_4', '5'],
      customModels: [join(dir, 'softplus.onnx')],
    });
    url = await service.app.listen({ host: '127.0.0.1', port: 0 });
    await service.loaded;
  }, 60_000);
  afterAll(async () => {
    await service.app.close();
    await engine.release();
  });

  it('answers the gradient computed in process, for every loss', async () => {
    for (const [loss, extra] of [
      ['ce', {}],
      ['margin', {}],
      ['dlr', {}],
      ['dlr', { target: 3 }],
    ] as const) {
      const res = await post(`${url}/5/gradient`, gray(0, { label: 9, loss, ...extra }));
      expect(res.status).toBe(200);
      const { data } = res.json;
      expect(data.logits).toHaveLength(10);
      expect(data.gradient).toHaveLength(784);
      const x = toModelInput(imageAt(testSet, 0), 28, 28, 1);
      const spec =
        'target' in extra ? { loss: 'dlr_targeted' as const, label: 9, target: 3 } : { loss, label: 9 };
      const want = await modelGradient(engine, { weights: '5', preprocessor: null }, [x], [spec], [0]);
      expect(data.loss).toBeCloseTo(want.items[0].loss, 5);
      const g = want.items[0].gradient;
      const scale = Math.max(...g.map(Math.abs));
      expect(scale).toBeGreaterThan(0);
      const worst = Math.max(...data.gradient.map((v: number, i: number) => Math.abs(v - g[i])));
      expect(worst).toBeLessThanOrEqual(1e-5 * scale);
      expect(res.headers.get('x-gradient-evaluations')).toBe('1');
    }
  });

  it('accepts RGB images of another size and answers on the converted 28×28 input; batch answers a list', async () => {
    const rgb = new Uint8Array(40 * 30 * 3).map((_, i) => (i * 7) % 256);
    const one = { image: encodeBase64(rgb), image_size: [40, 30], channel: 3, label: 2 };
    const res = await post(`${url}/0/gradient`, { batch: [one, gray(1, { label: 2, loss: 'margin' })] });
    expect(res.status).toBe(200);
    expect(res.json.data).toHaveLength(2);
    const x = toModelInput(rgb, 40, 30, 3);
    const want = await modelGradient(
      engine,
      { weights: '0', preprocessor: null },
      [x],
      [{ loss: 'ce', label: 2 }],
      [0],
    );
    expect(res.json.data[0].gradient).toHaveLength(784);
    expect(res.json.data[0].loss).toBeCloseTo(want.items[0].loss, 5);
  });

  it('averages EOT draws on a randomized model and replays them from the seed', async () => {
    const body = gray(3, { label: 1, eot: 8, seed: 1234 });
    const a = await post(`${url}/0/4/gradient`, body);
    const b = await post(`${url}/0/4/gradient`, body);
    expect(a.status).toBe(200);
    expect(a.headers.get('x-seed')).toBe('1234');
    expect(a.headers.get('x-gradient-evaluations')).toBe('8');
    expect(b.json.data.gradient).toEqual(a.json.data.gradient);
    const other = await post(`${url}/0/4/gradient`, gray(3, { label: 1, eot: 8, seed: 99 }));
    expect(other.json.data.gradient).not.toEqual(a.json.data.gradient);
  });

  it('names the field in a JSON 400 for a bad label, loss, target or eot', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /missing field "label"/],
      [{ label: 10 }, /field "label" must be the true class, an integer from 0 to 9, got 10/],
      [
        { label: 1, loss: 'hinge' },
        /field "loss" must be one of "ce", "margin", "dlr", "logit_diff", got "hinge"/,
      ],
      [{ label: 1, loss: 'logit_diff' }, /the "logit_diff" loss needs a field "target"/],
      [{ label: 1, target: 2 }, /field "target" is used by the targeted DLR loss and by "logit_diff" only/],
      [{ label: 1, loss: 'dlr', target: 1 }, /field "target" must differ from "label"/],
      [{ label: 1, eot: 0 }, /field "eot" must be/],
    ];
    for (const [extra, message] of cases) {
      const res = await post(`${url}/0/gradient`, gray(0, extra));
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(res.json.error).toMatch(message);
    }
    const batch = await post(`${url}/0/gradient`, { batch: [gray(0, { label: 1 }), gray(1, { label: -1 })] });
    expect(batch.status).toBe(400);
    expect(batch.json.error).toMatch(/^batch\[1\]: field "label"/);
    const many = await post(`${url}/0/4/gradient`, {
      batch: [gray(0, { label: 1, eot: 600 }), gray(1, { label: 1, eot: 600 })],
    });
    expect(many.status).toBe(400);
    expect(many.json.error).toMatch(/1200 gradient evaluations .* limit is 1024/);
  });

  it('answers 422 naming the op for a model without a gradient rule; its /score still works', async () => {
    const res = await post(`${url}/custom/softplus/gradient`, gray(0, { label: 1 }));
    expect(res.status).toBe(422);
    expect(res.json.error).toMatch(/no gradient rule for op Softplus/);
    expect((await post(`${url}/custom/softplus/score`, gray(0))).status).toBe(200);
  });

  it('GET / describes the extension', async () => {
    const root = (await (await fetch(`${url}/`)).json()) as Record<string, any>;
    expect(root.contract.extensions.gradient).toMatch(/POST \/<model>\/gradient/);
  });
});

describe('without --gradients', () => {
  it('answers 404 saying how to turn the route on', async () => {
    const service = await buildService({ logLevel: 'silent', threads: 1, workers: 0, models: ['0'] });
    const url = await service.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const res = await post(`${url}/0/gradient`, gray(0, { label: 1 }));
      expect(res.status).toBe(404);
      expect(res.json.error).toMatch(/npm run serve -- --gradients/);
      expect(MODELS.length).toBe(15);
    } finally {
      await service.app.close();
    }
  });
});
