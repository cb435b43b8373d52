/**
 * One inference worker of the service (server/inference-pool.ts): a child process, started by
 * tinypool, that owns onnxruntime-node sessions. It reads its set-up (models folder, threads,
 * accepted uploads) from the folder named by PLAYGROUND_WORKER_SETUP, starts loading every weight
 * set at once, and answers one task at a time.
 *
 * Errors travel as values, not exceptions (a process boundary keeps only an error's message), so
 * the pool can tell a model that cannot load (503) from a run that failed on its input (500).
 * Memory is watched from outside (the pool's watchdog), since a run blocks this process's thread.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelUnavailableError, WhiteBoxUnavailableError } from '../src/core/engine';
import { isError, ModelRefusedError } from '../src/core/errors';
import type { WorkerResult, WorkerSetup, WorkerTask } from './inference-pool';
import { createNodeEngine } from './node-engine';

const dir = process.env.PLAYGROUND_WORKER_SETUP;
if (!dir) throw new Error('inference-worker: PLAYGROUND_WORKER_SETUP is not set (start it through the pool)');
const setup = JSON.parse(readFileSync(join(dir, 'setup.json'), 'utf8')) as WorkerSetup;
const engine = createNodeEngine({ modelsDir: setup.modelsDir, verify: setup.verify, threads: setup.threads });
for (const c of setup.customs) engine.adoptCustom(c.entry, new Uint8Array(readFileSync(join(dir, c.file))));
for (const w of setup.preload) engine.load(w).catch(() => {}); // its state is asked for by a 'load' task

/** Process-wide resident memory now, in bytes. */
const rss = () => process.memoryUsage.rss();

/** The pool's entry point: one task in, one result out (never throws). */
export default async function run(task: WorkerTask): Promise<WorkerResult> {
  let result: WorkerResult;
  try {
    result = await perform(task);
  } catch (e) {
    const kind = isError(e, ModelRefusedError)
      ? 'refused'
      : e instanceof ModelUnavailableError
        ? 'unavailable'
        : e instanceof WhiteBoxUnavailableError
          ? 'whitebox'
          : 'failed';
    result = { ok: false, kind, message: e instanceof Error ? e.message : String(e), rss: rss() };
    if (e instanceof WhiteBoxUnavailableError) {
      result.reason = e.reason;
      result.ops = [...e.ops];
    }
  }
  return result;
}

async function perform(task: WorkerTask): Promise<WorkerResult> {
  switch (task.op) {
    case 'infer': {
      const logits = await engine.infer(task.weights, task.inputs, task.n);
      return { ok: true, logits, rss: rss() };
    }
    case 'gradient': {
      const gradient = await engine.gradient(task.weights, task.inputs, task.n, task.specs);
      return { ok: true, gradient, rss: rss() };
    }
    case 'load':
      await engine.load(task.weights);
      return { ok: true, state: engine.state(task.weights), rss: rss() };
    case 'check': {
      const entry = await engine.addCustom(task.id, task.fileName, task.bytes, task.outputs);
      return { ok: true, entry, rss: rss() };
    }
  }
}
