import { describe, expect, it } from 'vitest';
import { ApiError, errorBody, parseScoreAnswer } from '../../../src/core/api';
import { isError, ModelRefusedError, ownErrorKind, WorkerDiedError } from '../../../src/core/errors';
import { isTransient } from '../../../tools/experiment/backends';

/** What comlink hands the page for an error thrown in the worker: a plain Error with the name copied. */
const acrossWorker = (e: Error) => Object.assign(new Error(e.message), { name: e.name });

describe('typed errors (src/core/errors.ts)', () => {
  it('are recognised by kind, also after crossing the worker boundary', () => {
    expect(isError(new WorkerDiedError(), WorkerDiedError)).toBe(true);
    expect(isError(acrossWorker(new WorkerDiedError()), WorkerDiedError)).toBe(true);
    expect(isError(acrossWorker(new ModelRefusedError('x')), ModelRefusedError)).toBe(true);
  });

  it('never take a plain Error or another kind for theirs', () => {
    // the kind is matched by its literal name, never by the prototype's (which is "Error")
    expect(isError(new Error('onnxruntime failed'), WorkerDiedError)).toBe(false);
    expect(isError(new Error('quota exceeded'), ModelRefusedError)).toBe(false);
    expect(isError(new TypeError('t'), ModelRefusedError)).toBe(false);
    expect(isError(new ModelRefusedError('x'), WorkerDiedError)).toBe(false);
    expect(ownErrorKind(new Error('x'))).toBeUndefined();
    expect(ownErrorKind(acrossWorker(new WorkerDiedError()))).toBe('WorkerDiedError');
  });

  it('reach the experiment runner through a JSON 503 as error_type, and make it retry', () => {
    const died = errorBody(
      'the in-page inference worker could not answer',
      ownErrorKind(new WorkerDiedError()),
    );
    expect(died).toEqual({
      error: 'the in-page inference worker could not answer',
      error_type: 'WorkerDiedError',
    });
    const thrown = (body: unknown) => {
      try {
        parseScoreAnswer(503, body, 1, false);
      } catch (e) {
        return e;
      }
      throw new Error('parseScoreAnswer accepted a 503');
    };
    const e = thrown(died);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).errorType).toBe('WorkerDiedError');
    expect(isTransient(e)).toBe(true);
    // a model that cannot be loaded is a 503 too, but retrying does not help
    expect(isTransient(thrown({ error: "model weights '0' could not be loaded: missing" }))).toBe(false);
    expect(isTransient(new Error('unknown model'))).toBe(false);
    expect(isTransient(acrossWorker(new WorkerDiedError()))).toBe(true);
  });
});
