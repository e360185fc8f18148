// Plain JavaScript, so Node runs it without a TypeScript loader.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CONTAINER_SOURCE_FOLDERS, containerBuild } from './local/sagemaker/container-build.js';

/**
 * `node runtime/run-compiled.js <source.ts> [args…]`: runs a TypeScript entry point of `runtime/`
 * or `containers/` from local mode's compile of the sources (local/sagemaker/container-build.js),
 * made again when a source changed, instead of through tsx, whose loader thread and per-import
 * hooks cost `npm start` about a CPU-second. Source maps are on, so stack traces name the `.ts` lines.
 */
const repoRoot = path.resolve(import.meta.dirname, '..');
const [entry, ...args] = process.argv.slice(2);
const relative = entry === undefined ? '' : path.relative(repoRoot, path.resolve(entry));
const folder = relative.split(path.sep)[0];
if (!relative.endsWith('.ts') || !CONTAINER_SOURCE_FOLDERS.some((name) => name === folder)) {
  process.stderr.write(`run-compiled: expected a .ts file below ${CONTAINER_SOURCE_FOLDERS.join('/ or ')}/ of ${repoRoot}, got ${JSON.stringify(entry ?? '')}\nusage: node runtime/run-compiled.js <source.ts> [args…]\n`);
  process.exit(2);
}
// On Node 20 every AWS SDK client prints an 8-line notice that SDK releases after January 2027
// need Node 22. The lock file pins a release that runs here, so the notice is for whoever updates
// it (README, "Images"), not for every command's console and every job's log.
if (Number(process.versions.node.split('.')[0]) < 22) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.setSourceMapsEnabled(true);
const compiled = path.join(containerBuild(repoRoot), relative.replace(/\.ts$/, '.js'));
// The entry point sees itself as the script Node was started with (its `import.meta.url === argv[1]` check).
process.argv.splice(1, process.argv.length - 1, compiled, ...args);
await import(pathToFileURL(compiled).href);
