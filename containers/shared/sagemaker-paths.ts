import path from 'node:path';

/**
 * SageMaker mounts everything a container reads and writes under `/opt/ml`. Local mode and tests
 * run the same entrypoints with `SAGEMAKER_BASE_DIR` pointing at a folder laid out the same way.
 */
export function sagemakerBaseDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.SAGEMAKER_BASE_DIR ?? '/opt/ml');
}

/** The paths of SageMaker's training, processing and inference contracts under one base folder. */
export function sagemakerPaths(base: string = sagemakerBaseDir()) {
  return {
    base,
    inputConfig: path.join(base, 'input', 'config'),
    hyperparameters: path.join(base, 'input', 'config', 'hyperparameters.json'),
    resourceConfig: path.join(base, 'input', 'config', 'resourceconfig.json'),
    inputDataConfig: path.join(base, 'input', 'config', 'inputdataconfig.json'),
    channel: (name: string) => path.join(base, 'input', 'data', name),
    model: path.join(base, 'model'),
    checkpoints: path.join(base, 'checkpoints'),
    output: path.join(base, 'output'),
    outputData: path.join(base, 'output', 'data'),
    /** Training: the first 1024 characters become the job's `FailureReason`. */
    failure: path.join(base, 'output', 'failure'),
    /** Processing: the first 1 KB becomes the job's `ExitMessage`. */
    message: path.join(base, 'output', 'message'),
    processingInput: path.join(base, 'processing', 'input'),
    processingOutput: path.join(base, 'processing', 'output'),
    processingConfig: path.join(base, 'config', 'processingjobconfig.json'),
    processingResourceConfig: path.join(base, 'config', 'resourceconfig.json'),
    /** Multi-model endpoints unpack each model to `/opt/ml/models/<model_name>/model`. */
    models: path.join(base, 'models'),
  } as const;
}

export type SagemakerPaths = ReturnType<typeof sagemakerPaths>;
