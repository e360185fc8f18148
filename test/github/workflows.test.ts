import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import test from 'ava';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';

/**
 * The review workflows as GitHub Actions reads them: each file checked by GitHub's own workflow parser
 * and schema (@actions/workflow-parser, the one behind the Actions language service), then what the
 * review promises: every `npm run X` exists, every stack is checked, the Node versions match the
 * project's.
 */

const repo = path.resolve(import.meta.dirname, '..', '..');
const workflowsDir = path.join(repo, '.github', 'workflows');
const workflowFiles = (await readdir(workflowsDir)).filter((name) => /\.ya?ml$/.test(name)).sort();
const packageJson = JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string>; engines: { node: string } };
const stacks = (await readdir(repo)).flatMap((name) => /^Pulumi\.(.+)\.yaml$/.exec(name)?.[1] ?? []).sort();

interface Step {
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
}
interface Job {
  readonly steps?: Step[];
  readonly strategy?: { matrix?: Record<string, unknown[]> };
  readonly if?: string;
}
interface Workflow {
  readonly on: Record<string, unknown>;
  readonly jobs: Record<string, Job>;
}

/** GitHub's parser's errors for one workflow file, as `file (line:col): message`. */
async function workflowErrors(name: string, content: string): Promise<string[]> {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  if (parsed.value !== undefined && parsed.context.errors.count === 0) {
    await convertWorkflowTemplate(parsed.context, parsed.value);
  }
  return parsed.context.errors.getErrors().map((error) => error.message);
}

async function readWorkflow(file: string): Promise<{ content: string; workflow: Workflow }> {
  const content = await readFile(path.join(workflowsDir, file), 'utf8');
  return { content, workflow: parseYaml(content) as Workflow };
}

test('there is a review workflow', (t) => {
  t.true(workflowFiles.length > 0, `.github/workflows holds no workflow`);
});

test('the workflow parser rejects what GitHub Actions rejects (so the check below can fail)', async (t) => {
  const errors = await workflowErrors('broken.yml', 'on: pull_request\njobs:\n  test:\n    runs-on: ubuntu-latest\n    stepz:\n      - run: npm test\n');
  t.true(errors.some((message) => /stepz/.test(message)), errors.join('\n'));
  const needs = await workflowErrors('needs.yml', 'on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: "true"\n  b:\n    needs: [a, missing]\n    runs-on: ubuntu-latest\n    steps:\n      - run: "true"\n');
  t.true(needs.some((message) => /missing/.test(message)), needs.join('\n'));
});

for (const file of workflowFiles) {
  test(`${file} is a valid GitHub Actions workflow`, async (t) => {
    const { content } = await readWorkflow(file);
    t.deepEqual(await workflowErrors(file, content), []);
  });

  test(`${file}: every npm run script it names exists in package.json`, async (t) => {
    const { workflow } = await readWorkflow(file);
    const runs = Object.values(workflow.jobs).flatMap((job) => (job.steps ?? []).flatMap((step) => (step.run ? [step.run] : [])));
    const scripts = runs.flatMap((run) => [...run.matchAll(/\bnpm run(?:-script)? ([\w:-]+)/g)].map((m) => m[1] as string));
    for (const script of scripts) t.truthy(packageJson.scripts[script], `npm run ${script}: no such script in package.json`);
  });
}

test('review.yml on pull requests: npm ci and npm test, the offline policy check and pulumi preview for every stack', async (t) => {
  const { workflow } = await readWorkflow('review.yml');
  t.true('pull_request' in workflow.on);
  const runs = (job: Job | undefined) => (job?.steps ?? []).flatMap((step) => (step.run ? [step.run.trim()] : []));
  t.deepEqual(runs(workflow.jobs.test), ['npm ci', 'npm test']);

  const policy = workflow.jobs.policy;
  t.deepEqual([...(policy?.strategy?.matrix?.stack ?? [])].sort(), stacks, 'the offline check covers every Pulumi.<stack>.yaml');
  t.true(runs(policy).includes('npm run policy -- --stack ${{ matrix.stack }}'));

  const preview = workflow.jobs.preview;
  t.deepEqual([...(preview?.strategy?.matrix?.stack ?? [])].sort(), stacks, 'pulumi preview covers every stack');
  t.regex(preview?.if ?? '', /needs\.credentials\.outputs\.configured == 'true'/, 'preview runs only where credentials are configured');
  const pulumi = preview?.steps?.find((step) => step.uses?.startsWith('pulumi/actions@'));
  t.is(pulumi?.with?.command, 'preview');
  t.is(pulumi?.with?.policyPacks, 'policies');
  t.is(pulumi?.with?.['comment-on-pr'], true);
});

test('review.yml tests on the oldest Node that engines accepts and on the images’ Node', async (t) => {
  const { workflow } = await readWorkflow('review.yml');
  const nodes = (workflow.jobs.test?.strategy?.matrix?.node ?? []).map(String);
  const dockerfile = await readFile(path.join(repo, 'containers', 'Dockerfile'), 'utf8');
  const imageNode = /^ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)-/m.exec(dockerfile)?.[1];
  t.truthy(imageNode, 'containers/Dockerfile names its Node image in ARG NODE_IMAGE');
  t.true(nodes.includes(imageNode ?? ''), `the test matrix ${nodes.join(', ')} includes the images' Node ${imageNode}`);
  t.true(nodes.includes(semver.minVersion(packageJson.engines.node)?.version ?? ''), `the test matrix includes engines' minimum ${packageJson.engines.node}`);
});
