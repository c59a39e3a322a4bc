/** File-system helpers shared by the library (results, figures, data stamps, checkpoints). */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes `file` atomically and durably: a temporary sibling is written and fsynced, renamed over
 * `file`, and the folder fsynced. A crash leaves either the old file or the new one, never a
 * half-written one. Creates the folder if needed.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(
    dir,
    `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  syncDir(dir);
}

/** fsyncs a folder so a rename inside it is durable (a no-op where folders cannot be opened). */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Whether process `pid` is running (this process counts as running). */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes, in `dir`, the temporary files of writers that died: names matching `pattern`, whose
 * first capture group is the writer's pid (e.g. `/\.part-(\d+)$/`). Files of running processes
 * are kept. Returns the paths removed; a missing or unreadable folder removes nothing.
 */
export function removeDeadTemps(dir: string, pattern: RegExp): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pidAlive(pid)) continue;
    const file = path.join(dir, name);
    fs.rmSync(file, { recursive: true, force: true });
    removed.push(file);
  }
  return removed;
}
