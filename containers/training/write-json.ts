import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { temporaryPathFor } from '../shared/model-artifact.js';

/** Writes JSON through a temporary file and a rename, so readers never see half a file. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = temporaryPathFor(file);
  try {
    await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
