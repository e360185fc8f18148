import path from 'node:path';
import { IMAGE_DEFAULT_ARGS, IMAGE_ENTRYPOINT, LOCAL_IMAGES, localImageTarget } from '../images.js';
import { compiledContainerArgs, sourceFolder } from './container-build.js';

/** The repository root, also when local mode runs from its compile: the containers run from its sources. */
export const REPO_ROOT = path.resolve(sourceFolder(import.meta.url), '..', '..', '..');

export interface ContainerCommand {
  command: string;
  args: string[];
  cwd: string;
}

/**
 * What `docker run [--entrypoint E] <image> [args]` runs, as a local process: the image's
 * `ENTRYPOINT node dist/containers/cli.js` becomes `node <build>/containers/cli.js`, compiled from
 * the current sources (container-build.js), with source maps so stack traces name the `.ts` lines.
 * Throws a message fit for a job's FailureReason when the image or entrypoint is not one local mode has.
 */
export function containerCommand(imageUri: string, o: { entrypoint?: readonly string[]; args?: readonly string[] } = {}): ContainerCommand {
  const target = localImageTarget(imageUri);
  if (!target) {
    throw new Error(
      `ClientError: image ${JSON.stringify(imageUri)} is not available in local mode; use one of ${Object.values(LOCAL_IMAGES).join(', ')}`,
    );
  }
  let cliArgs: string[];
  if (o.entrypoint && o.entrypoint.length > 0) {
    const [program, script, ...rest] = o.entrypoint;
    const isImageEntrypoint =
      (program === IMAGE_ENTRYPOINT[0] || program?.endsWith('/node')) && script !== undefined && script.replace(/^\/.*?\/(dist\/)/, '$1').endsWith(IMAGE_ENTRYPOINT[1]);
    if (!isImageEntrypoint) {
      throw new Error(
        `ClientError: local mode runs only the image's entrypoint "${IMAGE_ENTRYPOINT.join(' ')}"; ContainerEntrypoint was ${JSON.stringify(o.entrypoint)}`,
      );
    }
    cliArgs = [...rest, ...(o.args ?? [])];
  } else {
    cliArgs = o.args && o.args.length > 0 ? [...o.args] : [...IMAGE_DEFAULT_ARGS[target]];
  }
  return { command: process.execPath, args: [...compiledContainerArgs(REPO_ROOT), ...cliArgs], cwd: REPO_ROOT };
}
