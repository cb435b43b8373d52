/**
 * "Bring your own model", the pure part shared by the worker, the page, the HTTP server
 * and the experiment runner: what an uploaded ONNX classifier must look like, the check of its
 * metadata and of its first test run, the ID rules, and the model entries it is served under.
 *
 * An uploaded model takes exactly one float32 input of shape [N,1,28,28] (N dynamic or 1) holding
 * pixel values in [0,1] (no mean/std normalisation, as the fifteen) and gives one float32 output
 * [N,10]: logits (the default; the API applies softmax) or probabilities (the user says so; the API
 * then passes them on, renormalised).
 *
 * Routes (the fifteen's contract, under a `custom/` prefix): `/custom/<id>/decision|score` is the
 * model itself; `/custom/<id>/3/…` wraps it in random resize & padding and `/custom/<id>/4/…` in
 * Gaussian noise σ 0.1 (the `_3`/`_4` defenses of SPEC §3, same parameters), `/custom/<id>/blur/…`
 * in the thesis code's Gaussian blur. The model IDs are the route without the action:
 * `custom/<id>`, `custom/<id>/3`, `custom/<id>/4`, `custom/<id>/blur`; the weight-set ID is `custom/<id>`.
 */
import { ModelRefusedError } from './errors';
import {
  BLUR_DEFAULT,
  type Defense,
  type ModelInfo,
  NOISE_DEFAULT,
  type PreprocessorSpec,
  RESIZE_PAD_DEFAULT,
} from './models';
import { modelFileProblem } from './onnx-file-check';

/** The first segment of every custom model's routes and IDs. */
export const CUSTOM_PREFIX = 'custom';
/** Longest ID (the URL-safe file stem) before a clash suffix. */
export const MAX_ID_LENGTH = 48;
/** Largest file the page accepts (bytes); the issue asks for "up to, say, 100 MB". */
export const MAX_CUSTOM_MODEL_BYTES = 100 * 1024 * 1024;
/** Classes the output must have (Fashion-MNIST). */
export const CUSTOM_CLASSES = 10;

/** How to read the model's output: raw scores (softmax applied) or probabilities already. */
export type OutputKind = 'logits' | 'probabilities';

/** One input or output as onnxruntime's `inputMetadata` / `outputMetadata` describe it. */
export interface TensorMeta {
  name: string;
  isTensor: boolean;
  /** element type, e.g. 'float32' (tensors only) */
  type?: string;
  /** dimensions: numbers, or strings for symbolic ones ('batch'); [] when unknown (tensors only) */
  shape?: readonly (number | string)[];
}

/** What the checks found usable: the tensor names and how the batch dimension may be used. */
export interface CustomModelSpec {
  inputName: string;
  outputName: string;
  /** the input's shape as the file declares it, e.g. ['batch', 1, 28, 28] */
  inputShape: (number | string)[];
  outputShape: (number | string)[];
  /** 'dynamic': any N per run; 1: the file fixes N at 1 (the engine then runs one image at a time) */
  batch: 'dynamic' | 1;
  outputs: OutputKind;
}

/** An accepted model, as the page lists it, the worker serves it and `GET /` describes it. */
export interface CustomModelEntry {
  /** URL-safe ID, e.g. `student-mlp` (routes `/custom/student-mlp/…`) */
  id: string;
  /** the uploaded (or given) file name, e.g. `student-mlp.onnx` */
  fileName: string;
  /** lowercase hex SHA-256 of the file */
  sha256: string;
  /** file size in bytes */
  bytes: number;
  spec: CustomModelSpec;
  /**
   * Why the reverse pass refuses it for white-box attacks (an op without a gradient rule, named),
   * or null when gradients work; absent where nobody asked. Black-box use is never affected.
   */
  whiteBox?: string | null;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** The short statement of what an upload must be, shown in the page and used in refusals. */
export const EXPECTED_MODEL =
  'one float32 input [N,1,28,28] (N dynamic or 1) of pixel values in [0,1], one float32 output [N,10] (logits, or probabilities if ticked)';

/**
 * The URL-safe stem of a file name: the extension (`.onnx`) and any folders dropped, accents folded,
 * lowercased, every run of characters other than a–z and 0–9 turned into one `-`, trimmed of `-`,
 * at most MAX_ID_LENGTH characters; `model` when nothing is left. `Student MLP (v2).onnx` →
 * `student-mlp-v2`; `student_mlp.onnx` → `student-mlp` (no `_`: the fifteen's IDs use it).
 */
export function slugFromFileName(fileName: string): string {
  const base = String(fileName).split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : base;
  const slug = stem
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_ID_LENGTH)
    .replace(/-+$/, '');
  return slug || 'model';
}

/**
 * The ID a new model gets: its file's slug, or on a clash with `taken` the slug with the first free
 * suffix `-2`, `-3`, …  (`student-mlp.onnx` twice → `student-mlp`, then `student-mlp-2`).
 */
export function customModelId(fileName: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const slug = slugFromFileName(fileName);
  if (!used.has(slug)) return slug;
  for (let k = 2; ; k++) {
    const candidate = `${slug}-${k}`;
    if (!used.has(candidate)) return candidate;
  }
}

/** True for a string that can be a custom model's ID (what slugFromFileName and its suffixes give). */
export function isCustomId(id: string): boolean {
  return /^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(id) && id.length <= MAX_ID_LENGTH + 8;
}

/**
 * Why a file of `bytes` bytes cannot be an uploaded model (empty, or over MAX_CUSTOM_MODEL_BYTES),
 * checked before anything reads it; null when its size is fine.
 */
export function sizeRefusal(fileName: string, bytes: number): ModelRefusedError | null {
  if (bytes === 0) return new ModelRefusedError(`"${fileName}" was refused: the file is empty.`);
  if (bytes > MAX_CUSTOM_MODEL_BYTES) {
    return new ModelRefusedError(
      `"${fileName}" was refused: ${(bytes / 2 ** 20).toFixed(1)} MiB is over the ${MAX_CUSTOM_MODEL_BYTES / 2 ** 20} MiB limit.`,
    );
  }
  return null;
}

/**
 * Why onnxruntime must not open this file (not a self-contained ONNX model: external data, a
 * structure two protobuf parsers could read differently, bytes that do not parse; see
 * modelFileProblem in src/core/onnx-file-check.ts), checked before any onnxruntime sees the bytes;
 * null when the file passes.
 */
export function fileRefusal(fileName: string, bytes: Uint8Array): ModelRefusedError | null {
  const problem = modelFileProblem(bytes);
  if (!problem) return null;
  return new ModelRefusedError(
    `"${fileName}" was refused: ${problem}. An uploaded model must be one self-contained ONNX file ` +
      '(no external data), so that it cannot read files where it is served.',
  );
}

function dimText(d: number | string): string {
  return typeof d === 'number' ? (d < 0 ? '?' : String(d)) : d === '' ? '?' : d;
}

/** `"pixels" float32 [batch,1,28,28]`, or `"seq" (not a tensor)`. */
export function describeTensor(t: TensorMeta): string {
  if (!t.isTensor) return `"${t.name}" (not a tensor)`;
  const shape = t.shape && t.shape.length > 0 ? `[${t.shape.map(dimText).join(',')}]` : '[unknown shape]';
  return `"${t.name}" ${t.type ?? 'unknown type'} ${shape}`;
}

function describeList(what: 'input' | 'output', list: readonly TensorMeta[]): string {
  if (list.length === 0) return `no ${what}s`;
  const noun = list.length === 1 ? what : `${what}s`;
  return `${list.length} ${noun}: ${list.map(describeTensor).join(', ')}`;
}

/** A dimension that is symbolic (a name) or unknown (−1 / 0 / ''): any size at run time. */
function isDynamic(d: number | string | undefined): boolean {
  return typeof d === 'string' || (typeof d === 'number' && d <= 0);
}

/** A fixed dimension equal to `n`, or a dynamic one. */
function fits(d: number | string | undefined, n: number): boolean {
  return d === n || isDynamic(d);
}

/**
 * Checks a model's declared inputs and outputs (onnxruntime's metadata) against EXPECTED_MODEL.
 * `fileName` is only used in the message. A refusal names the file, what was expected and what was
 * found: every input and output with its name, element type and shape, and their counts. Symbolic
 * or unknown dimensions are accepted where a fixed one is expected (the test run checks them); a
 * batch dimension fixed at 1 is accepted (the engine then runs one image at a time), any other
 * fixed batch size is refused.
 */
export function validateCustomModel(
  fileName: string,
  inputs: readonly TensorMeta[],
  outputs: readonly TensorMeta[],
  outputKind: OutputKind = 'logits',
): Checked<CustomModelSpec> {
  const problems: string[] = [];
  if (inputs.length !== 1) problems.push(`it has ${inputs.length} inputs, not exactly one`);
  if (outputs.length !== 1) problems.push(`it has ${outputs.length} outputs, not exactly one`);
  const input = inputs.length === 1 ? inputs[0] : null;
  const output = outputs.length === 1 ? outputs[0] : null;
  if (input) {
    if (!input.isTensor) problems.push(`input "${input.name}" is not a tensor`);
    else {
      if (input.type !== 'float32') problems.push(`input "${input.name}" is ${input.type}, not float32`);
      const s = input.shape ?? [];
      if (s.length === 0) {
        // a model without declared shapes is tried as [N,1,28,28] in the test run
      } else if (s.length !== 4 || !fits(s[1], 1) || !fits(s[2], 28) || !fits(s[3], 28)) {
        problems.push(`input "${input.name}" has shape [${s.map(dimText).join(',')}], not [N,1,28,28]`);
      } else if (!isDynamic(s[0]) && s[0] !== 1) {
        problems.push(`input "${input.name}" fixes the batch size at ${s[0]}; it must be dynamic or 1`);
      }
    }
  }
  if (output) {
    if (!output.isTensor) problems.push(`output "${output.name}" is not a tensor`);
    else {
      if (output.type !== 'float32') problems.push(`output "${output.name}" is ${output.type}, not float32`);
      const s = output.shape ?? [];
      if (s.length !== 0 && (s.length !== 2 || !fits(s[1], CUSTOM_CLASSES))) {
        const classes = s.length === 2 && typeof s[1] === 'number' ? ` (${s[1]} classes, not 10)` : '';
        problems.push(
          `output "${output.name}" has shape [${s.map(dimText).join(',')}], not [N,10]${classes}`,
        );
      }
    }
  }
  if (problems.length > 0 || !input || !output) {
    return {
      ok: false,
      error:
        `"${fileName}" was refused: ${problems.join('; ')}. ` +
        `Expected ${EXPECTED_MODEL}. Found ${describeList('input', inputs)}; ${describeList('output', outputs)}.`,
    };
  }
  const inputShape = [...(input.shape ?? [])];
  return {
    ok: true,
    value: {
      inputName: input.name,
      outputName: output.name,
      inputShape,
      outputShape: [...(output.shape ?? [])],
      batch: inputShape.length === 4 && inputShape[0] === 1 ? 1 : 'dynamic',
      outputs: outputKind,
    },
  };
}

export { ModelRefusedError };

/**
 * The first image's output must not depend on what else is in the batch (a model exported in
 * training mode normalises with batch statistics; the server batches requests of different clients).
 * @param single the output of the run on one image; @param pair the output of the run on two
 * @returns the refusal, or null
 */
export function checkBatchIndependence(
  fileName: string,
  single: ArrayLike<number>,
  pair: ArrayLike<number>,
): string | null {
  for (let c = 0; c < CUSTOM_CLASSES; c++) {
    const a = single[c];
    const b = pair[c];
    if (Math.abs(a - b) > 1e-4 * Math.max(1, Math.abs(a))) {
      return (
        `"${fileName}" was refused: the first image's output changes when a second image is in the batch ` +
        `(${a} alone, ${b} beside another): the model mixes the images of a batch (e.g. BatchNorm exported in training mode).`
      );
    }
  }
  return null;
}

/**
 * Checks the output of a test run on `n` images (the engine feeds blank and mid-gray images):
 * N×10 finite values, and for `probabilities` values in [0,1] whose rows sum to 1 within 1e-3.
 * `dims` is the output tensor's shape as returned. Returns null when fine, else a refusal naming
 * the file and what came out.
 */
export function checkTestRun(
  fileName: string,
  spec: CustomModelSpec,
  data: ArrayLike<number>,
  dims: readonly number[],
  n: number,
  /** how the user undoes "outputs are probabilities" where they declared it */
  toggle = 'untick "outputs are already probabilities"',
): string | null {
  const head = `"${fileName}" was refused: its first test run on ${n} image${n === 1 ? '' : 's'} [${n},1,28,28]`;
  if (
    data.length !== n * CUSTOM_CLASSES ||
    dims.length !== 2 ||
    dims[0] !== n ||
    dims[1] !== CUSTOM_CLASSES
  ) {
    return `${head} returned output "${spec.outputName}" of shape [${dims.join(',')}] (${data.length} values), not [${n},10]. Expected ${EXPECTED_MODEL}.`;
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) return `${head} returned a non-finite value (${data[i]}) at index ${i}.`;
  }
  if (spec.outputs === 'probabilities') {
    for (let r = 0; r < n; r++) {
      let sum = 0;
      for (let c = 0; c < CUSTOM_CLASSES; c++) {
        const v = data[r * CUSTOM_CLASSES + c];
        if (v < 0 || v > 1) {
          return `${head} returned ${v} in row ${r}, which is not a probability; ${toggle} if the model gives logits.`;
        }
        sum += v;
      }
      if (Math.abs(sum - 1) > 1e-3) {
        return `${head} returned a row summing to ${sum.toFixed(4)}, not 1; ${toggle} if the model gives logits.`;
      }
    }
  }
  return null;
}

/** What the checks need of an onnxruntime session (onnxruntime-web's and onnxruntime-node's alike). */
export interface CheckableSession {
  readonly inputMetadata: readonly TensorMeta[];
  readonly outputMetadata: readonly TensorMeta[];
}

/** The refusal of a file onnxruntime cannot open as a session. */
export function unreadableModelError(fileName: string, err: unknown): ModelRefusedError {
  const why = err instanceof Error ? err.message : String(err);
  return new ModelRefusedError(
    `"${fileName}" was refused: onnxruntime cannot read it as an ONNX model (${why.slice(0, 300)}).`,
  );
}

/**
 * The whole check of an opened model, shared by the worker (onnxruntime-web) and Node
 * (onnxruntime-node): its metadata (validateCustomModel), then test runs on 1 image (a blank one)
 * and, unless the batch is fixed at 1, on 2 (blank and mid-gray), each checked by checkTestRun and
 * the second against the first (checkBatchIndependence).
 * @param run one session run: input [n,1,28,28] float32 → the output's values and dims
 * @param toggle how to undo "outputs are probabilities" where the user declared it
 * @returns the spec to serve the model with
 * @throws ModelRefusedError naming the file and what was found; the caller releases the session
 */
export async function checkCustomSession(
  fileName: string,
  session: CheckableSession,
  outputs: OutputKind,
  run: (
    spec: CustomModelSpec,
    input: Float32Array,
    n: number,
  ) => Promise<{ data: Float32Array; dims: readonly number[] }>,
  toggle?: string,
): Promise<CustomModelSpec> {
  const meta = (list: readonly TensorMeta[]): TensorMeta[] =>
    list.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: m.shape } : m));
  const checked = validateCustomModel(
    fileName,
    meta(session.inputMetadata),
    meta(session.outputMetadata),
    outputs,
  );
  if (!checked.ok) throw new ModelRefusedError(checked.error);
  const spec = checked.value;
  let single: Float32Array | null = null;
  for (const n of spec.batch === 1 ? [1] : [1, 2]) {
    const input = new Float32Array(n * 784);
    if (n === 2) input.fill(0.5, 784); // a blank and a mid-gray image
    let out: { data: Float32Array; dims: readonly number[] };
    try {
      out = await run(spec, input, n);
    } catch (err) {
      throw new ModelRefusedError(
        `"${fileName}" was refused: its first test run on ${n} image${n === 1 ? '' : 's'} [${n},1,28,28] failed (${(err instanceof Error ? err.message : String(err)).slice(0, 300)}).`,
      );
    }
    const problem =
      checkTestRun(fileName, spec, out.data, out.dims, n, toggle) ??
      (n === 2 && single ? checkBatchIndependence(fileName, single, out.data) : null);
    if (problem) throw new ModelRefusedError(problem);
    if (n === 1) single = out.data;
  }
  return spec;
}

/**
 * Turns probabilities into log-probabilities in place (floored at 1e-30 so that a 0 stays finite):
 * the softmax of the result is the input renormalised, so the router's softmax /score passes a
 * probability model's output on unchanged, and its argmax is the same.
 */
export function probabilitiesToLogits(data: Float32Array): Float32Array {
  for (let i = 0; i < data.length; i++) data[i] = Math.log(Math.max(data[i], 1e-30));
  return data;
}

/** The weight-set ID of a custom model: `custom/<id>`. */
export function customWeightsId(id: string): string {
  return `${CUSTOM_PREFIX}/${id}`;
}

/** `custom/<id>` (or a variant `custom/<id>/3`) → `<id>`; null for any other model ID. */
export function customIdOf(modelId: string): string | null {
  const parts = String(modelId).split('/');
  return parts[0] === CUSTOM_PREFIX && (parts.length === 2 || parts.length === 3) && parts[1] !== ''
    ? parts[1]
    : null;
}

/** The defended variants every custom model is served with: route segment, defense, preprocessor. */
export const CUSTOM_VARIANTS: readonly {
  suffix: string;
  defense: Defense;
  preprocessor: PreprocessorSpec;
}[] = [
  { suffix: '3', defense: 'resize_pad', preprocessor: RESIZE_PAD_DEFAULT },
  { suffix: '4', defense: 'noise', preprocessor: NOISE_DEFAULT },
  { suffix: 'blur', defense: 'blur', preprocessor: BLUR_DEFAULT },
];

/**
 * The model entries a custom model is served under: itself (`custom/<id>`) and its defended
 * variants (`custom/<id>/3`, `/4`, `/blur`), all on the weight set `custom/<id>`.
 */
export function customModelInfos(entry: CustomModelEntry): ModelInfo[] {
  const weights = customWeightsId(entry.id);
  const base: ModelInfo = {
    id: weights,
    arch: 'custom',
    defense: 'none',
    weights,
    preprocessor: null,
    custom: entry,
  };
  return [
    base,
    ...CUSTOM_VARIANTS.map((v) => ({
      ...base,
      id: `${weights}/${v.suffix}`,
      defense: v.defense,
      preprocessor: v.preprocessor,
    })),
  ];
}

/** What `GET /` says about a custom model: file, checksum, size and the input/output spec. */
export function describeCustomModel(entry: CustomModelEntry) {
  return {
    file: entry.fileName,
    sha256: entry.sha256,
    bytes: entry.bytes,
    input: { name: entry.spec.inputName, dtype: 'float32', shape: entry.spec.inputShape, range: [0, 1] },
    output: { name: entry.spec.outputName, dtype: 'float32', shape: entry.spec.outputShape },
    outputs: entry.spec.outputs,
    batch: entry.spec.batch,
    ...(entry.whiteBox !== undefined && {
      white_box: entry.whiteBox === null ? 'yes' : `no: ${entry.whiteBox}`,
    }),
  };
}
