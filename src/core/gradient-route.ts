/**
 * `POST /<model>/gradient`, the service's white-box extension (on with `npm run serve -- --gradients`):
 * the body of /score plus `label` (0–9), optional `loss` ("ce", "margin", "dlr"), `target` (with
 * "dlr": the targeted DLR loss), `seed` and `eot` (draws of a randomized defense). The answer is
 * `{"data": {"loss", "logits", "gradient"}}` (a list for a batch): the gradient of the loss with
 * respect to the 28×28 model input in [0,1], row-major, after the API's image conversion.
 */

import { z } from 'zod';
import { MAX_EOT, modelGradient } from '../gradients/eot';
import type { LossSpec } from '../gradients/losses';
import type { ApiResponse } from './api';
import {
  type GradientEngine,
  ModelUnavailableError,
  RunAbortedError,
  WhiteBoxUnavailableError,
} from './engine';
import { toModelInput } from './image';
import type { ModelInfo } from './models';
import { freshSeed as cryptoSeed, deriveSeed } from './prng';
import { formatIssues, type ParsedBody } from './request';

/**
 * Losses the route takes; "dlr" with a "target" is the targeted DLR loss, and "logit_diff" (which
 * needs a "target") is z_target − z_label, the boundary FAB linearises.
 */
export const ROUTE_LOSSES = ['ce', 'margin', 'dlr', 'logit_diff'] as const;
/** Most gradient evaluations (images × draws) one request may ask for. */
export const MAX_GRADIENT_EVALUATIONS = 1024;

const REQUIREMENT: Record<string, string> = {
  label: 'the true class, an integer from 0 to 9',
  loss: `one of ${ROUTE_LOSSES.map((l) => `"${l}"`).join(', ')}`,
  target:
    'the target class of the targeted DLR loss or of logit_diff, an integer from 0 to 9 other than label',
  eot: `the number of draws averaged for a randomized defense, an integer from 1 to ${MAX_EOT}`,
};

const fieldsSchema = z.object({
  label: z.number().int().min(0).max(9),
  loss: z.enum(ROUTE_LOSSES).optional(),
  target: z.number().int().min(0).max(9).optional(),
  eot: z.number().int().min(1).max(MAX_EOT).optional(),
});

export type GradientFields = { spec: LossSpec; eot: number };

/** A request item's gradient fields, or the 400 message naming what is wrong. */
export function gradientFields(
  raw: Record<string, unknown>,
): { ok: true; value: GradientFields } | { ok: false; error: string } {
  const r = fieldsSchema.safeParse(raw);
  if (!r.success) return { ok: false, error: formatIssues(r.error.issues, raw, REQUIREMENT) };
  const { label, loss = 'ce', target, eot = 1 } = r.data;
  if (loss === 'logit_diff' && target === undefined)
    return {
      ok: false,
      error: 'the "logit_diff" loss needs a field "target", the class whose logit it raises',
    };
  if (target !== undefined) {
    if (loss !== 'dlr' && loss !== 'logit_diff')
      return {
        ok: false,
        error: `field "target" is used by the targeted DLR loss and by "logit_diff" only; send "loss": "dlr" or "logit_diff" with it (got "loss": "${loss}")`,
      };
    if (target === label)
      return { ok: false, error: `field "target" must differ from "label" (both are ${label})` };
    const spec: LossSpec = { loss: loss === 'dlr' ? 'dlr_targeted' : 'logit_diff', label, target };
    return { ok: true, value: { spec, eot } };
  }
  return { ok: true, value: { spec: { loss, label }, eot } };
}

function json(status: number, body: unknown, headers: Record<string, string>): ApiResponse {
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body };
}

export interface GradientRouteOptions {
  freshSeed?: () => number;
  now?: () => number;
}

/** Answers a parsed /gradient request (the body parsed with its raw items kept). */
export async function answerGradient(
  engine: GradientEngine,
  model: ModelInfo,
  body: ParsedBody,
  headers: Record<string, string>,
  opts: GradientRouteOptions = {},
): Promise<ApiResponse> {
  const { items, batch } = body;
  const raw = body.raw ?? [];
  const fields: GradientFields[] = [];
  for (let i = 0; i < items.length; i++) {
    const f = gradientFields(raw[i] ?? {});
    if (!f.ok) return json(400, { error: batch ? `batch[${i}]: ${f.error}` : f.error }, headers);
    fields.push(f.value);
  }
  const randomized = model.preprocessor !== null;
  const draws = fields.reduce((s, f) => s + (randomized ? f.eot : 1), 0);
  if (draws > MAX_GRADIENT_EVALUATIONS) {
    return json(
      400,
      {
        error: `the request asks for ${draws} gradient evaluations (images × eot draws); the limit is ${MAX_GRADIENT_EVALUATIONS} per request`,
      },
      headers,
    );
  }
  const base = (batch ? body.seed : items[0].seed) ?? (opts.freshSeed ?? cryptoSeed)();
  const seeds = items.map((it, i) => it.seed ?? deriveSeed(base, i));
  const inputs = items.map((it) => toModelInput(it.pixels, it.width, it.height, it.channel));
  const now = opts.now ?? (() => globalThis.performance.now());
  const t0 = now();
  const answers: { loss: number; logits: number[]; gradient: number[] }[] = [];
  let evaluations = 0;
  try {
    // images with the same eot share one engine call
    const groups = new Map<number, number[]>();
    for (const [i, f] of fields.entries()) groups.set(f.eot, [...(groups.get(f.eot) ?? []), i]);
    for (const [eot, idx] of groups) {
      const out = await modelGradient(
        engine,
        model,
        idx.map((i) => inputs[i]),
        idx.map((i) => fields[i].spec),
        idx.map((i) => seeds[i]),
        eot,
      );
      evaluations += out.evaluations;
      out.items.forEach((g, k) => {
        answers[idx[k]] = { loss: g.loss, logits: Array.from(g.logits), gradient: Array.from(g.gradient) };
      });
    }
  } catch (e) {
    if (e instanceof WhiteBoxUnavailableError) {
      return json(
        422,
        {
          error: `model "${model.id}" cannot be differentiated: ${e.reason}. Its /decision and /score routes work as usual.`,
        },
        headers,
      );
    }
    if (e instanceof ModelUnavailableError)
      return json(503, { error: `model "${model.id}" is unavailable: ${e.message}` }, headers);
    if (e instanceof RunAbortedError)
      return json(503, { error: `model "${model.id}": ${e.message}` }, { ...headers, 'Retry-After': '1' });
    throw e;
  }
  if (answers.some((a) => !Number.isFinite(a.loss) || a.gradient.some((v) => !Number.isFinite(v)))) {
    return json(500, { error: `model "${model.id}" produced a non-finite loss or gradient` }, headers);
  }
  const out: Record<string, string> = {
    ...headers,
    'X-Inference-Ms': (now() - t0).toFixed(2),
    'X-Gradient-Evaluations': String(evaluations),
  };
  if (randomized) out['X-Seed'] = String(base);
  return json(200, { data: batch ? answers : answers[0] }, out);
}
