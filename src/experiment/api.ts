/**
 * The experiment's requests: `/score` for 28×28 gray images with a per-item `seed`, in the batch
 * extension's form when there is more than one. Shared by the page API and the Node runner's
 * `--endpoint` mode so that both send byte-identical requests; built on the contract in core/api.
 */
import { batchRequestBody, modelRoute, requestBody } from '../core/api';

export interface ScoreItem {
  /** base64 of 784 gray bytes */
  image: string;
  /** makes a randomized defense's draw reproducible (ignored by deterministic models) */
  seed: number;
}

/** The canonical `/score` route of a model (core/api modelRoute). */
export function scoreRoute(model: string): string {
  return modelRoute(model, 'score');
}

export function scoreBody(items: readonly ScoreItem[], batch: boolean): string {
  const one = (it: ScoreItem) => requestBody(it.image, [28, 28], 1, it.seed);
  if (!batch) {
    if (items.length !== 1)
      throw new RangeError('a request without the batch extension carries exactly one image');
    return JSON.stringify(one(items[0]));
  }
  return JSON.stringify(batchRequestBody(items.map(one)));
}
