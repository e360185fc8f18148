/**
 * Preloaded into a process under test (`node --require tsx/cjs --require <this file>`; `--require`
 * also runs in every worker thread, where the training container writes its checkpoints): the
 * folder `FULL_DISK_DIR` behaves as a file system of `FULL_DISK_BYTES`, counted in 4 KiB blocks
 * as tmpfs counts them. A synchronous write to a file in that folder that goes past the capacity
 * writes what fits, as the kernel does, and the next write fails with the kernel's own ENOSPC:
 * the bytes go to /dev/full, so the error is the genuine errno error Node raises, not a made-up one.
 * For machines where a real small tmpfs cannot be mounted (checkpoint-enospc.test.ts).
 */
import fs = require('node:fs');
import path = require('node:path');
import nodeModule = require('node:module');

const BLOCK = 4096;
const dir = process.env.FULL_DISK_DIR;
const capacity = Number(process.env.FULL_DISK_BYTES);
if (!dir || !Number.isInteger(capacity) || capacity < 0) {
  throw new Error(`full-disk-preload needs FULL_DISK_DIR (a folder) and FULL_DISK_BYTES (a whole number of bytes); got ${dir} and ${process.env.FULL_DISK_BYTES}`);
}
const folder = path.resolve(dir);
const blocks = (bytes: number) => Math.ceil(bytes / BLOCK) * BLOCK;

/** The file an open descriptor refers to (Linux), or undefined for pipes, sockets and the like. */
function fileOf(fd: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** Bytes `target` may still grow by: the free blocks of the folder plus the slack of its last block. */
function roomFor(target: string): number {
  let used = 0;
  for (const name of fs.readdirSync(folder)) used += blocks(fs.statSync(path.join(folder, name)).size);
  const size = fs.statSync(target).size;
  return Math.max(0, capacity - used) + blocks(size) - size;
}

const writeSync = fs.writeSync;
const fullDevice = fs.openSync('/dev/full', 'w');

function limitedWriteSync(fd: number, data: string | NodeJS.ArrayBufferView, ...rest: unknown[]): number {
  const target = fileOf(fd);
  if (target === undefined || path.dirname(target) !== folder) return (writeSync as (...args: unknown[]) => number)(fd, data, ...rest);
  // As bytes: writeFileSync passes (buffer, offset, length[, position]); a string comes with (position, encoding).
  const encoding = (typeof data === 'string' ? rest[1] : undefined) as BufferEncoding | undefined;
  const bytes = typeof data === 'string' ? Buffer.from(data, encoding ?? 'utf8') : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const offset = typeof data === 'string' ? 0 : ((rest[0] as number | undefined) ?? 0);
  const length = typeof data === 'string' ? bytes.byteLength : ((rest[1] as number | undefined) ?? bytes.byteLength - offset);
  const position = (typeof data === 'string' ? rest[0] : rest[2]) as number | null | undefined;
  const fits = Math.min(length, roomFor(target));
  if (length > 0 && fits === 0) return writeSync(fullDevice, bytes, offset, length);
  return writeSync(fd, bytes, offset, fits, position);
}

fs.writeSync = limitedWriteSync as typeof fs.writeSync;
nodeModule.syncBuiltinESMExports();
