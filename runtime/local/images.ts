/**
 * The image URIs local mode knows. On AWS the Pulumi program pushes ECR images; here each URI names
 * one target of `containers/Dockerfile`, whose entrypoint local mode runs as a Node process.
 */
export const LOCAL_IMAGES = {
  processing: 'forecast-fleet/processing:local',
  training: 'forecast-fleet/training:local',
  inference: 'forecast-fleet/inference:local',
  pipeline: 'forecast-fleet/pipeline:local',
} as const;

export type LocalImageTarget = keyof typeof LOCAL_IMAGES;

/** Each target's `CMD`: the argument `containers/cli.ts` dispatches on when the job gives none. */
export const IMAGE_DEFAULT_ARGS: Readonly<Record<LocalImageTarget, readonly string[]>> = {
  processing: ['process'],
  training: ['train'],
  inference: ['serve'],
  pipeline: ['pipeline'],
};

/** The Dockerfile's `ENTRYPOINT`, which local mode runs on its own compile of the sources (sagemaker/container-build.js). */
export const IMAGE_ENTRYPOINT = ['node', 'dist/containers/cli.js'] as const;

export function localImageTarget(imageUri: string): LocalImageTarget | undefined {
  return (Object.keys(LOCAL_IMAGES) as LocalImageTarget[]).find((target) => LOCAL_IMAGES[target] === imageUri);
}
