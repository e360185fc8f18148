import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { planStack, readStackConfig } from '../../infra/plan/plan-stack.js';
import { policies, policyPackName } from '../pack.js';
import { analyzeStackWithPack, type StackAnalysis } from './check.js';
import { stackFromPlan } from './from-plan.js';
import { resolvePolicies, type PolicyPackConfigFile } from './pack-config.js';
import { renderReport } from './report.js';

export interface PolicyCheckOptions {
  readonly stack: string;
  /** Stack config overrides on top of Pulumi.<stack>.yaml, namespaced keys. */
  readonly overrides?: Record<string, string>;
  readonly preview?: boolean;
  readonly packConfig?: PolicyPackConfigFile;
  /** A program to plan instead of infra/ (a variant). */
  readonly program?: () => unknown;
  readonly json?: boolean;
}

export interface PolicyCheckResult {
  readonly analysis: StackAnalysis;
  readonly output: string;
  /** 1 on any mandatory violation, as `pulumi preview` fails. */
  readonly exitCode: number;
}

async function packVersion(): Promise<string> {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'package.json');
  const pkg = JSON.parse(await readFile(file, 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

/** Plans the stack under mocks and runs the whole pack over it. One per process (see planStack). */
export async function runPolicyCheck(options: PolicyCheckOptions): Promise<PolicyCheckResult> {
  const overrides = options.overrides ?? {};
  const preview = options.preview ?? false;
  // A bad pack config fails before the program runs, as the CLI validates it before the preview.
  resolvePolicies(policies, 'advisory', options.packConfig);
  const started = performance.now();
  const plan = await planStack({ stack: options.stack, config: overrides, preview, ...(options.program ? { program: options.program } : {}) });
  const planned = performance.now();
  const stackConfig = { ...(await readStackConfig(plan.project, options.stack)), ...overrides };
  const pack = { name: policyPackName, version: await packVersion() };
  const analysis = await analyzeStackWithPack(policies, stackFromPlan(plan.resources, stackConfig), {
    pack,
    ...(options.packConfig ? { config: options.packConfig } : {}),
  });
  const seconds = { plan: (planned - started) / 1000, policies: (performance.now() - planned) / 1000 };
  const output = options.json
    ? JSON.stringify({ pack: policyPackName, project: plan.project, stack: plan.stack, preview, seconds, ...analysis }, null, 2)
    : renderReport(analysis, {
        packName: pack.name,
        packVersion: pack.version,
        project: plan.project,
        stack: plan.stack,
        preview,
        remediation: new Map(policies.flatMap((p) => (p.remediationSteps ? [[p.name, p.remediationSteps] as const] : []))),
      }, seconds);
  return { analysis, output, exitCode: analysis.mandatory > 0 ? 1 : 0 };
}
