import test from 'ava';
import { jobName } from '../../runtime/pipeline/run-id.js';
import { MAX_JOB_NAME_PREFIX_LENGTH, stackNames } from '../../infra/naming.js';
import { subnetCidr } from '../../infra/components/network.js';
import { buildContext } from '../../infra/components/images.js';

test('names derive from project and stack, lowercase, with the job prefix the pipeline accepts', (t) => {
  const names = stackNames('forecast-fleet', 'Dev');
  t.is(names.base, 'forecast-fleet-dev');
  t.is(names.endpoint, 'forecast-fleet-dev');
  t.is(names.jobNamePrefix, 'forecast-fleet-dev');
  t.is(names.taskFamily, 'forecast-fleet-dev-pipeline');
  t.is(names.pipelineLogGroup, '/forecast-fleet/dev/pipeline');
  t.is(names.bucketPrefix, 'forecast-fleet-dev-');
  t.is(names.repository('inference'), 'forecast-fleet/dev/inference');
});

test('long or odd stack names stay within every limit, and two of them never collide', (t) => {
  const a = stackNames('forecast-fleet', 'customer_acceptance.eu-central-1.blue');
  const b = stackNames('forecast-fleet', 'customer_acceptance.eu-central-1.green');
  for (const names of [a, b]) {
    t.true(names.endpoint.length <= 63);
    t.regex(names.endpoint, /^[a-z0-9](-*[a-z0-9])*$/);
    t.true(names.jobNamePrefix.length <= MAX_JOB_NAME_PREFIX_LENGTH);
    t.true(jobName(names.jobNamePrefix, '20261126-0200', 'process', 99).length <= 63);
    t.true(names.bucketPrefix.length <= 37);
    t.true(names.schedule.length <= 64);
    t.true(names.deadLetterQueue.length <= 80);
  }
  t.not(a.jobNamePrefix, b.jobNamePrefix);
  t.not(a.endpoint, b.endpoint);
  t.not(a.bucketPrefix, b.bucketPrefix);
});

test('the two task subnets are the first two quarters of the VPC block', (t) => {
  t.is(subnetCidr('10.64.0.0/20', 0), '10.64.0.0/22');
  t.is(subnetCidr('10.64.0.0/20', 1), '10.64.4.0/22');
  t.is(subnetCidr('192.168.0.0/16', 1), '192.168.64.0/18');
});

test('the Docker build context is the repository root, relative to where Pulumi runs the program', (t) => {
  const root = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
  t.is(buildContext(root), '.');
  t.is(buildContext(`${root}/infra`), '..');
});
