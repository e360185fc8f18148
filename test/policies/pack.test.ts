import { readFile } from 'node:fs/promises';
import test from 'ava';
import type { Policy, ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import * as ecr from '../../policies/ecr.js';
import * as ecs from '../../policies/ecs.js';
import * as iam from '../../policies/iam.js';
import * as logs from '../../policies/logs.js';
import { policies, policiesByService, policyPackName } from '../../policies/pack.js';
import * as s3 from '../../policies/s3.js';
import * as sagemaker from '../../policies/sagemaker.js';
import * as scheduler from '../../policies/scheduler.js';
import * as stack from '../../policies/stack.js';
import * as tags from '../../policies/tags.js';

const modules = { s3, ecr, iam, sagemaker, ecs, logs, scheduler, tags, stack };
const packDir = new URL('../../policies/', import.meta.url);

function isPolicy(value: unknown): value is Policy {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as Policy).name === 'string' && 'description' in value;
}

test('policy names are unique, lowercase and hyphenated, and none is the reserved "all"', (t) => {
  const names = policies.map((p) => p.name);
  t.is(new Set(names).size, names.length);
  for (const name of names) {
    t.regex(name, /^[a-z0-9]+(-[a-z0-9]+)+$/, name);
    t.not(name, 'all');
  }
  t.regex(policyPackName, /^[a-zA-Z0-9-_.]{1,100}$/);
});

test('every policy a service module exports is in the pack, under its service', (t) => {
  for (const [service, module] of Object.entries(modules)) {
    const exported = Object.values(module).filter(isPolicy);
    t.true(exported.length > 0, `${service} exports no policy`);
    const listed = policiesByService[service as keyof typeof policiesByService] as readonly Policy[];
    t.deepEqual(exported.map((p) => p.name).sort(), listed.map((p) => p.name).sort(), service);
    for (const policy of exported) t.true(policies.includes(policy), `${policy.name} is exported but not in the pack`);
  }
});

test('every policy says what it checks, how to fix it, how hard it is enforced, and validates something', (t) => {
  for (const policy of policies) {
    t.true(policy.description.length >= 40, `${policy.name}: description too short for a reviewer`);
    t.true((policy.remediationSteps ?? '').length >= 20, `${policy.name}: no remediation hint`);
    t.true(policy.enforcementLevel === 'mandatory' || policy.enforcementLevel === 'advisory', `${policy.name}: level`);
    t.truthy(policy.severity, `${policy.name}: severity`);
    const resource = (policy as ResourceValidationPolicy).validateResource;
    const stackLevel = (policy as StackValidationPolicy).validateStack;
    t.true(resource !== undefined || typeof stackLevel === 'function', `${policy.name}: validates nothing`);
  }
});

test('config schemas give every setting a default and leave enforcementLevel to the engine', (t) => {
  for (const policy of policies.filter((p) => p.configSchema)) {
    const properties = policy.configSchema!.properties;
    t.false('enforcementLevel' in properties, policy.name);
    t.false((policy.configSchema!.required ?? []).includes('enforcementLevel'), policy.name);
    for (const [key, schema] of Object.entries(properties)) {
      t.not((schema as { default?: unknown }).default, undefined, `${policy.name}.${key} has no default`);
      t.truthy((schema as { description?: string }).description, `${policy.name}.${key} has no description`);
    }
  }
});

test('the pack folder is a Pulumi policy pack: PulumiPolicy.yaml, a versioned package.json, index.ts only builds the pack', async (t) => {
  const manifest = await readFile(new URL('PulumiPolicy.yaml', packDir), 'utf8');
  t.regex(manifest, /^runtime: nodejs$/m);
  const pkg = JSON.parse(await readFile(new URL('package.json', packDir), 'utf8')) as {
    name?: string; version?: string; type?: string; main?: string; dependencies?: Record<string, string>;
  };
  t.truthy(pkg.name);
  t.regex(pkg.version ?? '', /^\d+\.\d+\.\d+/);
  t.is(pkg.type, 'module');
  for (const dependency of ['@pulumi/policy', '@pulumi/aws', '@pulumi/pulumi', 'tsx']) t.truthy(pkg.dependencies?.[dependency], dependency);
  const index = await readFile(new URL('index.ts', packDir), 'utf8');
  t.is(index.match(/new PolicyPack\(/g)?.length, 1);
  t.regex(index, /from '\.\/pack\.js'/);
  const entry = await readFile(new URL(pkg.main ?? 'index.js', packDir), 'utf8');
  t.regex(entry, /import\('\.\/index\.ts'\)/);
});
