/**
 * The output folder of a run: `config.json`, the append-only `results.jsonl` (one fsync'ed line per
 * finished row), `runs.jsonl` (one line per invocation) and the derived summaries and report.
 */

import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ResultRow } from './rows';

export const FILES = {
  config: 'config.json',
  results: 'results.jsonl',
  runs: 'runs.jsonl',
  superseded: 'superseded.jsonl',
  summaryCsv: 'summary.csv',
  summaryMd: 'summary.md',
  report: 'report.html',
} as const;

/** Held while a run writes to the folder; not in FILES, so --fresh never deletes it. */
export const LOCK_FILE = '.experiment.lock';

export class OutDirBusy extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutDirBusy';
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
  // a run killed a moment ago stays a zombie until its parent (npm, a shell) reaps it: dead
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc (not Linux): signal 0 is all there is
  }
}

/** Tells this process from an earlier one that had the same pid (a restarted container). */
const PROCESS_TOKEN = randomUUID();

interface LockHolder {
  pid?: number;
  host?: string;
  token?: string;
  since?: string;
}

/**
 * Claims the output folder for this process, so two runs never append to (or, with --redo-changed
 * and --retry-*, rewrite) the same results.jsonl at once. Written by our own code rather than
 * proper-lockfile: that library detects a dead holder by lock age (seconds), while a run resumed
 * right after a SIGKILL must start at once; on one host the holder's pid says it exactly. A lock
 * from another host is never taken over. Returns the release function (idempotent).
 */
export function lockOutDir(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    token: PROCESS_TOKEN,
    since: new Date().toISOString(),
  };
  const mine = `${JSON.stringify(me)}\n`;
  const tmp = `${path}.${process.pid}.${PROCESS_TOKEN}`;
  writeFileSync(tmp, mine);
  try {
    for (let attempt = 0; ; attempt++) {
      if (attempt >= 5)
        throw new OutDirBusy(`${dir}: could not take ${LOCK_FILE} (other runs keep taking it)`);
      try {
        linkSync(tmp, path); // atomic: fails if a lock exists, never leaves a half-written one
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
        throw e;
      }
      let holder: LockHolder = {};
      try {
        holder = JSON.parse(text);
      } catch {
        // unreadable: stale unless it names a live process on this host (it cannot)
      }
      if (holder.host !== undefined && holder.host !== me.host) {
        throw new OutDirBusy(
          `${dir} is locked by a run on host ${holder.host} (pid ${holder.pid ?? '?'}, since ${holder.since ?? '?'}); ` +
            `if that run is gone, delete ${path}`,
        );
      }
      const earlierIncarnation = holder.pid === process.pid && holder.token !== PROCESS_TOKEN;
      if (typeof holder.pid === 'number' && processAlive(holder.pid) && !earlierIncarnation) {
        throw new OutDirBusy(
          `${dir} is in use by another experiment run (pid ${holder.pid}, since ${holder.since ?? '?'}); ` +
            'wait for it to finish or stop it, or choose another --out',
        );
      }
      takeOverStale(dir, path, text);
    }
  } finally {
    unlinkSync(tmp);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      if (readFileSync(path, 'utf8') === mine) unlinkSync(path);
    } catch {
      // already gone
    }
  };
}

/**
 * Removes a dead run's lock, under an exclusive guard file and only if the lock still holds the
 * text that was judged stale: two runs resuming at once cannot both remove it (the second would
 * otherwise delete the first one's fresh lock).
 */
function takeOverStale(dir: string, path: string, staleText: string): void {
  const guard = `${path}.takeover`;
  let fd: number;
  try {
    fd = openSync(guard, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    throw new OutDirBusy(
      `${dir}: another run is taking over the lock of a stopped run right now; try again ` +
        `(if none is starting, delete ${guard})`,
    );
  }
  try {
    let current: string | null = null;
    try {
      current = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (current === staleText) unlinkSync(path);
  } finally {
    closeSync(fd);
    unlinkSync(guard);
  }
}

export interface ReadResults {
  rows: ResultRow[];
  /** a trailing partial line (a run killed mid-write) was found */
  truncatedTail: boolean;
  /** byte length of the complete lines */
  validBytes: number;
}

/** Reads results.jsonl; a partial last line (killed mid-write) is reported and ignored. */
export function readResults(dir: string): ReadResults {
  const path = join(dir, FILES.results);
  if (!existsSync(path)) return { rows: [], truncatedTail: false, validBytes: 0 };
  const buf = readFileSync(path);
  const end = buf.lastIndexOf(0x0a) + 1; // complete lines end with \n
  const rows: ResultRow[] = [];
  const text = buf.subarray(0, end).toString('utf8');
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.trim() === '') continue;
    try {
      rows.push(JSON.parse(line) as ResultRow);
    } catch (e) {
      throw new Error(
        `${path}:${lineNo} is not valid JSON (${(e as Error).message}); fix or remove that line`,
      );
    }
  }
  return { rows, truncatedTail: end < buf.length, validBytes: end };
}

/** Cuts a partial last line off results.jsonl so appends start on a fresh line. */
export function repairResults(dir: string): boolean {
  const r = readResults(dir);
  if (!r.truncatedTail) return false;
  truncateSync(join(dir, FILES.results), r.validBytes);
  return true;
}

/**
 * Moves the rows that `drop` selects from results.jsonl to superseded.jsonl (appended, with why),
 * so they are rerun but never lost. The superseded copy is fsync'ed before results.jsonl is
 * replaced atomically: a crash in between leaves a duplicate there, never a lost row.
 */
export function supersedeRows(dir: string, drop: (row: ResultRow) => boolean, reason: string): number {
  const { rows } = readResults(dir);
  const removed = rows.filter(drop);
  if (removed.length === 0) return 0;
  const at = new Date().toISOString();
  const fd = openSync(join(dir, FILES.superseded), 'a');
  try {
    writeSync(fd, removed.map((r) => `${JSON.stringify({ ...r, superseded: { at, reason } })}\n`).join(''));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  writeAtomic(
    join(dir, FILES.results),
    rows
      .filter((r) => !drop(r))
      .map((r) => `${JSON.stringify(r)}\n`)
      .join(''),
  );
  return removed.length;
}

/** Appends rows to results.jsonl and fsyncs, so a killed run loses at most the rows in flight. */
export class ResultsWriter {
  private fd: number;

  constructor(dir: string) {
    this.fd = openSync(join(dir, FILES.results), 'a');
  }

  append(rows: readonly ResultRow[]): void {
    if (rows.length === 0) return;
    writeSync(this.fd, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Writes a file atomically (temp file + rename), so a reader never sees half of it. */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * Appends one JSON row and its newline to `path`, durably (fsync), and whole or not at all: on a
 * failed or short write the file is cut back to its length before, so results.jsonl never holds
 * part of a row, whatever the disk does.
 * @throws the write's error (ENOSPC, EIO, …) after the cut
 */
export function appendLine(path: string, value: unknown): void {
  const data = Buffer.from(`${JSON.stringify(value)}\n`);
  const fd = openSync(path, 'a');
  const before = fstatSync(fd).size;
  try {
    // a short write (a full disk) returns fewer bytes than asked without throwing: finish the row
    for (let off = 0; off < data.length; ) {
      const n = writeSync(fd, data, off, data.length - off);
      if (n <= 0) throw new Error(`${path}: the disk took none of the row's last ${data.length - off} bytes`);
      off += n;
    }
    fsyncSync(fd);
  } catch (e) {
    // never leave part of a row behind: the next append, once space frees up, would fuse with it
    try {
      ftruncateSync(fd, before);
    } catch {
      // the repair on resume (repairResults) cuts a partial last line too
    }
    throw e;
  } finally {
    closeSync(fd);
  }
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
