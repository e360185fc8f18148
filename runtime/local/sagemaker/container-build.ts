import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { buildSync, version as esbuildVersion } from 'esbuild';

/**
 * The containers' JavaScript for local mode. The image's build stage compiles `containers/` (and
 * the `runtime/` code the pipeline image runs) to `dist/`; local mode does the same with esbuild,
 * the compiler tsx runs, file by file into `node_modules/.cache/forecast-fleet/`, so a container
 * process and its worker threads load plain JavaScript. Under tsx every process and every worker
 * thread started its own loader thread and sent each import through it: ≈ 0.45 s of CPU each,
 * about ten times a night. The build is keyed by the sources' contents: a change to any of them
 * makes a new one (≈ 0.3 s), an unchanged tree reuses it.
 */

/** Folders compiled, relative to the repository root (the pipeline container imports `runtime/`). */
export const CONTAINER_SOURCE_FOLDERS = ['containers', 'runtime'] as const;
/** Below the repository's node_modules, so the compiled files resolve the same packages. */
const CACHE_FOLDER = path.join('node_modules', '.cache', 'forecast-fleet');
const BUILD_PREFIX = 'containers-';

/** Every `.ts` file of the source folders, relative to `repoRoot`, sorted. */
function sourceFiles(repoRoot: string): string[] {
  return CONTAINER_SOURCE_FOLDERS.flatMap((folder) =>
    readdirSync(path.join(repoRoot, folder), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => path.join(folder, file)),
  ).sort();
}

/** Identity of a build: the compiler's version and every source file's path and contents. */
function buildKey(repoRoot: string, files: readonly string[]): string {
  const hash = createHash('sha256').update(`esbuild ${esbuildVersion}\n`);
  for (const file of files) hash.update(`${file}\n`).update(readFileSync(path.join(repoRoot, file))).update('\n');
  return hash.digest('hex').slice(0, 16);
}

/**
 * The folder holding `containers/cli.js` compiled from `repoRoot`'s current sources, built when
 * missing. Synchronous, so a job's command can be made where the job starts; hashing the sources
 * takes a few milliseconds, and is done at every start so an edited source is never run stale.
 */
export function containerBuild(repoRoot: string): string {
  const files = sourceFiles(repoRoot);
  const cache = path.join(repoRoot, CACHE_FOLDER);
  const target = path.join(cache, `${BUILD_PREFIX}${buildKey(repoRoot, files)}`);
  if (existsSync(target)) return target;
  // Built beside and renamed into place, so a concurrent start never sees half a build.
  const staging = `${target}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  mkdirSync(staging, { recursive: true });
  try {
    buildSync({
      entryPoints: files.map((file) => path.join(repoRoot, file)),
      outbase: repoRoot,
      outdir: staging,
      format: 'esm',
      platform: 'node',
      target: 'node20.19',
      sourcemap: 'linked',
      logLevel: 'silent',
    });
    renameSync(staging, target);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    // Another process finished the same build first.
    if (!existsSync(target)) throw new Error(`local mode could not compile the containers' sources into ${target}: ${(error as Error).message}`, { cause: error });
  }
  for (const entry of readdirSync(cache)) {
    // Earlier source trees' builds; another process's staging folder is left alone.
    if (entry.startsWith(BUILD_PREFIX) && !entry.endsWith('.tmp') && path.join(cache, entry) !== target) rmSync(path.join(cache, entry), { recursive: true, force: true });
  }
  return target;
}
