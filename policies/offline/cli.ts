import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { PolicyPackConfigFile } from './pack-config.js';

const USAGE = `Usage: npm run policy -- --stack NAME [options]

Runs the Pulumi program offline under mocks with Pulumi.<NAME>.yaml and passes every resource through
the policy pack in policies/ as pulumi preview --policy-pack policies would. Exits 1 on any mandatory
violation, 2 on a usage or configuration error. Needs no AWS account and no Pulumi CLI.

Options:
  --stack NAME        stack whose Pulumi.<NAME>.yaml to use (required)
  --config FILE       policy pack config, as for --policy-pack-config: {"all": "advisory",
                      "<policy>": "disabled" | {"enforcementLevel": ..., "<setting>": ...}}
  --set KEY=VALUE     override one stack config value (repeatable),
                      e.g. --set forecast-fleet:endpointInstanceType=ml.g5.xlarge
  --preview           analyze like a first pulumi preview: values AWS assigns are unknown, and
                      policies that read them report "can't run during preview" (advisory)
  --program MODULE    plan the program exported as \`program\` by MODULE instead of infra/ (a variant)
  --json              print the analysis as JSON instead of text
  -h, --help          this text`;

const EXIT_USAGE = 2;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`[--config] cannot read ${what} ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`[--config] ${file} is not JSON: ${(error as Error).message}`);
  }
}

async function loadPackConfig(file: string | undefined): Promise<PolicyPackConfigFile | undefined> {
  if (file === undefined) return undefined;
  const config = await readJson(file, 'policy pack config');
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new UsageError(`[--config] ${file} must hold a JSON object of policy names to levels or settings`);
  }
  return config as PolicyPackConfigFile;
}

async function loadProgram(module: string | undefined): Promise<(() => unknown) | undefined> {
  if (module === undefined) return undefined;
  const loaded = (await import(pathToFileURL(path.resolve(module)).href)) as { program?: unknown };
  if (typeof loaded.program !== 'function') throw new UsageError(`[--program] ${module} must export a function named program`);
  return loaded.program as () => unknown;
}

function parseOverrides(assignments: readonly string[]): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const assignment of assignments) {
    const at = assignment.indexOf('=');
    if (at <= 0) throw new UsageError(`[--set] expects KEY=VALUE, got "${assignment}"`);
    overrides[assignment.slice(0, at)] = assignment.slice(at + 1);
  }
  return overrides;
}

export async function main(args: readonly string[]): Promise<number> {
  let options;
  try {
    options = parseArgs({
      args: [...args],
      options: {
        stack: { type: 'string' },
        config: { type: 'string' },
        set: { type: 'string', multiple: true, default: [] },
        preview: { type: 'boolean', default: false },
        program: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  if (!options.stack) {
    console.error(`[--stack] is required: the name of a stack with a Pulumi.<stack>.yaml\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    const overrides = parseOverrides(options.set);
    const packConfig = await loadPackConfig(options.config);
    // Loaded only now: the program and the AWS SDK take seconds to load, usage errors should not.
    const { runPolicyCheck } = await import('./run-check.js');
    const program = await loadProgram(options.program);
    const result = await runPolicyCheck({
      stack: options.stack,
      overrides,
      preview: options.preview,
      json: options.json,
      ...(packConfig ? { packConfig } : {}),
      ...(program ? { program } : {}),
    });
    console.log(result.output);
    return result.exitCode;
  } catch (error) {
    if (error instanceof UsageError || (error instanceof Error && error.name === 'PolicyPackConfigError')) {
      console.error(error.message);
      return EXIT_USAGE;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
