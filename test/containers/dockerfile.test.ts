import test from 'ava';
import { DockerfileParser } from 'dockerfile-ast';
import type { Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import semver from 'semver';
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { writeTrainingChannel } from './training-fixture.js';

/**
 * No Docker engine here: lint the Dockerfile with a real linter, check what each target declares,
 * then carry out its build on a copy of the build context (Docker's context rules included) and
 * run every target's ENTRYPOINT + CMD from the built dist/ with production dependencies only.
 */

const run = promisify(execFile);
// @balena/dockerignore is CommonJS (`module.exports = factory`) typed as an ES default export.
const ignore = createRequire(import.meta.url)('@balena/dockerignore') as typeof import('@balena/dockerignore').default;
const repo = path.resolve(import.meta.dirname, '..', '..');
const dockerfilePath = path.join(repo, 'containers', 'Dockerfile');
const TARGETS = ['processing', 'training', 'inference', 'pipeline'] as const;

interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** The stages, with `${ARG}` in FROM replaced by the default of the ARG declared before the first FROM. */
function stagesOf(content: string): Stage[] {
  const dockerfile = DockerfileParser.parse(content);
  const initialArgs = new Map(
    dockerfile.getInitialARGs().flatMap((arg) => {
      const property = arg.getProperty();
      const name = property?.getName();
      return name ? [[name, property?.getValue() ?? '']] : [];
    }),
  );
  const expand = (text: string) => text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => initialArgs.get((braced ?? bare) as string) ?? whole);
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'ARG' && stages.length === 0) continue;
    if (instruction.getKeyword() === 'FROM') {
      const args = instruction.getArguments().map((a) => a.getValue());
      stages.push({ name: args[2] ?? String(stages.length), from: expand(args[0] as string), instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** A target's instructions, its parents' first (`FROM runtime AS training` inherits runtime). */
function effective(stages: readonly Stage[], name: string): Instruction[] {
  const stage = stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage ${name}`);
  const parent = stages.some((s) => s.name === stage.from) ? effective(stages, stage.from) : [];
  return [...parent, ...stage.instructions];
}

function last(instructions: readonly Instruction[], keyword: string): Instruction | undefined {
  return instructions.filter((i) => i.getKeyword() === keyword).at(-1);
}

function execForm(instruction: Instruction | undefined): string[] {
  const text = instruction?.getArgumentsContent() ?? '';
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error(`not exec form: ${text}`);
  return parsed as string[];
}

const content = await readFile(dockerfilePath, 'utf8');
const stages = stagesOf(content);
const packageJson = await readFile(path.join(repo, 'package.json'), 'utf8');

/** Stages built on an outside image rather than on another stage. */
const baseStages = stages.filter((s) => !stages.some((o) => o.name === s.from));

test('the images run a Node LTS that package.json engines accepts, as it accepts the Node running the tests', (t) => {
  const versions = new Set(baseStages.map((s) => /^node:(\d+\.\d+\.\d+)-/.exec(s.from)?.[1]));
  t.is(versions.size, 1, `every stage on one Node release: ${[...versions].join(', ')}`);
  const [imageNode] = versions;
  const major = semver.major(imageNode ?? '0.0.0');
  t.true(major >= 22 && major % 2 === 0, `node ${imageNode} is an LTS line (even, 22 or later; Node 20 ended in April 2026)`);
  const engines = (JSON.parse(packageJson) as { engines: { node: string } }).engines.node;
  t.true(semver.satisfies(imageNode ?? '', engines), `engines.node "${engines}" accepts the images' ${imageNode}`);
  t.true(semver.satisfies(process.version, engines), `engines.node "${engines}" accepts ${process.version}`);
  t.false(semver.satisfies('20.18.0', engines), 'engines.node names the oldest Node the code runs on, 20.19');
});

test('the Dockerfile passes the dockerfile-utils linter with zero problems', (t) => {
  t.deepEqual(validate(content).map((d) => `line ${d.range.start.line + 1}: ${d.message}`), []);
});

test('pinned base, root for SageMaker and non-root for ECS, exec-form entrypoint, production dependencies, the MME label', (t) => {
  for (const stage of baseStages) {
    t.regex(stage.from, /^node:\d+\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/, `${stage.name} pins an exact base image`);
  }
  t.deepEqual(
    TARGETS.filter((target) => stages.some((s) => s.name === target)),
    [...TARGETS],
  );
  const commands = { processing: 'process', training: 'train', inference: 'serve', pipeline: 'pipeline' } as const;
  for (const target of TARGETS) {
    const instructions = effective(stages, target);
    const user = last(instructions, 'USER')?.getArgumentsContent();
    t.truthy(user, `${target} sets a user`);
    if (target === 'pipeline') t.notRegex(user ?? '', /^(root|0)(:|$)/, 'the ECS pipeline task does not run as root');
    // SageMaker expects root and mounts /opt/ml over the image, hiding any chown for another user.
    else t.regex(user ?? '', /^(root|0)(:|$)/, `${target} runs as root, as SageMaker expects`);
    t.deepEqual(execForm(last(instructions, 'ENTRYPOINT')), ['node', 'dist/containers/cli.js'], target);
    t.deepEqual(execForm(last(instructions, 'CMD')), [commands[target]], target);
    const installs = instructions.filter((i) => i.getKeyword() === 'RUN' && /npm ci/.test(i.getArgumentsContent() ?? ''));
    t.true(installs.length === 1 && /--omit=dev/.test(installs[0]?.getArgumentsContent() ?? ''), `${target} installs production dependencies only`);
    const labels = instructions.filter((i) => i.getKeyword() === 'LABEL').map((i) => i.getArgumentsContent());
    const mme = labels.includes('com.amazonaws.sagemaker.capabilities.multi-models=true');
    t.is(mme, target === 'inference', `${target}: multi-model label`);
    if (target === 'inference') t.is(last(instructions, 'EXPOSE')?.getArgumentsContent(), '8080');
  }
});

/** Every file of the repository that Docker would send as build context, honouring .dockerignore. */
async function buildContext(): Promise<string[]> {
  const rules = (await readFile(path.join(repo, '.dockerignore'), 'utf8')).split('\n');
  const filter = ignore().add(rules);
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(path.join(repo, dir), { withFileTypes: true })) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // Docker still walks excluded folders for re-included files; none of ours hides any.
        if (entry.name === '.git' || entry.name === 'node_modules') continue;
        await walk(rel);
      } else if (entry.isFile() && !filter.ignores(rel)) {
        files.push(rel);
      }
    }
  };
  await walk('');
  return files;
}

/** The production dependency tree only, as `npm ci --omit=dev` would install it. */
async function productionNodeModules(target: string): Promise<void> {
  const { stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: repo, maxBuffer: 16 * 1024 * 1024 }).catch(
    (error: { stdout: string }) => error,
  );
  const root = path.join(repo, 'node_modules') + path.sep;
  const topLevel = new Set(
    stdout
      .split('\n')
      .filter((p) => p.startsWith(root))
      .map((p) => p.slice(root.length))
      .filter((p) => !p.includes(`${path.sep}node_modules${path.sep}`)),
  );
  for (const name of topLevel) {
    await mkdir(path.dirname(path.join(target, name)), { recursive: true });
    await symlink(path.join(root, name), path.join(target, name), 'dir');
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('the build steps compile on a copy of the build context and every target runs from dist/', async (t) => {
  t.timeout(240_000, 'a full tsc build; slow only on a crowded machine');
  const work = await mkdtemp(path.join(os.tmpdir(), 'dockerfile-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const context = path.join(work, 'context');
  for (const file of await buildContext()) await cp(path.join(repo, file), path.join(context, file));
  t.false(await readdir(path.join(context)).then((names) => names.includes('test') || names.includes('infra')), 'tests and infra stay out of the context');

  // Build stage: each COPY from the context into /app, dependencies reused, then its RUN tsc step.
  const build = stages.find((s) => s.name === 'build') as Stage;
  const app = path.join(work, 'build');
  await mkdir(app, { recursive: true });
  for (const copy of build.instructions.filter((i) => i.getKeyword() === 'COPY')) {
    const args = copy.getArguments().map((a) => a.getValue());
    const destination = path.join(app, args.at(-1) as string);
    for (const source of args.slice(0, -1)) {
      await cp(path.join(context, source), source.endsWith('/') ? destination : path.join(destination, path.basename(source)), { recursive: true });
    }
  }
  await symlink(path.join(repo, 'node_modules'), path.join(app, 'node_modules'), 'dir');
  const compile = build.instructions.find((i) => i.getKeyword() === 'RUN' && /\btsc\b/.test(i.getArgumentsContent() ?? ''));
  t.truthy(compile, 'the build stage compiles with tsc');
  await run('sh', ['-c', compile?.getArgumentsContent() ?? ''], { cwd: app, env: { ...process.env, PATH: `${path.join(app, 'node_modules', '.bin')}:${process.env.PATH}` } });

  // Runtime stage: dist/ from the build, production dependencies only.
  const image = path.join(work, 'image');
  await mkdir(path.join(image, 'node_modules'), { recursive: true });
  await cp(path.join(app, 'dist'), path.join(image, 'dist'), { recursive: true });
  await cp(path.join(context, 'package.json'), path.join(image, 'package.json'));
  await productionNodeModules(path.join(image, 'node_modules'));
  const command = (target: (typeof TARGETS)[number]) => {
    const instructions = effective(stages, target);
    return [...execForm(last(instructions, 'ENTRYPOINT')), ...execForm(last(instructions, 'CMD'))];
  };
  const exec = async (target: (typeof TARGETS)[number], base: string, extraEnv: Record<string, string> = {}) => {
    const [bin, ...args] = command(target);
    const env = { PATH: process.env.PATH ?? '', NODE_ENV: 'production', SAGEMAKER_BASE_DIR: base, ...extraEnv };
    return run(bin === 'node' ? process.execPath : (bin as string), args, { cwd: image, env }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
  };

  // processing: a raw drop in, one file per customer out.
  const processingBase = path.join(work, 'ml-processing');
  await mkdir(path.join(processingBase, 'processing', 'input', 'raw'), { recursive: true });
  await writeFile(
    path.join(processingBase, 'processing', 'input', 'raw', 'drop.csv'),
    'customer_id,timestamp,consumption\n2,2022-01-02,5\n1,2022-01-01,3\n2,2022-01-01,4\n',
  );
  const processed = await exec('processing', processingBase);
  t.is(processed.code, 0, processed.stderr);
  t.deepEqual((await readdir(path.join(processingBase, 'processing', 'output', 'customer-data'))).filter((n) => n.endsWith('.csv')).sort(), ['1.csv', '2.csv']);

  // training: SageMaker's `train` on a small shard.
  const trainingBase = path.join(work, 'ml-training');
  await writeTrainingChannel(trainingBase, { customers: 2, days: 60 }, { holdout_days: '7' });
  const trained = await exec('training', trainingBase);
  t.is(trained.code, 0, trained.stderr);
  t.deepEqual((await readdir(path.join(trainingBase, 'checkpoints'))).sort(), ['0.tar.gz', '1.tar.gz']);

  // inference: SageMaker's `serve`, answering /ping, then SIGTERM.
  const port = await freePort();
  const [bin, ...args] = command('inference');
  const server = spawn(bin === 'node' ? process.execPath : (bin as string), args, {
    cwd: image,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', SAGEMAKER_BASE_DIR: path.join(work, 'ml-inference'), SAGEMAKER_BIND_TO_PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let serverErr = '';
  server.stderr.on('data', (c: Buffer) => (serverErr += c.toString()));
  const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    server.kill('SIGKILL');
  });
  let ping: Response | undefined;
  for (let i = 0; i < 200 && !ping; i++) {
    ping = await fetch(`http://127.0.0.1:${port}/ping`).catch(() => undefined);
    if (!ping) await sleep(50);
  }
  t.is(ping?.status, 200, serverErr);
  server.kill('SIGTERM');
  t.is(await exited, 0, serverErr);

  // pipeline: loads every runtime module it needs and refuses to run without its configuration.
  const pipeline = await exec('pipeline', path.join(work, 'ml-pipeline'));
  t.is(pipeline.code, 2, pipeline.stderr);
  t.notRegex(pipeline.stderr, /ERR_MODULE_NOT_FOUND|Cannot find/);
});
