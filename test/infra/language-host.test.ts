import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import test from 'ava';
import { parse as parseYaml } from 'yaml';
import { PROJECT_DIR, readStackConfig } from '../../infra/plan/plan-stack.js';
import { runProgramUnderEngine } from './engine-stand-in.js';

interface ProjectFile {
  name: string;
  main: string;
  runtime: { name: string; options: { typescript: boolean; nodeargs: string } };
}

test('Pulumi.yaml runtime options let Pulumi\'s own program runner load the ESM TypeScript program and declare the stack', async (t) => {
  const project = parseYaml(await readFile(path.join(PROJECT_DIR, 'Pulumi.yaml'), 'utf8')) as ProjectFile;
  t.is(project.runtime.name, 'nodejs');
  t.is(project.main, 'infra/');
  const run = await runProgramUnderEngine({
    projectDir: PROJECT_DIR,
    project: project.name,
    stack: 'dev',
    program: project.main,
    // The Node.js language host passes `nodeargs` to node and `typescript` as PULUMI_NODEJS_TYPESCRIPT.
    nodeArgs: project.runtime.options.nodeargs.split(/\s+/),
    typescript: project.runtime.options.typescript,
    config: await readStackConfig(project.name, 'dev'),
  });
  t.is(run.exitCode, 0, run.output);
  t.true(run.registered.some((urn) => urn.endsWith('::pulumi:pulumi:Stack::forecast-fleet-dev')));
  t.true(run.registered.some((urn) => urn.endsWith('$aws:sagemaker/endpoint:Endpoint::endpoint-endpoint')));
  t.true(run.registered.some((urn) => urn.endsWith('$aws:scheduler/schedule:Schedule::retraining-nightly')));
  t.is(run.registered.length, 71);
});
