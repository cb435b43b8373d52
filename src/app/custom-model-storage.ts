/**
 * Uploaded models kept in this browser (IndexedDB, database `playground-custom-models`, store
 * `models`, keyed by model ID) so that they survive a reload until removed. Errors are turned into
 * messages a user can act on: a full quota says how much is used and what to do.
 */
import type { OutputKind } from '../core/custom-models';

export interface StoredCustomModel {
  id: string;
  fileName: string;
  bytes: ArrayBuffer;
  outputs: OutputKind;
  /** ms since the epoch; restores run in this order */
  addedAt: number;
}

const DB_NAME = 'playground-custom-models';
const STORE = 'models';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function open(): Promise<IDBDatabase> {
  if (typeof indexedDB === 'undefined') return Promise.reject(new Error('this browser has no IndexedDB'));
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE))
        req.result.createObjectStore(STORE, { keyPath: 'id' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB could not be opened'));
    req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab of this page'));
  });
}

/** Runs `fn` in one transaction; resolves when the transaction has committed. */
async function withStore<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      let result: T;
      request(fn(tx.objectStore(STORE))).then(
        (r) => {
          result = r;
        },
        () => {},
      );
      tx.oncomplete = () => resolve(result);
      tx.onabort = () => reject(tx.error ?? new Error('the IndexedDB transaction was aborted'));
      tx.onerror = () => reject(tx.error ?? new Error('the IndexedDB transaction failed'));
    });
  } finally {
    db.close();
  }
}

function mib(n: number): string {
  return `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/** A storage failure as a sentence: quota errors say how full the origin's storage is. */
export async function storageErrorMessage(err: unknown, fileName: string, bytes: number): Promise<string> {
  const name = (err as { name?: string })?.name ?? '';
  const text = err instanceof Error ? err.message : String(err);
  if (name === 'QuotaExceededError' || /quota/i.test(text)) {
    let usage = '';
    try {
      const est = await navigator.storage?.estimate?.();
      if (est?.quota) usage = ` (this site uses ${mib(est.usage ?? 0)} of ${mib(est.quota)})`;
    } catch {
      // no estimate: the message stays without figures
    }
    return `The browser's storage is full${usage}: "${fileName}" (${mib(bytes)}) works in this session but will not be there after a reload. Remove uploaded models you no longer need, or free storage for this site, and upload it again.`;
  }
  return `"${fileName}" could not be saved in this browser (${text}): it works in this session but will not be there after a reload.`;
}

export function saveCustomModel(model: StoredCustomModel): Promise<unknown> {
  return withStore('readwrite', (s) => s.put(model));
}

export function deleteCustomModel(id: string): Promise<unknown> {
  return withStore('readwrite', (s) => s.delete(id));
}

export async function loadCustomModels(): Promise<StoredCustomModel[]> {
  const all = (await withStore('readonly', (s) => s.getAll())) as StoredCustomModel[];
  return all.sort((a, b) => a.addedAt - b.addedAt);
}
