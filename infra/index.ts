/**
 * The Pulumi program's entry point (`main: infra/` in Pulumi.yaml). It only turns the program's
 * outputs into stack outputs; everything is declared in program.ts and its components.
 */
import { forecastFleet } from './program.js';

const outputs = forecastFleet();

export const bucketName = outputs.bucketName;
export const endpointName = outputs.endpointName;
export const modelPrefix = outputs.modelPrefix;
export const manifestKey = outputs.manifestKey;
export const scheduleName = outputs.scheduleName;
export const processingImageUri = outputs.processingImageUri;
export const trainingImageUri = outputs.trainingImageUri;
export const inferenceImageUri = outputs.inferenceImageUri;
export const pipelineImageUri = outputs.pipelineImageUri;
export const alarmTopicArn = outputs.alarmTopicArn;
export const forecastCommand = outputs.forecastCommand;
