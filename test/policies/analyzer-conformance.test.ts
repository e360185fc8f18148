import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type * as grpcTypes from '@grpc/grpc-js';
import type * as analyzerGrpc from '@pulumi/pulumi/proto/analyzer_grpc_pb.js';
import type * as analyzerPb from '@pulumi/pulumi/proto/analyzer_pb.js';
import type * as structPb from 'google-protobuf/google/protobuf/struct_pb.js';
import type * as emptyPb from 'google-protobuf/google/protobuf/empty_pb.js';
import { policies, policyPackName } from '../../policies/pack.js';
import { analyzeStackWithPack } from '../../policies/offline/check.js';
import type { AnalyzedResource, Diagnostic } from '../../policies/offline/engine.js';
import { resolvePolicies, type ResolvedPolicy } from '../../policies/offline/pack-config.js';
import { UNKNOWN_VALUE } from '../../policies/offline/policy-runtime.js';
import { caseConfig, failingCases, props } from './cases.js';
import { compliantStack } from './fixtures.js';

/**
 * The pack as `pulumi preview --policy-pack policies` runs it: Pulumi's own policy-pack runner
 * (@pulumi/pulumi/cmd/run-policy-pack, what the CLI's analyzer plugin starts) loads policies/
 * and serves the Analyzer gRPC API; this test is the engine's side of that API. The offline
 * evaluator must report exactly what the real analyzer reports, for every failing case.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const packDir = path.join(root, 'policies');
// The generated stubs and the protobuf runtime they were generated against, from Pulumi's own copy.
const pulumiRequire = createRequire(createRequire(import.meta.url).resolve('@pulumi/pulumi/proto/analyzer_pb.js'));
const grpc = pulumiRequire('@grpc/grpc-js') as typeof grpcTypes;
const rpc = pulumiRequire('./analyzer_grpc_pb.js') as typeof analyzerGrpc;
const pb = pulumiRequire('./analyzer_pb.js') as typeof analyzerPb;
const { Struct } = pulumiRequire('google-protobuf/google/protobuf/struct_pb.js') as typeof structPb;
const { Empty } = pulumiRequire('google-protobuf/google/protobuf/empty_pb.js') as typeof emptyPb;
const packVersion = (createRequire(import.meta.url)(path.join(packDir, 'package.json')) as { version: string }).version;

const LEVELS = { advisory: pb.EnforcementLevel.ADVISORY, mandatory: pb.EnforcementLevel.MANDATORY, disabled: pb.EnforcementLevel.DISABLED, remediate: pb.EnforcementLevel.REMEDIATE } as const;
const LEVEL_NAMES = new Map<number, string>(Object.entries(LEVELS).map(([name, level]) => [level, name]));

let runner: ChildProcess;
let client: analyzerGrpc.AnalyzerClient;

function call<Req, Res>(method: (request: Req, callback: (error: grpcTypes.ServiceError | null, response: Res) => void) => unknown, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

/** Starts the runner on the pack folder and resolves with the port it prints, as the CLI reads it. */
function startRunner(): Promise<number> {
  const entry = createRequire(import.meta.url).resolve('@pulumi/pulumi/cmd/run-policy-pack/index.js');
  runner = spawn(process.execPath, [entry, '127.0.0.1:0', '.'], { cwd: packDir, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    runner.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const port = /^(\d+)\s*$/m.exec(out)?.[1];
      if (port) resolve(Number(port));
    });
    runner.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    runner.on('exit', (code) => reject(new Error(`policy pack runner exited with ${code}: ${err}${out}`)));
  });
}

test.before(async () => {
  const port = await startRunner();
  client = new rpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

test.after.always(() => {
  client?.close();
  if (runner && runner.exitCode === null) runner.kill();
});

/** What the engine sends in Configure: every policy's level and settings, defaults filled in. */
async function configure(resolved: readonly ResolvedPolicy[]): Promise<void> {
  const request = new pb.ConfigureAnalyzerRequest();
  for (const r of resolved) {
    const config = new pb.PolicyConfig();
    config.setEnforcementlevel(LEVELS[r.enforcementLevel]);
    config.setProperties(Struct.fromJavaScript(r.config as Record<string, never>));
    request.getPolicyconfigMap().set(r.policy.name, config);
  }
  await call(client.configure, request);
}

/** What the engine would marshal: JSON values, keys with undefined values left out. */
function struct(props: Record<string, unknown>): structPb.Struct {
  return Struct.fromJavaScript(JSON.parse(JSON.stringify(props)) as Record<string, never>);
}

function options(resource: AnalyzedResource): analyzerPb.AnalyzerResourceOptions {
  const opts = new pb.AnalyzerResourceOptions();
  if (resource.parent) opts.setParent(resource.parent);
  return opts;
}

interface Seen {
  policyName: string;
  enforcementLevel: string;
  message: string;
  urn: string | undefined;
}

function seen(diagnostics: readonly analyzerPb.AnalyzeDiagnostic[], defaultUrn: string | undefined): Seen[] {
  return diagnostics.map((d) => ({
    policyName: d.getPolicyname(),
    enforcementLevel: LEVEL_NAMES.get(d.getEnforcementlevel()) ?? String(d.getEnforcementlevel()),
    message: d.getMessage(),
    urn: d.getUrn() || defaultUrn,
  }));
}

/** The real analyzer's diagnostics for a stack: Analyze per resource, then AnalyzeStack. */
async function analyzeWithServer(stack: readonly AnalyzedResource[]): Promise<Seen[]> {
  const all: Seen[] = [];
  for (const resource of stack) {
    const request = new pb.AnalyzeRequest();
    request.setType(resource.type);
    request.setName(resource.name);
    request.setUrn(resource.urn);
    request.setProperties(struct(resource.props));
    request.setOptions(options(resource));
    const response = await call<analyzerPb.AnalyzeRequest, analyzerPb.AnalyzeResponse>(client.analyze, request);
    all.push(...seen(response.getDiagnosticsList(), resource.urn));
  }
  const request = new pb.AnalyzeStackRequest();
  request.setResourcesList(stack.map((resource) => {
    const r = new pb.AnalyzerResource();
    r.setType(resource.type);
    r.setName(resource.name);
    r.setUrn(resource.urn);
    r.setProperties(struct(resource.props));
    r.setOptions(options(resource));
    if (resource.parent) r.setParent(resource.parent);
    r.setDependenciesList([...resource.dependencies]);
    for (const [property, urns] of Object.entries(resource.propertyDependencies)) {
      const dependencies = new pb.AnalyzerPropertyDependencies();
      dependencies.setUrnsList([...urns]);
      r.getPropertydependenciesMap().set(property, dependencies);
    }
    return r;
  }));
  const response = await call<analyzerPb.AnalyzeStackRequest, analyzerPb.AnalyzeResponse>(client.analyzeStack, request);
  all.push(...seen(response.getDiagnosticsList(), undefined));
  return all;
}

function offline(diagnostics: readonly Diagnostic[]): Seen[] {
  return diagnostics.map((d) => ({ policyName: d.policyName, enforcementLevel: d.enforcementLevel, message: d.message, urn: d.urn }));
}

const sorted = (list: Seen[]) => [...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

test.serial('the runner serves the pack: every policy with its enforcement level', async (t) => {
  const info = await call<emptyPb.Empty, analyzerPb.AnalyzerInfo>(client.getAnalyzerInfo, new Empty());
  t.is(info.getName(), policyPackName);
  t.is(info.getVersion(), packVersion);
  const served = info.getPoliciesList().map((p) => [p.getName(), LEVEL_NAMES.get(p.getEnforcementlevel())]);
  t.deepEqual(served, policies.map((p) => [p.name, p.enforcementLevel]));
});

test.serial('compliant stack: the real analyzer and the offline check both report nothing', async (t) => {
  await configure(resolvePolicies(policies, 'advisory'));
  t.deepEqual(await analyzeWithServer(compliantStack()), []);
});

test.serial('every failing case: the offline check reports exactly what the real analyzer reports', async (t) => {
  for (const c of failingCases) {
    const config = caseConfig[c.title];
    await configure(resolvePolicies(policies, 'advisory', config));
    const fresh = compliantStack();
    const stack = c.breakStack(fresh) ?? fresh;
    const server = await analyzeWithServer(stack);
    const mine = offline((await analyzeStackWithPack(policies, { inputs: stack, outputs: stack }, { pack: { name: policyPackName, version: packVersion }, ...(config ? { config } : {}) })).diagnostics);
    t.true(server.some((d) => d.policyName === c.policy), `${c.policy}: ${c.title}`);
    t.deepEqual(sorted(mine), sorted(server), `${c.policy}: ${c.title}`);
  }
});

test.serial('unknown values during preview: both report the same advisory "can\'t run"', async (t) => {
  await configure(resolvePolicies(policies, 'advisory'));
  const stack = compliantStack();
  props(stack, 'retraining-task')['containerDefinitions'] = UNKNOWN_VALUE;
  props(stack, 'storage-tls-only')['policy'] = UNKNOWN_VALUE;
  const server = await analyzeWithServer(stack);
  const mine = offline((await analyzeStackWithPack(policies, { inputs: stack, outputs: stack }, { pack: { name: policyPackName, version: packVersion } })).diagnostics);
  t.true(server.length >= 4);
  t.true(server.every((d) => d.enforcementLevel === 'advisory' && /can't run policy .* during preview/.test(d.message)));
  t.deepEqual(sorted(mine), sorted(server));
});
