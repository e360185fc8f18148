/**
 * What every command-line tool of the project writes to and reads its settings from, so tests can
 * run a CLI's `main` in-process with their own environment and capture its output.
 */

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Where long work draws its progress bar; none when undefined. */
  readonly progress?: NodeJS.WritableStream & { isTTY?: boolean };
}

export const processIo: CliIo = {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  progress: process.stderr,
};

/** The SDK clients' region: the standard AWS variables, else us-east-1 (local mode ignores it). */
export function sdkClientConfig(env: NodeJS.ProcessEnv): { region: string } {
  return { region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1' };
}

/**
 * Parses a CLI's arguments with `parse`: the options, or the exit code once usage was printed
 * (0 for `--help`, 2 for bad usage, with the problem above the usage text on stderr).
 */
export function parseCliArgs<T>(name: string, usage: string, io: CliIo, parse: () => T | 'help'): T | 0 | 2 {
  let options: T | 'help';
  try {
    options = parse();
  } catch (error) {
    io.stderr(`${name}: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (options === 'help') {
    io.stdout(usage);
    return 0;
  }
  return options;
}
