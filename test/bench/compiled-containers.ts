import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';

/**
 * The container code as the image runs it (containers/Dockerfile: tsc's JavaScript of containers/
 * and runtime/, `node dist/containers/cli.js <command>`), for the benches that time a container:
 * from source, tsx would transpile every module again in every worker thread.
 *
 * Each file is transpiled alone with the build's compiler options (`ts.transpileModule`: the same
 * JavaScript tsc emits under `isolatedModules`, without the type check, which costs ≈ 13 CPU-s on
 * this machine and is `npm run typecheck`'s job). The output goes to `dist/bench-<hash>/`, named
 * by the sources' content, so the other benches of the run and later runs on the same sources reuse
 * it. Returns that folder: `<folder>/containers/cli.js` is the image's entry point.
 */
export async function compiledContainers(): Promise<string> {
  const repo = path.resolve(import.meta.dirname, '..', '..');
  const sources = (await Promise.all(['containers', 'runtime'].map((dir) => typeScriptFiles(path.join(repo, dir))))).flat().sort();
  const texts = await Promise.all(sources.map((file) => readFile(file, 'utf8')));
  const hash = createHash('sha256').update(ts.version);
  sources.forEach((file, i) => hash.update(`${path.relative(repo, file)}\0${texts[i]}\0`));
  const name = `bench-${hash.digest('hex').slice(0, 16)}`;
  const dist = path.join(repo, 'dist');
  const out = path.join(dist, name);
  if ((await readdir(out).catch(() => undefined)) !== undefined) return out;

  const config = ts.getParsedCommandLineOfConfigFile(path.join(repo, 'containers', 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(`containers/tsconfig.build.json: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  } });
  if (!config) throw new Error('containers/tsconfig.build.json could not be read');
  // One file at a time cannot see package.json's "type": "module"; ESNext emits the ESM that NodeNext does for it.
  const compilerOptions = { ...config.options, module: ts.ModuleKind.ESNext, sourceMap: false };
  // Built beside and renamed into place, so a bench running at the same time never reads half of it.
  const building = path.join(dist, `${name}.${process.pid}.tmp`);
  try {
    for (const [i, file] of sources.entries()) {
      const target = path.join(building, path.relative(repo, file)).replace(/\.ts$/, '.js');
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, ts.transpileModule(texts[i] as string, { compilerOptions, fileName: file }).outputText);
    }
    await rename(building, out).catch(async (error: NodeJS.ErrnoException) => {
      // Another bench built the same sources first: use theirs.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
      await rm(building, { recursive: true, force: true });
    });
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    throw error;
  }
  // Builds of older sources are of no further use.
  for (const entry of await readdir(dist)) {
    if (entry.startsWith('bench-') && entry !== name && !entry.endsWith('.tmp')) await rm(path.join(dist, entry), { recursive: true, force: true });
  }
  return out;
}

async function typeScriptFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')).map((e) => path.join(e.parentPath, e.name));
}
