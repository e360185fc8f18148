import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { COMPILED_NODE_FLAGS, compiledRunArgs, containerBuild, sourceFolder } from '../../../runtime/local/sagemaker/container-build.js';
import { containerCommand } from '../../../runtime/local/sagemaker/container-command.js';
import { LOCAL_IMAGES } from '../../../runtime/local/images.js';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '..', '..', '..');

/** A repository of two modules: containers/cli.ts imports runtime/answer.ts, as the pipeline container imports runtime/. */
async function sourceTree(answer: string): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'container-build-'));
  await mkdir(path.join(root, 'containers'));
  await mkdir(path.join(root, 'runtime', 'nested'), { recursive: true });
  await writeFile(path.join(root, 'containers', 'cli.ts'), "import { answer } from '../runtime/nested/answer.js';\nconst shown: string = answer();\nconsole.log(shown);\n");
  await writeFile(path.join(root, 'runtime', 'nested', 'answer.ts'), `export function answer(): string {\n  return ${JSON.stringify(answer)} as string;\n}\n`);
  return root;
}

test('the sources are compiled once to JavaScript that runs with plain node, and again when a source changes', async (t) => {
  const root = await sourceTree('first');
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const build = containerBuild(root);
  t.true(build.startsWith(path.join(root, 'node_modules', '.cache', 'forecast-fleet') + path.sep));
  t.is((await run(process.execPath, [path.join(build, 'containers', 'cli.js')])).stdout, 'first\n');
  const builtAt = (await stat(path.join(build, 'containers', 'cli.js'))).mtimeMs;

  t.is(containerBuild(root), build, 'unchanged sources reuse the build');
  t.is((await stat(path.join(build, 'containers', 'cli.js'))).mtimeMs, builtAt);
  const later = new Date(Date.now() + 60_000);
  await utimes(path.join(root, 'containers', 'cli.ts'), later, later);
  t.is(containerBuild(root), build, 'a source touched but not changed reuses the build (found by its contents)');
  t.is((await stat(path.join(build, 'containers', 'cli.js'))).mtimeMs, builtAt);

  t.deepEqual(JSON.parse(await readFile(path.join(build, 'package.json'), 'utf8')), { type: 'module' }, 'the compiled files are marked as modules');

  await writeFile(path.join(root, 'runtime', 'nested', 'answer.ts'), "export const answer = (): string => 'second';\n");
  const rebuilt = containerBuild(root);
  t.not(rebuilt, build);
  t.is((await run(process.execPath, [path.join(rebuilt, 'containers', 'cli.js')])).stdout, 'second\n');
  const builds = async () => (await readdir(path.dirname(rebuilt))).filter((entry) => entry.startsWith('containers-')).sort();
  t.deepEqual(await builds(), [path.basename(build), path.basename(rebuilt)].sort(), "the earlier tree's build, used a moment ago, is kept");

  const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
  await utimes(build, twoDaysAgo, twoDaysAgo);
  await writeFile(path.join(root, 'runtime', 'nested', 'answer.ts'), "export const answer = (): string => 'third';\n");
  const third = containerBuild(root);
  const cacheEntries = await readdir(path.dirname(third));
  t.deepEqual(cacheEntries.filter((entry) => entry.startsWith('containers-')).sort(), [path.basename(rebuilt), path.basename(third)].sort(), 'a build unused for two days is removed');
  const stamps = cacheEntries.filter((entry) => entry.startsWith('stamp-'));
  const stamped = await Promise.all(stamps.map((stamp) => readFile(path.join(path.dirname(third), stamp), 'utf8')));
  t.true(stamped.includes(path.basename(third)) && !stamped.includes(path.basename(build)), "the removed build's stamps are removed with it");
});

test('a compiled module finds its source folder, and so the repository, as its source does', (t) => {
  const root = path.join(path.sep, 'repo');
  const compiled = path.join(root, 'node_modules', '.cache', 'forecast-fleet', 'containers-0123456789abcdef', 'runtime', 'local', 'sagemaker', 'container-command.js');
  t.is(sourceFolder(pathToFileURL(compiled).href), path.join(root, 'runtime', 'local', 'sagemaker'));
  t.is(sourceFolder(pathToFileURL(path.join(root, 'runtime', 'local', 'main.ts')).href), path.join(root, 'runtime', 'local'));
});

/** A repository with the launcher and the build module copied in, and the repository's esbuild. */
async function launcherTree(): Promise<string> {
  const root = await sourceTree('unused');
  await mkdir(path.join(root, 'runtime', 'local', 'sagemaker'), { recursive: true });
  await copyFile(path.join(repo, 'runtime', 'run-compiled.js'), path.join(root, 'runtime', 'run-compiled.js'));
  await copyFile(path.join(repo, 'runtime', 'local', 'sagemaker', 'container-build.js'), path.join(root, 'runtime', 'local', 'sagemaker', 'container-build.js'));
  await writeFile(path.join(root, 'package.json'), '{ "type": "module" }\n');
  await mkdir(path.join(root, 'node_modules'));
  await symlink(path.join(repo, 'node_modules', 'esbuild'), path.join(root, 'node_modules', 'esbuild'));
  return root;
}

test('run-compiled.js runs a TypeScript entry point from the build, as the script Node started, with stack traces naming the .ts lines', async (t) => {
  const root = await launcherTree();
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await writeFile(
    path.join(root, 'runtime', 'entry.ts'),
    [
      "import { pathToFileURL } from 'node:url';",
      "import { sourceFolder } from './local/sagemaker/container-build.js';",
      'const isMain: boolean = import.meta.url === pathToFileURL(process.argv[1] ?? "").href;',
      'console.log(JSON.stringify({ isMain, args: process.argv.slice(2), compiled: import.meta.url.includes("/node_modules/.cache/"), folder: sourceFolder(import.meta.url) }));',
      'if (process.argv.includes("--fail")) throw new Error("failed on purpose");',
      '',
    ].join('\n'),
  );
  const { stdout } = await run(process.execPath, compiledRunArgs(root, 'runtime/entry.ts').concat(['a', '--b']), { cwd: root });
  t.deepEqual(JSON.parse(stdout), { isMain: true, args: ['a', '--b'], compiled: true, folder: path.join(root, 'runtime') });

  const failed = await run(process.execPath, compiledRunArgs(root, 'runtime/entry.ts').concat(['--fail']), { cwd: root }).catch((error: { code: number; stderr: string }) => error);
  t.like(failed, { code: 1 });
  t.regex((failed as { stderr: string }).stderr, /Error: failed on purpose\n\s+at .*runtime\/entry\.ts:5:/);
});

test('run-compiled.js refuses an entry point outside the compiled folders, and says what it expects', async (t) => {
  const failed = await run(process.execPath, compiledRunArgs(repo, 'test/bench/run.ts'), { cwd: repo }).catch((error: { code: number; stderr: string }) => error);
  t.like(failed, { code: 2 });
  t.regex((failed as { stderr: string }).stderr, /run-compiled: expected a \.ts file below containers\/ or runtime\/ of .*, got "test\/bench\/run\.ts"\nusage: node runtime\/run-compiled\.js <source\.ts> \[args…\]/);
});

test("a compile error names the build and the compiler's message", async (t) => {
  const root = await sourceTree('x');
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await writeFile(path.join(root, 'containers', 'broken.ts'), 'export const = ;\n');
  const error = t.throws(() => containerBuild(root));
  t.regex(error?.message ?? '', /local mode could not compile the sources into .*containers-[0-9a-f]{16}: .*broken\.ts/s);
  t.deepEqual(await readdir(path.join(root, 'node_modules', '.cache', 'forecast-fleet')), [], 'no half build is left');
});

test("a local container runs the image's entrypoint on the compiled sources, without tsx", async (t) => {
  const command = containerCommand(LOCAL_IMAGES.training, { args: ['no-such-command'] });
  t.deepEqual(command.args.slice(0, COMPILED_NODE_FLAGS.length), [...COMPILED_NODE_FLAGS]);
  t.regex(command.args[COMPILED_NODE_FLAGS.length] ?? '', /node_modules\/\.cache\/forecast-fleet\/containers-[0-9a-f]{16}\/containers\/cli\.js$/);
  t.false(command.args.some((arg) => arg.includes('tsx')));
  const failed = await run(command.command, command.args, { cwd: command.cwd }).catch((error: { code: number; stderr: string }) => error);
  t.like(failed, { code: 2 });
  t.regex((failed as { stderr: string }).stderr, /unknown command "no-such-command"\nusage: container <process\|train\|serve\|pipeline>/);
});
