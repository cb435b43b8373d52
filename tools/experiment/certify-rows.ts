/**
 * `certify` rows: randomized smoothing's CERTIFY (src/certify/smoothing.ts) per test image, its
 * draws sent as seeded `/score` items of the model's noise route through the backend (the page,
 * onnxruntime-node or a service), so the base classifier is exactly what the route answers. Every
 * image is certified, also those a single draw misclassifies: the smoothed classifier is the vote.
 */
import { scoreSampler } from '../../src/certify/samplers';
import { certify } from '../../src/certify/smoothing';
import { encodeBase64 } from '../../src/core/base64';
import { rowSeed } from './config';
import { Interrupted, message, round } from './rows';
import type { RowKind } from './runner';

/** Draws per /score request (the batch extension allows 4,096). */
const DRAWS_PER_REQUEST = 1000;

export const certifyRows: RowKind = async (sh, m, its, attack) => {
  const { base, configSeed, retrying, errorRow, imageKey, opts, stats, emit } = sh;
  const p = attack.params as { sigma: number; n0?: number; n?: number; alpha?: number };
  for (const it of its) {
    const t = performance.now();
    const seed = rowSeed(configSeed, m.model, attack.key, it.index);
    const c = m.clean.get(imageKey(it.set, it.index))!;
    try {
      if (c.error) throw new Error(c.error);
      const sample = scoreSampler(
        (items) => retrying(`certify on model ${m.model}`, () => opts.backend.score(m.model, items)),
        encodeBase64(c.bytes),
      );
      const cert = await certify(sample, p, seed, { batch: DRAWS_PER_REQUEST });
      stats.images += cert.queries;
      emit(
        [
          {
            ...base(it, seed, round(performance.now() - t)),
            clean_pred: c.pred,
            adv_pred: cert.prediction,
            success: null,
            queries: cert.queries,
            l2: null,
            linf: null,
            radius: round(cert.radius),
            p_a_lower: round(cert.pALower),
          },
        ],
        m.model,
        attack.key,
      );
    } catch (e) {
      if (e instanceof Interrupted) throw e;
      emit([errorRow(it, seed, performance.now() - t, message(e))], m.model, attack.key);
    }
  }
};
