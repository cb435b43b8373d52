/**
 * onnxruntime-node sessions of gradient graphs (src/gradients/build.ts), one per weight set,
 * built on first use from the same bytes as the forward session. A model the reverse pass refuses
 * stays refused (the refusal is kept): its bytes cannot change under the same weight-set ID
 * without the ID being registered again, which drops the entry.
 */

import * as ort from 'onnxruntime-node';
import { WhiteBoxUnavailableError } from '../src/core/engine';
import { buildGradientModel, type GradientModel } from '../src/gradients/build';
import { GradientUnsupportedError } from '../src/gradients/onnx-graph';

export interface GradientSlot {
  session: ort.InferenceSession;
  model: Omit<GradientModel, 'bytes'>;
}

export interface GradientSessions {
  /**
   * The gradient session of a weight set, built and opened on first use.
   * @param bytes the model file (read only when the session does not exist yet)
   * @param batch 1 for a file that fixes its batch size at 1
   * @throws WhiteBoxUnavailableError when the reverse pass refuses the graph
   */
  get(
    weights: string,
    bytes: () => Promise<Uint8Array>,
    options: ort.InferenceSession.SessionOptions,
    batch: 1 | 'dynamic',
  ): Promise<GradientSlot>;
  /**
   * Frees one weight set's gradient session, or all, once `after` has settled (the runs queued on
   * the weight set's forward session, which gradient runs share).
   */
  release(weights?: string, after?: Promise<unknown>): Promise<void>;
}

export function createGradientSessions(): GradientSessions {
  const slots = new Map<string, Promise<GradientSlot>>();

  async function open(
    weights: string,
    bytes: () => Promise<Uint8Array>,
    options: ort.InferenceSession.SessionOptions,
    batch: 1 | 'dynamic',
  ): Promise<GradientSlot> {
    let built: GradientModel;
    try {
      built = buildGradientModel(await bytes(), { inputShape: [batch === 1 ? 1 : null, 1, 28, 28] });
    } catch (e) {
      if (e instanceof GradientUnsupportedError)
        throw new WhiteBoxUnavailableError(weights, e.message, e.ops);
      throw e;
    }
    const { bytes: graph, ...model } = built;
    // no spinning: an attack alternates this session with the forward one, and the threads of the
    // one spinning after its run slowed the other's by up to 1.7× on 2 cores (npm run bench:gradients)
    const extra = (options.extra ?? {}) as { session?: Record<string, string> };
    const own = {
      ...options,
      extra: { ...extra, session: { ...extra.session, 'intra_op.allow_spinning': '0' } },
    };
    try {
      return { session: await ort.InferenceSession.create(graph, own), model };
    } catch (e) {
      throw new WhiteBoxUnavailableError(
        weights,
        `onnxruntime could not open its gradient graph: ${(e as Error).message}`,
      );
    }
  }

  return {
    get(weights, bytes, options, batch) {
      let slot = slots.get(weights);
      if (!slot) {
        slot = open(weights, bytes, options, batch);
        slots.set(weights, slot);
        // a file that could not be read is tried again next time; a refusal by the reverse pass is kept
        slot.catch((e: unknown) => {
          if (!(e instanceof WhiteBoxUnavailableError) && slots.get(weights) === slot) slots.delete(weights);
        });
      }
      return slot;
    },
    async release(weights, after) {
      const names = weights === undefined ? [...slots.keys()] : [weights];
      await Promise.all(
        names.map(async (name) => {
          const slot = slots.get(name);
          // new requests build a new session at once; the old one is freed once its runs are done
          slots.delete(name);
          await after?.catch(() => {});
          try {
            await (await slot)?.session.release();
          } catch {
            // never opened
          }
        }),
      );
    },
  };
}
