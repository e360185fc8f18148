import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { containerBuild } from '../../../runtime/local/sagemaker/container-build.js';
import { containerCommand } from '../../../runtime/local/sagemaker/container-command.js';
import { LOCAL_IMAGES } from '../../../runtime/local/images.js';

const run = promisify(execFile);

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

  await writeFile(path.join(root, 'runtime', 'nested', 'answer.ts'), "export const answer = (): string => 'second';\n");
  const rebuilt = containerBuild(root);
  t.not(rebuilt, build);
  t.is((await run(process.execPath, [path.join(rebuilt, 'containers', 'cli.js')])).stdout, 'second\n');
  t.deepEqual(await readdir(path.dirname(rebuilt)), [path.basename(rebuilt)], "the earlier tree's build is removed");
});

test("a compile error names the build and the compiler's message", async (t) => {
  const root = await sourceTree('x');
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await writeFile(path.join(root, 'containers', 'broken.ts'), 'export const = ;\n');
  const error = t.throws(() => containerBuild(root));
  t.regex(error?.message ?? '', /local mode could not compile the containers' sources into .*containers-[0-9a-f]{16}: .*broken\.ts/s);
  t.deepEqual(await readdir(path.join(root, 'node_modules', '.cache', 'forecast-fleet')), [], 'no half build is left');
});

test("a local container runs the image's entrypoint on the compiled sources, without tsx", async (t) => {
  const command = containerCommand(LOCAL_IMAGES.training, { args: ['no-such-command'] });
  t.deepEqual(command.args.slice(0, 1), ['--enable-source-maps']);
  t.regex(command.args[1] ?? '', /node_modules\/\.cache\/forecast-fleet\/containers-[0-9a-f]{16}\/containers\/cli\.js$/);
  t.false(command.args.some((arg) => arg.includes('tsx')));
  const failed = await run(command.command, command.args, { cwd: command.cwd }).catch((error: { code: number; stderr: string }) => error);
  t.like(failed, { code: 2 });
  t.regex((failed as { stderr: string }).stderr, /unknown command "no-such-command"\nusage: container <process\|train\|serve\|pipeline>/);
});
