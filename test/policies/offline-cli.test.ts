import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

/** `npm run policy` as CI runs it: a child process, its output and its exit code. */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function policyCheck(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', 'policies/offline/cli.ts', ...args], { cwd: root, timeout: 100_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

async function tempFile(t: { teardown(fn: () => Promise<void>): void }, name: string, content: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'policy-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  await writeFile(file, content);
  return file;
}

test('the shipped dev stack passes with no mandatory violation', async (t) => {
  const run = await policyCheck(['--stack', 'dev']);
  t.is(run.code, 0, run.stdout + run.stderr);
  t.regex(run.stdout, /Policy check passed: no mandatory violation/);
});

test('a GPU endpoint instance type fails the check (in a preview) with the policy name', async (t) => {
  const run = await policyCheck(['--stack', 'dev', '--preview', '--set', 'forecast-fleet:endpointInstanceType=ml.g5.xlarge']);
  t.is(run.code, 1, run.stdout + run.stderr);
  t.regex(run.stdout, /mandatory\s+sagemaker-endpoint-instance-type-allowed/);
  t.regex(run.stdout, /found ml\.g5\.xlarge/);
  t.regex(run.stdout, /can't run policy '[a-z0-9-]+' from policy pack 'forecast-fleet@v[0-9.]+' during preview/);
});

test('a program variant whose bucket lacks its public access block fails the check', async (t) => {
  const run = await policyCheck(['--stack', 'dev', '--program', 'test/policies/variants/unblocked-bucket.ts']);
  t.is(run.code, 1, run.stdout + run.stderr);
  t.regex(run.stdout, /aws:s3\/bucket:Bucket {2}exports\n {2}mandatory {2}s3-bucket-public-access-blocked/);
  t.notRegex(run.stdout, /storage-bucket\n {2}mandatory {2}s3-bucket-public-access-blocked/);
});

test('a policy pack config sets levels and settings, like --policy-pack-config', async (t) => {
  const config = await tempFile(t, 'policy-config.json', JSON.stringify({
    all: 'advisory',
    'sagemaker-endpoint-instance-type-allowed': { enforcementLevel: 'mandatory', allowedInstanceTypes: ['ml.m5.*'] },
  }));
  const run = await policyCheck(['--stack', 'dev', '--config', config, '--json']);
  t.is(run.code, 1, run.stderr);
  const analysis = JSON.parse(run.stdout) as { diagnostics: Array<{ policyName: string; enforcementLevel: string }> };
  const levels = new Map(analysis.diagnostics.map((d) => [d.policyName, d.enforcementLevel]));
  t.is(levels.get('sagemaker-endpoint-instance-type-allowed'), 'mandatory');
  for (const [name, level] of levels) if (name !== 'sagemaker-endpoint-instance-type-allowed') t.is(level, 'advisory', name);
});

test('a bad policy pack config or missing stack is a usage error naming the problem', async (t) => {
  const config = await tempFile(t, 'bad.json', JSON.stringify({ 'cloudwatch-log-group-retention': { maximumRetentionDays: 'forever' } }));
  const [bad, missing] = await Promise.all([policyCheck(['--stack', 'dev', '--config', config]), policyCheck([])]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /cloudwatch-log-group-retention\.maximumRetentionDays: expected an integer, found "forever"/);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /\[--stack\] is required/);
});
