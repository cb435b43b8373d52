/**
 * The white-box oracle of an in-process engine (the runner, tools, tests, the page's worker): the
 * gradient through the model's defense with EOT, and classifications as /decision makes them.
 * Every call draws its seeds from one stream, so a run replays from its seed.
 */

import { toBytes } from '../attacks/vec';
import type { WhiteBoxOracle } from '../attacks/whitebox';
import { modelRoute, parseGradientAnswer, parseScoreAnswer } from '../core/api';
import { encodeBase64 } from '../core/base64';
import type { GradientEngine } from '../core/engine';
import { Rng } from '../core/prng';
import { classifyInputs } from '../core/router';
import { type GradientTarget, modelGradient } from './eot';

/**
 * @param eot draws per image and step against a randomized defense (ignored otherwise)
 * @param seed the stream the draws' seeds come from
 */
export function engineWhiteBoxOracle(
  engine: GradientEngine,
  target: GradientTarget,
  eot: number,
  seed: number,
): WhiteBoxOracle {
  const rng = new Rng(seed);
  const seeds = (n: number) => Array.from({ length: n }, () => rng.nextUint32() >>> 1);
  return {
    randomized: target.preprocessor !== null,
    gradient: (xs, specs) => modelGradient(engine, target, xs, specs, seeds(xs.length), eot),
    async decide(xs) {
      const r = await classifyInputs(engine, target, xs, seeds(1)[0]);
      return r.preds;
    },
  };
}

/** POST to the contract: a router in process, or a service over HTTP. */
export type PostApi = (path: string, body: string) => Promise<{ status: number; json: unknown }>;

/**
 * The white-box oracle of a service with the gradient extension (`npm run serve -- --gradients`,
 * or a router created with `gradients: true`): `/gradient` batches, and `/score` batches for the classifications. Images travel
 * as 8-bit bytes, so the gradient is taken at the rounded iterate (straight-through rounding).
 * @param randomized the model has a randomized defense (GET / says so): `eot` draws then count
 */
export function apiWhiteBoxOracle(
  post: PostApi,
  modelId: string,
  randomized: boolean,
  eot: number,
  seed: number,
): WhiteBoxOracle {
  const rng = new Rng(seed);
  const image = (x: Float32Array) => ({ image: encodeBase64(toBytes(x)), image_size: [28, 28], channel: 1 });
  return {
    randomized,
    async gradient(xs, specs) {
      const batch = xs.map((x, i) => {
        const s = specs[i];
        const loss =
          s.loss === 'dlr_targeted'
            ? { loss: 'dlr', target: s.target }
            : s.loss === 'logit_diff'
              ? { loss: 'logit_diff', target: s.target }
              : { loss: s.loss };
        return { ...image(x), label: s.label, ...loss, ...(randomized && eot > 1 ? { eot } : {}) };
      });
      const res = await post(
        modelRoute(modelId, 'gradient'),
        JSON.stringify({ batch, seed: rng.nextUint32() >>> 1 }),
      );
      const items = parseGradientAnswer(res.status, res.json, xs.length);
      return {
        items: items.map((a) => ({
          loss: a.loss,
          logits: Float32Array.from(a.logits),
          gradient: Float32Array.from(a.gradient),
        })),
        evaluations: xs.length * (randomized ? eot : 1),
      };
    },
    async decide(xs) {
      const res = await post(
        modelRoute(modelId, 'score'),
        JSON.stringify({ batch: xs.map(image), seed: rng.nextUint32() >>> 1 }),
      );
      return parseScoreAnswer(res.status, res.json, xs.length, true).map((p) => p.indexOf(Math.max(...p)));
    },
  };
}
