import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { PROJECT_DIR } from '../../infra/plan/plan-stack.js';

const run = promisify(execFile);

async function plan(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'infra/plan/cli.ts', ...args], { cwd: PROJECT_DIR });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('npm run plan -- --stack dev prints every resource by component, counts by type and IAM grants per role', async (t) => {
  const { code, stdout } = await plan('--stack', 'dev');
  t.is(code, 0);
  t.regex(stdout, /^Stack forecast-fleet\/dev: 62 resources would be created/);
  t.regex(stdout, /\nendpoint \(forecast:infra:MultiModelEndpoint\)\n {2}\+ aws:sagemaker:Model {2}endpoint-model\n {6}mode: MultiModel\n {6}modelDataUrl: s3:\/\/forecast-fleet-dev-\d{26}\/models\//);
  t.regex(stdout, /expression: cron\(0 2 \* \* \? \*\)\n {6}timezone: Europe\/Berlin/);
  t.regex(stdout, /\n {2}aws:sagemaker:Endpoint +1\n/);
  t.regex(stdout, /\n {2}total +62\n/);
  t.regex(stdout, /roles-sagemaker \(sagemaker\.amazonaws\.com\): \d+ actions, no wildcard actions; Resource "\*" only in EcrAuthorizationTokenAwsRequiresStar/);
  t.regex(stdout, /roles-scheduler \(scheduler\.amazonaws\.com\): 4 actions, no wildcard actions\n/);
});

test('a bad override or a missing stack file fails with a message and exit code 1', async (t) => {
  const [bad, missing, usage] = await Promise.all([plan('--stack', 'dev', '--set', 'forecast-fleet:endpointInstanceCount=0'), plan('--stack', 'staging'), plan()]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /\[forecast-fleet:endpointInstanceCount\] is "0"; expected an integer from 1 to 100/);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /No stack file Pulumi\.staging\.yaml/);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /\[--stack\] is required/);
});
