// Plain JavaScript (its types in container-build.d.ts): `runtime/run-compiled.js` loads it before
// anything is compiled, so Node must run it as it is.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync, version as esbuildVersion } from 'esbuild';

/**
 * Local mode's JavaScript. The image's build stage compiles `containers/` (and the `runtime/` code
 * the pipeline image runs) to `dist/`; local mode does the same with esbuild, the compiler tsx
 * runs, file by file into `node_modules/.cache/forecast-fleet/`, so a container process, its worker
 * threads, `npm start` and the CLIs (runtime/run-compiled.js) load plain JavaScript. Under tsx every
 * process and every worker thread started its own loader thread and sent each import through it:
 * ≈ 0.45 s of CPU each container and ≈ 1 s each `npm start`. The build is keyed by the sources'
 * contents: a change to any of them makes a new one (≈ 0.3 s), an unchanged tree reuses it.
 */

/** Folders compiled, relative to the repository root (the pipeline container imports `runtime/`). */
export const CONTAINER_SOURCE_FOLDERS = ['containers', 'runtime'];
/**
 * Node's flags for the compiled sources: source maps, so stack traces name the `.ts` lines; and no
 * module syntax detection, which made Node parse each CommonJS package imported from a module
 * twice (≈ 0.5 s of CPU at each `npm start`): the build's own files are marked as modules.
 */
export const COMPILED_NODE_FLAGS = ['--enable-source-maps', '--no-experimental-detect-module'];
/** The launcher, relative to the repository root. */
const RUN_COMPILED = path.join('runtime', 'run-compiled.js');
/** Below the repository's node_modules, so the compiled files resolve the same packages. */
const CACHE_FOLDER = path.join('node_modules', '.cache', 'forecast-fleet');
const BUILD_PREFIX = 'containers-';
/** `stamp-<hash of the sources' paths, sizes and modification times>`, holding the build's folder name. */
const STAMP_PREFIX = 'stamp-';
/** A build another tree's processes may still run from (a server started before an edit) is kept this long after its last use. */
const UNUSED_BUILD_KEPT_MS = 24 * 60 * 60 * 1000;
/** Where a compiled module sits: `<root>/node_modules/.cache/forecast-fleet/containers-<key>/<path of its source>`. */
const COMPILED_PATH = /^(.*)[\\/]node_modules[\\/]\.cache[\\/]forecast-fleet[\\/]containers-[0-9a-f]{16}[\\/](.*)$/;

/**
 * Every `.ts` and `.js` source of the source folders (declarations aside), relative to `repoRoot`, sorted.
 * @param {string} repoRoot
 * @returns {string[]}
 */
function sourceFiles(repoRoot) {
  return CONTAINER_SOURCE_FOLDERS.flatMap((folder) =>
    readdirSync(path.join(repoRoot, folder), { recursive: true, encoding: 'utf8' })
      .filter((file) => (file.endsWith('.ts') && !file.endsWith('.d.ts')) || file.endsWith('.js'))
      .map((file) => path.join(folder, file)),
  ).sort();
}

/**
 * The compiler's version and what `describe` gives of every source file, hashed to a short key.
 * @param {readonly string[]} files
 * @param {(file: string) => string | Buffer} describe
 * @returns {string}
 */
function sourcesHash(files, describe) {
  const hash = createHash('sha256').update(`esbuild ${esbuildVersion}\n`);
  for (const file of files) hash.update(`${file}\n`).update(describe(file)).update('\n');
  return hash.digest('hex').slice(0, 16);
}

/**
 * Identity of a build: the compiler's version and every source file's path and contents.
 * @param {string} repoRoot
 * @param {readonly string[]} files
 * @returns {string}
 */
function buildKey(repoRoot, files) {
  return sourcesHash(files, (file) => readFileSync(path.join(repoRoot, file)));
}

/**
 * The sources' paths, sizes and modification times, hashed: a few stat calls instead of reading
 * every file, to find the build of a tree seen before (a stamp that changed with contents that did
 * not, as after a checkout, leads to the same build through the contents' key).
 * @param {string} repoRoot
 * @param {readonly string[]} files
 * @returns {string}
 */
function sourceStamp(repoRoot, files) {
  return sourcesHash(files, (file) => {
    const { size, mtimeMs } = statSync(path.join(repoRoot, file));
    return `${size} ${mtimeMs}`;
  });
}

/**
 * Writes `text` to `file` through a temporary file beside it, so a reader never sees half of it.
 * @param {string} file
 * @param {string} text
 */
function writeWhole(file, text) {
  const staging = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(staging, text);
  renameSync(staging, file);
}

/**
 * The build a stamp file names, if both are there (another process may remove either meanwhile).
 * @param {string} stampFile
 * @returns {string | undefined}
 */
function stampedBuild(stampFile) {
  try {
    const build = path.join(path.dirname(stampFile), readFileSync(stampFile, 'utf8'));
    return existsSync(build) ? build : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The folder holding `containers/cli.js`, `runtime/local/main.js`, … compiled from `repoRoot`'s
 * current sources, built when missing. Synchronous, so a job's command can be made where the job
 * starts. Checked at every start, so an edited source is never run stale: the sources' stamp
 * (sizes and times) finds a known tree's build in a few milliseconds; a new stamp has the contents
 * hashed (≈ 30–100 ms), and a new key has them compiled.
 * @param {string} repoRoot
 * @returns {string}
 */
export function containerBuild(repoRoot) {
  const files = sourceFiles(repoRoot);
  const cache = path.join(repoRoot, CACHE_FOLDER);
  const stamp = path.join(cache, `${STAMP_PREFIX}${sourceStamp(repoRoot, files)}`);
  const stamped = stampedBuild(stamp);
  const target = stamped ?? path.join(cache, `${BUILD_PREFIX}${buildKey(repoRoot, files)}`);
  if (existsSync(target)) {
    const now = new Date();
    utimesSync(target, now, now);
    if (target !== stamped) writeWhole(stamp, path.basename(target));
    return target;
  }
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
      // Stack traces need only the mappings; the sources beside them would double what Node parses at each load.
      sourcesContent: false,
      logLevel: 'silent',
    });
    // The cache sits below node_modules, where Node stops looking for the repository's package.json:
    // without this one every file would be parsed as CommonJS first, then again as a module.
    writeFileSync(path.join(staging, 'package.json'), '{ "type": "module" }\n');
    renameSync(staging, target);
    writeWhole(stamp, path.basename(target));
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    // Another process finished the same build first.
    if (!existsSync(target)) throw new Error(`local mode could not compile the sources into ${target}: ${/** @type {Error} */ (error).message}`, { cause: error });
  }
  for (const entry of readdirSync(cache)) {
    const folder = path.join(cache, entry);
    // A stamp of a build no longer there.
    if (entry.startsWith(STAMP_PREFIX) && !entry.endsWith('.tmp') && stampedBuild(folder) === undefined) rmSync(folder, { force: true });
    // Earlier source trees' builds; another process's staging folder is left alone, and so is a
    // build used lately, which a process started before the sources changed may still load from.
    if (!entry.startsWith(BUILD_PREFIX) || entry.endsWith('.tmp') || folder === target) continue;
    if (Date.now() - statSync(folder, { throwIfNoEntry: false })?.mtimeMs > UNUSED_BUILD_KEPT_MS) rmSync(folder, { recursive: true, force: true });
  }
  return target;
}

/**
 * Node's arguments that run the containers' CLI (`containers/cli.ts`, the images' entrypoint) from
 * the compiled sources, as local mode's jobs and endpoints do; the CLI's own arguments follow.
 * @param {string} repoRoot
 * @returns {string[]}
 */
export function compiledContainerArgs(repoRoot) {
  return [...COMPILED_NODE_FLAGS, path.join(containerBuild(repoRoot), 'containers', 'cli.js')];
}

/**
 * Node's arguments that run the TypeScript entry point `source` (relative to `repoRoot`, e.g.
 * `runtime/local/main.ts`) from the compiled sources, as `npm start` does.
 * @param {string} repoRoot
 * @param {string} source
 * @returns {string[]}
 */
export function compiledRunArgs(repoRoot, source) {
  return [...COMPILED_NODE_FLAGS, path.join(repoRoot, RUN_COMPILED), source];
}

/**
 * The folder of the source file a module was compiled from (`moduleUrl`, its `import.meta.url`), or
 * the module's own folder when it runs from source: for code that finds files or the repository
 * relative to itself.
 * @param {string} moduleUrl
 * @returns {string}
 */
export function sourceFolder(moduleUrl) {
  const file = fileURLToPath(moduleUrl);
  const compiled = COMPILED_PATH.exec(file);
  return path.dirname(compiled ? path.join(/** @type {string} */ (compiled[1]), /** @type {string} */ (compiled[2])) : file);
}
