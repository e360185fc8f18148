import { pathToFileURL } from 'node:url';

/**
 * The one entrypoint of every image: `node dist/containers/cli.js <command> [args]`, and from
 * source `npm run container -- <command> [args]`. SageMaker starts training images with `train`
 * and inference images with `serve`; processing and the pipeline runner pass their command in
 * their ContainerEntrypoint / task command.
 */
export const CONTAINER_COMMANDS = {
  process: 'processing',
  train: 'training',
  serve: 'inference',
  pipeline: 'pipeline',
} as const;

export type ContainerCommand = keyof typeof CONTAINER_COMMANDS;

export const USAGE = `usage: container <${Object.keys(CONTAINER_COMMANDS).join('|')}> [args]
  process   processing job: raw CSVs -> one CSV per customer
  train     training job: one Prophet model per customer file -> checkpoints/<customerId>.tar.gz
  serve     multi-model inference server on port 8080 (SAGEMAKER_BIND_TO_PORT overrides)
  pipeline  the nightly pipeline run
Every /opt/ml path is taken relative to SAGEMAKER_BASE_DIR (default /opt/ml).`;

interface ContainerMain {
  main(args: readonly string[]): Promise<number>;
}

function isCommand(value: string | undefined): value is ContainerCommand {
  return value !== undefined && Object.hasOwn(CONTAINER_COMMANDS, value);
}

/** Runs a container command and resolves with its exit code. */
async function runContainer(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!isCommand(command)) {
    process.stderr.write(`${command === undefined ? 'missing command' : `unknown command ${JSON.stringify(command)}`}\n${USAGE}\n`);
    return 2;
  }
  const folder = CONTAINER_COMMANDS[command];
  // `.js` resolves to the compiled file in dist/ and, under tsx, to the `.ts` source.
  const module = (await import(`./${folder}/main.js`)) as ContainerMain;
  return module.main(args);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runContainer(process.argv.slice(2)).then(
    // Exit explicitly: a finished job must not linger on an idle socket or timer.
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
