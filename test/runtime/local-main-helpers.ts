import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** Pids local mode recorded for its children: job instances (`<host>.pid`) and endpoint containers (`container.pid`). */
export async function recordedPids(dataDir: string, name: (file: string) => boolean = (file) => file.endsWith('.pid')): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir(dataDir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && name(entry.name)) {
      pids.push(Number((await readFile(path.join(entry.parentPath, entry.name), 'utf8')).trim()));
    }
  }
  return pids.filter((pid) => Number.isSafeInteger(pid) && pid > 0);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
