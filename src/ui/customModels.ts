/**
 * The page's side of "bring your own model": read an uploaded file (with progress), have the worker
 * check and serve it, keep it in IndexedDB, restore it on reload, remove it, evaluate it on the test
 * set. The checks themselves are in src/core/custom-models.ts (pure) and OrtBackend.addCustom.
 */

import { setCustomModelGate } from '../app/custom-model-gate';
import {
  deleteCustomModel,
  loadCustomModels,
  saveCustomModel,
  storageErrorMessage,
} from '../app/custom-model-storage';
import { engine } from '../app/runtime';
import {
  type CustomModelEntry,
  customIdOf,
  customModelId,
  customModelInfos,
  customWeightsId,
  type OutputKind,
  sizeRefusal,
} from '../core/custom-models';
import { isError, ModelRefusedError } from '../core/errors';
import { NUM_CLASSES } from '../core/labels';
import { getModel, type ModelInfo } from '../core/models';
import { useCustomModelStore } from '../stores/customModelStore';
import { reportError } from '../stores/errorStore';
import { useModelStore } from '../stores/modelStore';
import { ensureTestSet } from './testSet';

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The uploaded models and their defended variants (`custom/<id>`, `/3`, `/4`, `/blur`). */
export function customModelInfoList(models = useCustomModelStore.getState().models): ModelInfo[] {
  return models.flatMap(customModelInfos);
}

/** One of the fifteen, or an uploaded model (or one of its variants). */
export function findModel(id: string): ModelInfo | undefined {
  return (
    getModel(id) ?? (customIdOf(id) !== null ? customModelInfoList().find((m) => m.id === id) : undefined)
  );
}

/** Reads a File into memory, reporting progress (large models take a moment). */
async function readWithProgress(file: File, onProgress: (loaded: number) => void): Promise<Uint8Array> {
  const reader = file.stream().getReader();
  const out = new Uint8Array(file.size);
  let loaded = 0;
  let reported = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.byteLength > out.byteLength) throw new Error('the file grew while it was read');
    out.set(value, loaded);
    loaded += value.byteLength;
    // about a hundred updates for a large file, not one per 64 KiB chunk
    if (loaded - reported >= out.byteLength / 100 || loaded === out.byteLength) {
      reported = loaded;
      onProgress(loaded);
    }
  }
  return loaded === out.byteLength ? out : out.subarray(0, loaded);
}

/**
 * Checks an uploaded file and, when it passes, serves it under /custom/<id>/…, lists it and saves
 * it for the next visit. A refusal (not ONNX, wrong inputs or outputs, failing test run, too large)
 * is shown with the file's name and what was found; nothing else changes.
 */
export function uploadCustomModel(file: File, outputs: OutputKind): Promise<CustomModelEntry | null> {
  // one upload at a time, after the saved models are back: two at once could pick the same ID
  const next = uploadChain.then(() => restoreCustomModels()).then(() => upload(file, outputs));
  uploadChain = next.catch(() => {});
  return next;
}

let uploadChain: Promise<unknown> = Promise.resolve();
/** IDs saved in this browser, also those that could not be served again (they stay taken). */
const storedIds = new Set<string>();

async function upload(file: File, outputs: OutputKind): Promise<CustomModelEntry | null> {
  const st = useCustomModelStore.getState();
  const fileName = file.name || 'unnamed file';
  const refused = sizeRefusal(fileName, file.size);
  if (refused) {
    st.refuse(fileName, refused.message);
    return null;
  }
  const total = file.size;
  try {
    st.setUpload({ fileName, phase: 'reading', loaded: 0, total });
    const bytes = await readWithProgress(file, (loaded) =>
      useCustomModelStore.getState().setUpload({ fileName, phase: 'reading', loaded, total }),
    );
    st.setUpload({ fileName, phase: 'checking', loaded: total, total });
    const id = customModelId(fileName, [
      ...useCustomModelStore.getState().models.map((m) => m.id),
      ...storedIds,
    ]);
    let entry: CustomModelEntry;
    try {
      entry = await engine.addCustomModel({ id, fileName, bytes, outputs });
    } catch (err) {
      useCustomModelStore.getState().refuse(fileName, errorText(err));
      return null;
    }
    st.setUpload({ fileName, phase: 'saving', loaded: total, total });
    let persisted = true;
    try {
      await saveCustomModel({ id, fileName, bytes: bytes.slice().buffer, outputs, addedAt: Date.now() });
      storedIds.add(id);
    } catch (err) {
      persisted = false;
      useCustomModelStore.getState().setStorageNotice(await storageErrorMessage(err, fileName, total));
    }
    useCustomModelStore.getState().add(entry, persisted);
    // show it beside the fifteen right away
    const sel = useModelStore.getState();
    sel.setSelected([...sel.selected, customWeightsId(entry.id)]);
    return entry;
  } catch (err) {
    useCustomModelStore.getState().refuse(fileName, `"${fileName}" could not be read: ${errorText(err)}`);
    return null;
  } finally {
    useCustomModelStore.getState().setUpload(null);
  }
}

/** Forgets a saved model that could not be served again (it is not in the worker). */
export async function forgetUnrestored(id: string): Promise<void> {
  const st = useCustomModelStore.getState();
  try {
    await deleteCustomModel(id);
    storedIds.delete(id);
    st.setUnrestored(st.unrestored.filter((u) => u.id !== id));
  } catch (err) {
    st.setStorageNotice(`"${id}" could not be removed from this browser's storage (${errorText(err)}).`);
  }
}

/**
 * Stops serving an uploaded model, forgets it in this browser and drops it from selections. The
 * stored copy is deleted and the workers stop serving it before the list changes: a reload, or an
 * API request, right after the model left the list must not find it.
 */
export async function removeCustomModel(id: string): Promise<void> {
  const weights = customWeightsId(id);
  const st = useCustomModelStore.getState();
  const [stored] = await Promise.allSettled([
    deleteCustomModel(id),
    engine.removeCustomModel(id), // a worker that died meanwhile comes back without it
  ]);
  if (stored.status === 'fulfilled') storedIds.delete(id);
  else
    st.setStorageNotice(
      `"${id}" could not be removed from this browser's storage (${errorText(stored.reason)}).`,
    );
  st.remove(id);
  const sel = useModelStore.getState();
  sel.setSelected(sel.selected.filter((m) => customIdOf(m) !== id));
  for (const p of sel.customPairs) if (p.weights === weights) sel.removeCustomPair(p.key);
}

/** Serves again the models saved in this browser (at start-up, before the shim answers /custom/…). */
async function restore(): Promise<void> {
  let stored: Awaited<ReturnType<typeof loadCustomModels>>;
  try {
    stored = await loadCustomModels();
  } catch (err) {
    useCustomModelStore
      .getState()
      .setStorageNotice(
        `Uploaded models cannot be kept in this browser (${errorText(err)}): uploads work for this session only.`,
      );
    useCustomModelStore.getState().setRestored();
    return;
  }
  for (const s of stored) storedIds.add(s.id);
  for (const s of stored) {
    try {
      const entry = await engine.addCustomModel({
        id: s.id,
        fileName: s.fileName,
        bytes: new Uint8Array(s.bytes),
        outputs: s.outputs,
      });
      useCustomModelStore.getState().add(entry, true);
    } catch (err) {
      const why = errorText(err);
      // a file the checks now refuse would stay in storage unseen and unremovable: drop it, and say
      // so; any other failure (a worker that died meanwhile) keeps it for the next visit
      const refused = isError(err, ModelRefusedError);
      if (refused) {
        await deleteCustomModel(s.id).catch(() => {});
        storedIds.delete(s.id);
      } else {
        // kept for the next visit, and listed so that it can be removed
        const st = useCustomModelStore.getState();
        st.setUnrestored([...st.unrestored, { id: s.id, fileName: s.fileName, message: why }]);
      }
      reportError(
        'A saved model could not be restored',
        `${s.fileName}: ${why}${refused ? ' It was removed from this browser’s storage.' : ''}`,
        `restore:${s.id}`,
      );
    }
  }
  useCustomModelStore.getState().setRestored();
}

let restoring: Promise<void> | null = null;

/** Starts the restore once; the fetch shim's /custom/… routes wait for it. */
export function restoreCustomModels(): Promise<void> {
  if (!restoring) {
    restoring = restore();
    setCustomModelGate(restoring);
  }
  return restoring;
}

/** Images per classify call while evaluating (one worker round trip each). */
const EVAL_CHUNK = 500;

/**
 * Clean accuracy of an uploaded model on the 10,000 Fashion-MNIST test images (the model alone, no
 * preprocessor), with progress and per-class figures in the store.
 */
export async function evaluateCustomModel(id: string): Promise<void> {
  const st = useCustomModelStore.getState();
  if (st.evaluations[id]?.state === 'running') return;
  const model = customWeightsId(id);
  const correct = new Array<number>(NUM_CLASSES).fill(0);
  const perClass = new Array<number>(NUM_CLASSES).fill(0);
  const base = { correct, perClass, accuracy: null, error: null, ms: null };
  st.setEvaluation(id, { ...base, state: 'running', done: 0, total: 10_000 });
  const t0 = performance.now();
  try {
    const set = await ensureTestSet();
    const total = set.count;
    for (let start = 0; start < total; start += EVAL_CHUNK) {
      if (!useCustomModelStore.getState().models.some((m) => m.id === id)) return; // removed meanwhile
      const n = Math.min(EVAL_CHUNK, total - start);
      const inputs: Float32Array[] = [];
      for (let i = 0; i < n; i++) {
        const px = set.images.subarray((start + i) * 784, (start + i + 1) * 784);
        inputs.push(Float32Array.from(px, (v) => v / 255));
      }
      const res = await engine.classify({ model, inputs });
      for (let i = 0; i < n; i++) {
        const label = set.labels[start + i];
        perClass[label]++;
        if (res.preds[i] === label) correct[label]++;
      }
      useCustomModelStore.getState().setEvaluation(id, {
        ...base,
        correct: [...correct],
        perClass: [...perClass],
        state: 'running',
        done: start + n,
        total,
      });
    }
    const right = correct.reduce((a, b) => a + b, 0);
    useCustomModelStore.getState().setEvaluation(id, {
      ...base,
      correct: [...correct],
      perClass: [...perClass],
      state: 'done',
      done: total,
      total,
      accuracy: right / total,
      ms: performance.now() - t0,
    });
  } catch (err) {
    useCustomModelStore.getState().setEvaluation(id, {
      ...base,
      state: 'error',
      done: 0,
      total: 10_000,
      error: errorText(err),
    });
  }
}
