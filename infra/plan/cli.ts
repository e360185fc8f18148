import { parseArgs } from 'node:util';
import { StackConfigError } from '../config.js';
import { planStack } from './plan-stack.js';
import { renderPlan } from './render.js';

const USAGE = `Usage: npm run plan -- --stack NAME [options]

Runs the Pulumi program offline under mocks, with Pulumi.<NAME>.yaml, and prints every resource it
would create with its key properties. Needs no AWS account and no Pulumi CLI.

Options:
  --stack NAME        stack whose Pulumi.<NAME>.yaml to use (required)
  --set KEY=VALUE     override one config value (repeatable), e.g. --set forecast-fleet:endpointInstanceCount=2
  --preview           plan like a first pulumi preview: values AWS assigns stay unknown
  --json              print the plan (resources with inputs, outputs, dependencies) as JSON
  -h, --help          this text`;

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      stack: { type: 'string' },
      set: { type: 'string', multiple: true },
      preview: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.stack === undefined || values.stack === '') {
    console.error(`[--stack] is required: the name of a stack with a Pulumi.<stack>.yaml\n\n${USAGE}`);
    return 2;
  }
  const config: Record<string, string> = {};
  for (const assignment of values.set ?? []) {
    const separator = assignment.indexOf('=');
    if (separator <= 0) {
      console.error(`[--set] expects KEY=VALUE, got "${assignment}"`);
      return 2;
    }
    config[assignment.slice(0, separator)] = assignment.slice(separator + 1);
  }
  const plan = await planStack({ stack: values.stack, config, preview: values.preview });
  console.log(values.json ? JSON.stringify(plan, null, 2) : renderPlan(plan));
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof StackConfigError || (error as Error).name === 'PlanError' || (error as Error).name === 'UnknownMockError') {
    console.error((error as Error).message);
  } else {
    console.error(error);
  }
  process.exitCode = 1;
}
