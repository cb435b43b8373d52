/**
 * `--model <file>`: the service's check of ONNX classifiers someone brought, before they are served.
 *
 * With an inference pool, each file is checked in a worker process of its own (a hostile file runs
 * nowhere near the service), with the checks the page gives every upload (src/core/custom-models.ts:
 * the file check, inputs and outputs, test runs on a blank and a mid-gray image) and one probe run
 * on a full-contrast image, which those test runs cannot replace: a model whose work or memory
 * grows with its input costs nothing on blank images.
 * - Memory: a probe that grows the worker's resident memory by more than `maxModelMemoryBytes`
 *   refuses the file. onnxruntime keeps a run's peak arena for good, in every worker that serves
 *   the model, so such a model would hold that memory N times over after one request.
 * - Time: a probe longer than the run limit only warns. The limit stops each such run anyway
 *   (503 for that request, the others keep answering), and a model may be slow on a probe image
 *   yet fine on the images it was made for.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  type CustomModelEntry,
  customModelId,
  customWeightsId,
  type OutputKind,
} from '../src/core/custom-models';
import { RunAbortedError } from '../src/core/engine';
import { MODEL_PIXELS, MODEL_SIDE } from '../src/core/image';
import { createInferencePool, type PoolOptions } from './inference-pool';
import type { NodeEngine } from './node-engine';

/** An accepted file: its entry, its bytes, and what the operator should know about it. */
export interface CheckedModel {
  entry: CustomModelEntry;
  bytes: Uint8Array;
  warning?: string;
}

/**
 * The probe image: a white 14×20 block (a light garment's size) on black, so that the image's
 * contrast is the full 255 gray levels, as most Fashion-MNIST images have.
 */
export function probeImage(): Float32Array {
  const x = new Float32Array(MODEL_PIXELS);
  for (let r = 4; r < 24; r++) for (let c = 7; c < 21; c++) x[r * MODEL_SIDE + c] = 1;
  return x;
}

async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new RangeError(`--model ${path}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
}

const MIB = 2 ** 20;

/**
 * Checks each file in a one-worker pool of its own (see the module doc) and returns the accepted
 * models in order; the IDs are the file stems, made unique.
 * @throws RangeError `--model <path>: <why>` for the first file refused or unreadable
 */
export async function checkModelFilesIsolated(
  paths: readonly string[],
  outputs: OutputKind,
  pool: Omit<PoolOptions, 'workers' | 'preload' | 'customs'>,
  maxModelMemoryBytes: number,
): Promise<CheckedModel[]> {
  if (paths.length === 0) return [];
  const checker = createInferencePool({ ...pool, workers: 1, memoryLimitBytes: Number.POSITIVE_INFINITY });
  const taken: string[] = [];
  const out: CheckedModel[] = [];
  try {
    for (const path of paths) {
      const bytes = await readModelFile(path);
      const id = customModelId(basename(path), taken);
      taken.push(id);
      let entry: CustomModelEntry;
      try {
        // opening and the test runs: generous, a large file takes a while to open
        entry = (await checker.task({ op: 'check', id, fileName: basename(path), bytes, outputs }, 120_000))
          .entry!;
      } catch (e) {
        throw new RangeError(`--model ${path}: ${(e as Error).message}`);
      }
      let warning: string | undefined;
      // the probe may grow this worker by maxModelMemoryBytes over what it holds now
      const baseline = (await checker.task({ op: 'load', weights: customWeightsId(id) })).rss;
      checker.setMemoryLimit(baseline + maxModelMemoryBytes);
      try {
        await checker.infer(customWeightsId(id), probeImage(), 1);
      } catch (e) {
        const refused = `--model ${path}: "${basename(path)}" was refused: one run on a full-contrast image`;
        if (!(e instanceof RunAbortedError))
          throw new RangeError(`${refused} failed (${(e as Error).message})`);
        if (e.cause === 'memory')
          throw new RangeError(
            `${refused} took more than ${(maxModelMemoryBytes / MIB).toFixed(0)} MiB of memory ` +
              '(--max-model-memory); onnxruntime keeps a run’s peak memory in every worker serving the model',
          );
        if (e.cause === 'crash') throw new RangeError(`${refused} crashed its worker (${e.message})`);
        warning = `"${basename(path)}": one run on a full-contrast image did not finish within the run limit (${e.message}); requests to it will answer 503 when they take as long`;
      } finally {
        checker.setMemoryLimit(Number.POSITIVE_INFINITY);
      }
      out.push({ entry, bytes, warning });
    }
  } finally {
    await checker.close();
  }
  return out;
}

/**
 * The in-process check (`--workers 0`): the same checks in this process, without the probe, which
 * needs a worker that can be stopped.
 * @throws RangeError `--model <path>: <why>`
 */
export async function checkModelFilesInProcess(
  engine: NodeEngine,
  paths: readonly string[],
  outputs: OutputKind,
): Promise<CheckedModel[]> {
  const taken: string[] = [];
  const out: CheckedModel[] = [];
  for (const path of paths) {
    const bytes = await readModelFile(path);
    const id = customModelId(basename(path), taken);
    taken.push(id);
    try {
      out.push({ entry: await engine.addCustom(id, basename(path), bytes, outputs), bytes });
    } catch (e) {
      throw new RangeError(`--model ${path}: ${(e as Error).message}`);
    }
  }
  return out;
}
