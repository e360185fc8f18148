import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { parse as parseYaml } from 'yaml';
import { planMocks, PLAN_ACCOUNT_ID, type PlanAccount } from './mocks.js';

/** One resource as the engine would register it: inputs, outputs, parent, provider and dependencies. */
export interface PlannedResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  /** The id the provider assigned (empty for components, and in a preview). */
  id?: string;
  parent?: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  /** URNs of the resources this one depends on (`dependsOn` and every resource an input came from). */
  dependencies: string[];
  /** Per input property, the URNs of the resources its value came from. */
  propertyDependencies: Record<string, string[]>;
  /** Provider reference `<provider urn>::<provider id>` for custom resources with an explicit provider. */
  provider?: string;
}

export interface StackPlan {
  project: string;
  stack: string;
  resources: PlannedResource[];
  outputs: Record<string, unknown>;
}

export interface PlanStackOptions {
  stack: string;
  /** Overrides on top of `Pulumi.<stack>.yaml`, keys with their namespace, e.g. `forecast-fleet:endpointInstanceType`. */
  config?: Record<string, string>;
  /** The program to plan; by default the real one (infra/program.ts). */
  program?: () => unknown | Promise<unknown>;
  /** Plan like a first `pulumi preview`: outputs AWS assigns stay unknown (`UNKNOWN`). */
  preview?: boolean;
}

/** How an output that is not known yet (in a preview) appears in `inputs`/`outputs`: Pulumi's own sentinel. */
export const UNKNOWN: string = pulumi.runtime.unknownValue;

/** The repository root: Pulumi.yaml and the stack files live here. */
export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export class PlanError extends Error {
  override readonly name = 'PlanError';
  readonly code = 'E_PLAN';
}

let planned = false;

/**
 * Runs the Pulumi program offline, under mocks that answer like AWS would, with the stack's own
 * configuration, and records every resource the engine would be asked to create. No Pulumi CLI, no
 * provider plugins, no AWS account. Pulumi's runtime state is process-global, so one process can
 * plan one stack: a second call throws.
 */
export async function planStack(options: PlanStackOptions): Promise<StackPlan> {
  if (planned) throw new PlanError('planStack runs once per process (Pulumi keeps its runtime state in globals); plan another stack in a new process');
  planned = true;
  const preview = options.preview ?? false;
  const project = await readProjectName();
  const config = { ...(await readStackConfig(project, options.stack)), ...(options.config ?? {}) };
  const account: PlanAccount = { accountId: PLAN_ACCOUNT_ID, region: config['aws:region'] ?? 'us-east-1', partition: 'aws' };

  pulumi.runtime.setAllConfig(config);
  const unmocked: string[] = [];
  await pulumi.runtime.setMocks(planMocks(account, preview, (message) => unmocked.push(message)), project, options.stack, preview);
  const recorder = recordRegistrations();

  const program = options.program ?? (async () => (await import('../program.js')).forecastFleet());
  // A program error is rethrown after the stack has settled: thrown inside the stack, it would also
  // reject Pulumi's internal promises, which nobody awaits.
  let programError: { error: unknown } | undefined;
  await pulumi.runtime.runInPulumiStack(async () => {
    try {
      return await program();
    } catch (error) {
      programError = { error };
      return undefined;
    }
  });
  await waitForRegistrations();
  if (programError !== undefined) throw programError.error;
  const failures = [...unmocked, ...recorder.failures()];
  if (failures.length > 0) throw new PlanError(`The program could not be planned:\n${failures.map((failure) => `  - ${failure}`).join('\n')}`);
  const resources = recorder.resources();
  // The stack's outputs as the engine stores them: what the root stack resource registered.
  const stackResource = resources.find((resource) => resource.type === ROOT_STACK_TYPE);
  return { project, stack: options.stack, resources, outputs: stackResource?.outputs ?? {} };
}

export async function readProjectName(projectDir = PROJECT_DIR): Promise<string> {
  const file = path.join(projectDir, 'Pulumi.yaml');
  const project: unknown = parseYaml(await readFile(file, 'utf8'));
  const name = (project as { name?: unknown } | null)?.name;
  if (typeof name !== 'string' || name === '') throw new PlanError(`${file} has no project name; expected "name: <project>"`);
  return name;
}

/**
 * The stack's configuration as the Pulumi CLI hands it to a program: namespaced keys, string values,
 * objects and arrays as JSON text. Secrets (`secure:`) cannot be decrypted offline and are refused.
 */
export async function readStackConfig(project: string, stack: string, projectDir = PROJECT_DIR): Promise<Record<string, string>> {
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new PlanError(`No stack file ${path.basename(file)} in ${projectDir}; expected one per stack (e.g. Pulumi.dev.yaml)`);
    }
    throw error;
  }
  const document = (parseYaml(text) ?? {}) as { config?: unknown };
  const values = document.config ?? {};
  if (typeof values !== 'object' || values === null || Array.isArray(values)) throw new PlanError(`${file}: "config" must be a mapping of keys to values`);
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    const namespaced = key.includes(':') ? key : `${project}:${key}`;
    if (typeof value === 'object' && value !== null && 'secure' in value) {
      throw new PlanError(`${file}: ${namespaced} is a secret; the offline plan cannot decrypt it, override it with a plain value`);
    }
    config[namespaced] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return config;
}

interface RegisterResourceRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProvider(): string;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(fn: (value: { getUrnsList(): string[] }, key: string) => void): void };
}
interface RegisterResourceResponse {
  getUrn(): string;
  getId(): string;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
}
interface RegisterOutputsRequest {
  getUrn(): string;
  getOutputs(): { toJavaScript(): Record<string, unknown> } | undefined;
}
type Callback<T> = (error: Error | null, response?: T) => void;
interface InvokeRequest {
  getTok(): string;
}
interface MockMonitor {
  invoke(request: InvokeRequest, callback: Callback<unknown>): void;
  newUrn(parent: string, type: string, name: string): string;
  registerResource(request: RegisterResourceRequest, callback: Callback<RegisterResourceResponse>): void;
  registerResourceOutputs(request: RegisterOutputsRequest, callback: Callback<unknown>): void;
}

const ROOT_STACK_TYPE = 'pulumi:pulumi:Stack';

/**
 * `setMocks`'s `newResource` sees neither URNs nor dependencies, so the mock monitor itself is wrapped:
 * its register request carries parent, provider, dependencies and property dependencies, as the engine
 * receives them.
 */
function recordRegistrations(): { resources(): PlannedResource[]; failures(): string[] } {
  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitor;
  const recorded = new Map<string, PlannedResource>();
  // A failed registration or invoke may surface in the program only as an output that never
  // resolves; it is collected here so the plan fails loudly instead.
  const failures: string[] = [];

  // The engine leaves the root stack out of its children's URNs; the mock monitor does not.
  const newUrn = monitor.newUrn.bind(monitor);
  monitor.newUrn = (parent, type, name) => newUrn(parent !== '' && parentType(parent) === ROOT_STACK_TYPE ? '' : parent, type, name);

  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    registerResource(request, (error, response) => {
      if (error !== null) failures.push(`${request.getType()} "${request.getName()}": ${error.message}`);
      if (error === null && response !== undefined) {
        const propertyDependencies: Record<string, string[]> = {};
        request.getPropertydependenciesMap().forEach((value, key) => {
          propertyDependencies[key] = [...value.getUrnsList()];
        });
        const urn = response.getUrn();
        const resource: PlannedResource = {
          urn,
          type: request.getType(),
          name: request.getName(),
          custom: request.getCustom(),
          inputs: toPlain(request.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
          outputs: toPlain(response.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
          dependencies: [...new Set(request.getDependenciesList())],
          propertyDependencies,
        };
        if (response.getId() !== '') resource.id = response.getId();
        if (request.getParent() !== '') resource.parent = request.getParent();
        if (request.getProvider() !== '') resource.provider = request.getProvider();
        recorded.set(urn, resource);
      }
      callback(error, response);
    });
  };

  // Components report their outputs after construction (registerOutputs).
  const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (request, callback) => {
    const resource = recorded.get(request.getUrn());
    if (resource !== undefined) resource.outputs = toPlain(request.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>;
    registerResourceOutputs(request, callback);
  };

  const invoke = monitor.invoke.bind(monitor);
  monitor.invoke = (request, callback) => {
    invoke(request, (error, response) => {
      if (error !== null) failures.push(`invoke ${request.getTok()}: ${error.message}`);
      callback(error, response);
    });
  };

  return { resources: () => [...recorded.values()], failures: () => [...failures] };
}

function parentType(urn: string): string | undefined {
  return urn.split('::')[2]?.split('$').pop();
}

/** Waits until every registration the program started has been answered. */
async function waitForRegistrations(): Promise<void> {
  const { waitForRPCs } = pulumi.runtime as unknown as { waitForRPCs(): Promise<void> };
  await waitForRPCs();
}

const SECRET_SIGNATURE = '1b47061264138c4ac30d75fd1eb44270';
const RESOURCE_SIGNATURE = '5cf8f73096256a8f31e491e813e4eb8e';
const SIGNATURE_KEY = '4dabf18193072939515e22adb298388d';

/** Plain JSON values: secrets unwrapped, resource references as their URN, unknowns as `UNKNOWN`. */
function toPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  if (record[SIGNATURE_KEY] === SECRET_SIGNATURE) return toPlain(record['value']);
  if (record[SIGNATURE_KEY] === RESOURCE_SIGNATURE) return record['urn'];
  return Object.fromEntries(Object.entries(record).map(([key, entry]) => [key, toPlain(entry)]));
}
