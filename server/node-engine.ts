/**
 * InferenceEngine on onnxruntime-node (CPU), the service's own (in each inference worker, or in process with
 * --workers 0) and the tools': one session per weight file,
 * created on first use after an optional sha256 check against public/models/manifest.json, and
 * runs on a session queued one after another (ORT sessions must not run concurrently).
 */

import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  type CustomModelEntry,
  type CustomModelSpec,
  checkCustomSession,
  customWeightsId,
  fileRefusal,
  type OutputKind,
  probabilitiesToLogits,
  unreadableModelError,
} from '../src/core/custom-models';
import { type GradientEngine, ModelUnavailableError } from '../src/core/engine';
import { weightFileProblem } from '../src/core/models';
import { whiteBoxRefusal } from '../src/gradients/build';
import { evaluateGradient, type GradientRuns } from '../src/gradients/evaluate';
import { createGradientSessions, type GradientSlot } from './gradient-sessions';

export interface NodeEngineOptions {
  /** folder holding `<weights>.onnx` and, optionally, `manifest.json` */
  modelsDir?: string;
  /** check each file's sha256 (and size) against the manifest when the manifest exists */
  verify?: boolean;
  /** intra-op threads per session (the machines have 2 cores) */
  threads?: number;
}

/** Where a weight set's session stands: being read and opened, open (after `ms`), or failed (why). */
export type WeightState =
  | { state: 'loading' }
  | { state: 'ready'; ms: number }
  | { state: 'failed'; error: string };

export interface NodeEngine extends GradientEngine {
  /** Reads, verifies and opens a weight set now (rejects with ModelUnavailableError saying why). */
  load(weights: string): Promise<void>;
  /** The state of the last load of a weight set (undefined: never asked for, or released). */
  state(weights: string): WeightState | undefined;
  /** Frees the sessions (all, or one weight set); later calls create them again. */
  release(weights?: string): Promise<void>;
  /** Weight sets with a live session. */
  loaded(): string[];
  /**
   * Checks an ONNX classifier someone brought (metadata and a test run, as the page does) and serves
   * it as weight set `custom/<id>`; rejects with a message naming the file and what was found.
   */
  addCustom(id: string, fileName: string, bytes: Uint8Array, outputs?: OutputKind): Promise<CustomModelEntry>;
  /**
   * Serves a model that addCustom has already accepted (in another process: the service's check
   * runs in a worker of its own) as `custom/<entry.id>`; its session opens on first use, with the
   * upload options. The file check runs again here, since these bytes reached this process anew.
   * @throws ModelRefusedError when the bytes fail the file check
   */
  adoptCustom(entry: CustomModelEntry, bytes: Uint8Array): void;
}

interface Slot {
  session: ort.InferenceSession;
  inputName: string;
  outputName: string;
  /** most images per run: 1 for a custom model whose file fixes the batch at 1 */
  maxBatch: number;
  probabilities: boolean;
  /** tail of this session's run queue */
  tail: Promise<unknown>;
}

interface ManifestWeights {
  weights?: Record<string, { file?: string; sha256?: string; bytes?: number }>;
}

/** A weight set that failed to load is tried again after this long at the earliest. */
const RETRY_FAILED_MS = 5_000;
const INPUT = 'input';
const OUTPUT = 'logits';
const PIXELS = 784;
const CLASSES = 10;

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function readManifest(modelsDir: string): Promise<ManifestWeights | null> {
  const path = join(modelsDir, 'manifest.json');
  if (!existsSync(path)) return null;
  return JSON.parse(await readFile(path, 'utf8')) as ManifestWeights;
}

/** Checks a weight file's size and sha256 against manifest.json; throws ModelUnavailableError. */
async function verifyBytes(modelsDir: string, weights: string, bytes: Buffer): Promise<void> {
  let manifest: ManifestWeights | null;
  try {
    manifest = await readManifest(modelsDir);
  } catch (e) {
    throw new ModelUnavailableError(weights, `manifest.json is unreadable (${(e as Error).message})`);
  }
  if (!manifest) return; // nothing to verify against (e.g. a freshly trained model)
  const entry = manifest.weights?.[weights];
  if (!entry?.sha256) throw new ModelUnavailableError(weights, 'manifest.json lists no sha256 for it');
  const hex = createHash('sha256').update(bytes).digest('hex');
  const problem = weightFileProblem(`${weights}.onnx`, bytes.byteLength, hex, {
    bytes: entry.bytes,
    sha256: entry.sha256,
  });
  if (problem) throw new ModelUnavailableError(weights, problem);
}

/** Reads `<modelsDir>/<weights>.onnx` (checked against the manifest when `verify`); throws ModelUnavailableError. */
async function readWeightFile(modelsDir: string, weights: string, verify: boolean): Promise<Buffer> {
  // weight IDs become file names: refuse anything that could leave the folder
  if (!/^[A-Za-z0-9_-]+$/.test(weights))
    throw new ModelUnavailableError(weights, 'not a valid weight-set ID');
  const path = join(modelsDir, `${weights}.onnx`);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelUnavailableError(
      weights,
      code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path} (${code})`,
    );
  }
  if (verify) await verifyBytes(modelsDir, weights, bytes);
  return bytes;
}

/** Opens `<modelsDir>/<weights>.onnx` (checked against the manifest when `verify`); throws ModelUnavailableError. */
async function openWeightFile(
  modelsDir: string,
  weights: string,
  verify: boolean,
  sessionOptions: ort.InferenceSession.SessionOptions,
): Promise<Slot> {
  const path = join(modelsDir, `${weights}.onnx`);
  const bytes = await readWeightFile(modelsDir, weights, verify);
  try {
    const session = await ort.InferenceSession.create(bytes, sessionOptions);
    if (!session.inputNames.includes(INPUT) || !session.outputNames.includes(OUTPUT)) {
      await session.release();
      throw new Error(
        `expected input "${INPUT}" and output "${OUTPUT}", found ${session.inputNames} → ${session.outputNames}`,
      );
    }
    return {
      session,
      tail: Promise.resolve(),
      inputName: INPUT,
      outputName: OUTPUT,
      maxBatch: Number.POSITIVE_INFINITY,
      probabilities: false,
    };
  } catch (e) {
    throw new ModelUnavailableError(weights, `onnxruntime could not load ${path}: ${(e as Error).message}`);
  }
}

/** Logits of n images on one session, one run per image when the file fixes the batch size. */
async function runOnSlot(
  slot: Slot,
  weights: string,
  inputs: Float32Array,
  n: number,
): Promise<Float32Array> {
  const runPart = async (part: Float32Array, m: number) => {
    const feeds = { [slot.inputName]: new ort.Tensor('float32', part, [m, 1, 28, 28]) };
    const out = await slot.session.run(feeds);
    const logits = out[slot.outputName];
    if (logits.type !== 'float32' || logits.data.length !== m * CLASSES) {
      throw new Error(
        `"${weights}" returned ${logits.type} ${JSON.stringify(logits.dims)}, expected float32 [${m},10]`,
      );
    }
    const data = Float32Array.from(logits.data as Float32Array);
    return slot.probabilities ? probabilitiesToLogits(data) : data;
  };
  if (n <= slot.maxBatch) return runPart(inputs, n);
  // a model whose file fixes the batch size: one run per image
  const all = new Float32Array(n * CLASSES);
  for (let i = 0; i < n; i++) {
    all.set(await runPart(inputs.subarray(i * PIXELS, (i + 1) * PIXELS), 1), i * CLASSES);
  }
  return all;
}

/**
 * Opens an uploaded model and runs the checks every upload gets (a self-contained ONNX file, inputs
 * and outputs, a test run); throws ModelRefusedError naming the file.
 */
async function openCustomModel(
  fileName: string,
  bytes: Uint8Array,
  outputs: OutputKind,
  sessionOptions: ort.InferenceSession.SessionOptions,
): Promise<{ session: ort.InferenceSession; spec: CustomModelSpec }> {
  const refused = fileRefusal(fileName, bytes);
  if (refused) throw refused;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, uploadSessionOptions(sessionOptions));
  } catch (e) {
    throw unreadableModelError(fileName, e);
  }
  let spec: CustomModelSpec;
  try {
    spec = await checkCustomSession(
      fileName,
      session,
      outputs,
      async (sp, input, n) => {
        const out = (await session.run({ [sp.inputName]: new ort.Tensor('float32', input, [n, 1, 28, 28]) }))[
          sp.outputName
        ];
        return { data: new Float32Array(out.data as Float32Array), dims: out.dims };
      },
      'drop --probabilities (serve) or #probabilities (experiments)',
    );
  } catch (e) {
    await session.release();
    throw e;
  }
  return { session, spec };
}

/**
 * An empty folder of this process's own, created on first use and removed at exit: onnxruntime-node
 * resolves an external-data `location` of a model loaded from bytes against the working directory
 * unless `session.model_external_initializers_file_folder_path` names another folder. Pointing it
 * here means a tensor that slipped past fileRefusal still finds no file to read (onnxruntime refuses
 * `..` and absolute locations itself).
 */
let noExternalData: string | undefined;
function emptyExternalDataFolder(): string {
  if (!noExternalData) {
    const dir = mkdtempSync(join(tmpdir(), 'playground-no-external-data-'));
    chmodSync(dir, 0o500);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    noExternalData = dir;
  }
  return noExternalData;
}

/**
 * Session options for a file someone brought: the engine's own, plus onnxruntime's ONNX format only
 * (no ".ort" flatbuffers) and external data resolved in an empty folder (the second layer behind
 * fileRefusal; docs/custom-models.md).
 */
export function uploadSessionOptions(
  base: ort.InferenceSession.SessionOptions,
): ort.InferenceSession.SessionOptions {
  return {
    ...base,
    extra: {
      session: {
        load_model_format: 'ONNX',
        model_external_initializers_file_folder_path: emptyExternalDataFolder(),
      },
    },
  };
}

/** onnxruntime-node's CPU session options with `threads` intra-op threads. */
function cpuSessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  };
}

/** The slot of an uploaded model's session (its own tensor names, batch size and output kind). */
function customSlot(session: ort.InferenceSession, entry: CustomModelEntry): Slot {
  return {
    session,
    tail: Promise.resolve(),
    inputName: entry.spec.inputName,
    outputName: entry.spec.outputName,
    maxBatch: entry.spec.batch === 1 ? 1 : Number.POSITIVE_INFINITY,
    probabilities: entry.spec.outputs === 'probabilities',
  };
}

/** Frees a slot's session once its queued runs are done (a slot that never loaded has nothing to free). */
async function freeSlot(slot: Promise<Slot>): Promise<void> {
  try {
    const s = await slot;
    await s.tail;
    await s.session.release();
  } catch {
    // never loaded
  }
}

/** When the runs queued on a slot (forward and gradient runs alike) are done. */
function settled(slot: Promise<Slot>): Promise<unknown> {
  return slot.then((s) => s.tail).catch(() => undefined);
}

/** Runs `run` after the slot's queued runs (one run per session at a time). */
function queued<T>(slot: Slot, run: () => Promise<T>): Promise<T> {
  const result = slot.tail.then(run);
  slot.tail = result.catch(() => undefined);
  return result;
}

/** The forward and gradient-graph runs of one weight set, for evaluateGradient. */
function gradientRuns(slot: Slot, g: GradientSlot): GradientRuns {
  const dims = (m: number) => [m, 1, 28, 28];
  return {
    forward: async (x, m) =>
      Float32Array.from(
        (await slot.session.run({ [slot.inputName]: new ort.Tensor('float32', x, dims(m)) }))[slot.outputName]
          .data as Float32Array,
      ),
    backward: async (x, m, cot) => {
      const out = await g.session.run({
        [g.model.input]: new ort.Tensor('float32', x, dims(m)),
        [g.model.gradLogits]: new ort.Tensor('float32', cot, [m, CLASSES]),
      });
      return Float32Array.from(out[g.model.gradInput].data as Float32Array);
    },
  };
}

/** Opens the forward session of a weight set: an accepted upload's bytes, or its file. */
async function openSlot(
  weights: string,
  custom: { bytes: Uint8Array; entry: CustomModelEntry } | undefined,
  modelsDir: string,
  verify: boolean,
  sessionOptions: ort.InferenceSession.SessionOptions,
): Promise<Slot> {
  if (custom) {
    try {
      return customSlot(
        await ort.InferenceSession.create(custom.bytes, uploadSessionOptions(sessionOptions)),
        custom.entry,
      );
    } catch (e) {
      throw new ModelUnavailableError(weights, `onnxruntime could not load it: ${(e as Error).message}`);
    }
  }
  return openWeightFile(modelsDir, weights, verify, sessionOptions);
}

export function createNodeEngine(opts: NodeEngineOptions = {}): NodeEngine {
  const modelsDir = opts.modelsDir ?? join('public', 'models');
  const verify = opts.verify ?? true;
  const threads = opts.threads ?? 2;
  const slots = new Map<string, Promise<Slot>>();
  const states = new Map<string, WeightState>();
  const customs = new Map<string, { bytes: Uint8Array; entry: CustomModelEntry }>();
  const sessionOptions = cpuSessionOptions(threads);
  const gradients = createGradientSessions();
  const optionsFor = (c: unknown) => (c ? uploadSessionOptions(sessionOptions) : sessionOptions);
  const createSlot = (weights: string) =>
    openSlot(weights, customs.get(weights), modelsDir, verify, sessionOptions);

  function slotFor(weights: string): Promise<Slot> {
    let slot = slots.get(weights);
    if (!slot) {
      const t0 = performance.now();
      const created = createSlot(weights);
      slot = created;
      slots.set(weights, created);
      states.set(weights, { state: 'loading' });
      created.then(
        () => {
          if (slots.get(weights) === created)
            states.set(weights, { state: 'ready', ms: Math.round(performance.now() - t0) });
        },
        (e: unknown) => {
          if (slots.get(weights) === created)
            states.set(weights, { state: 'failed', error: e instanceof Error ? e.message : String(e) });
          // a failed load is retried (the file may be fixed or appear later), but at most every
          // RETRY_FAILED_MS: each retry reads and hashes the whole file
          setTimeout(() => {
            if (slots.get(weights) === created) slots.delete(weights);
          }, RETRY_FAILED_MS).unref();
        },
      );
    }
    return slot;
  }

  return {
    async load(weights: string): Promise<void> {
      await slotFor(weights);
    },

    state(weights: string): WeightState | undefined {
      const st = states.get(weights);
      return st && { ...st };
    },

    async infer(weights: string, inputs: Float32Array, n: number): Promise<Float32Array> {
      if (!Number.isInteger(n) || n < 1 || inputs.length !== n * PIXELS) {
        throw new RangeError(
          `infer needs n ≥ 1 images of ${PIXELS} floats; got n=${n} and ${inputs.length} floats`,
        );
      }
      const slot = await slotFor(weights);
      return queued(slot, () => runOnSlot(slot, weights, inputs, n));
    },

    async gradient(weights, inputs, n, specs) {
      const slot = await slotFor(weights);
      const c = customs.get(weights);
      const bytes = async () => c?.bytes ?? readWeightFile(modelsDir, weights, verify);
      const g = await gradients.get(weights, bytes, optionsFor(c), slot.maxBatch === 1 ? 1 : 'dynamic');
      const info = { probabilities: slot.probabilities, maxBatch: slot.maxBatch };
      return queued(slot, () => evaluateGradient(gradientRuns(slot, g), info, inputs, n, specs));
    },

    async release(weights?: string): Promise<void> {
      const names = weights === undefined ? [...slots.keys()] : [weights];
      await Promise.all(
        names.map(async (name) => {
          const slot = slots.get(name);
          slots.delete(name);
          states.delete(name);
          await Promise.all([gradients.release(name, slot && settled(slot)), slot && freeSlot(slot)]);
        }),
      );
      if (weights === undefined) await gradients.release(); // any left without a forward session
    },

    loaded(): string[] {
      return [...slots.keys()];
    },

    adoptCustom(entry, bytes) {
      const refused = fileRefusal(entry.fileName, bytes);
      if (refused) throw refused;
      const weights = customWeightsId(entry.id);
      customs.set(weights, { bytes, entry });
      void gradients.release(weights, slots.has(weights) ? settled(slots.get(weights)!) : undefined);
    },

    async addCustom(id, fileName, bytes, outputs = 'logits') {
      const weights = customWeightsId(id);
      const { session, spec } = await openCustomModel(fileName, bytes, outputs, sessionOptions);
      const entry: CustomModelEntry = {
        id,
        fileName,
        sha256: sha256Hex(bytes),
        bytes: bytes.byteLength,
        spec,
        whiteBox: whiteBoxRefusal(bytes, spec.batch),
      };
      const previous = slots.get(weights);
      if (previous) {
        // the same ID registered again: the old session is freed once its queued runs are done
        void previous.then((old) => old.tail.then(() => old.session.release())).catch(() => {});
      }
      customs.set(weights, { bytes, entry });
      void gradients.release(weights, previous && settled(previous));
      const slot = Promise.resolve(customSlot(session, entry));
      slots.set(weights, slot);
      states.set(weights, { state: 'ready', ms: 0 });
      return entry;
    },
  };
}
