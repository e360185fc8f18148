import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { readModelArchive } from '../../containers/shared/model-artifact.js';
import { MODELS_PREFIX } from '../pipeline/bucket-layout.js';
import type { HistoryPoint } from './plot.js';

/**
 * The training history a served model was fitted on, read from its artifact in S3
 * (`models/<TargetModel>`): the same archive the endpoint loads, checked by the same reader.
 */
export async function readModelHistory(args: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly targetModel: string;
}): Promise<HistoryPoint[]> {
  const uri = `s3://${args.bucket}/${MODELS_PREFIX}${args.targetModel}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'forecast-history-'));
  try {
    const object = await args.s3.send(new GetObjectCommand({ Bucket: args.bucket, Key: `${MODELS_PREFIX}${args.targetModel}` }));
    const file = path.join(dir, path.basename(args.targetModel));
    await writeFile(file, (await object.Body?.transformToByteArray()) ?? new Uint8Array());
    const { history } = await readModelArchive(file);
    return history.ds.map((seconds, i) => ({
      date: isoTime(seconds),
      value: history.y[i] as number,
    }));
  } catch (error) {
    throw new ModelHistoryError(`cannot read the training history of model ${args.targetModel} from ${uri}: ${(error as Error).name}: ${(error as Error).message}`, { cause: error });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export class ModelHistoryError extends Error {
  override readonly name = 'ModelHistoryError';
}

// Daily histories plot as days; anything finer keeps its time of day.
function isoTime(seconds: number): string {
  const iso = new Date(seconds * 1000).toISOString();
  return seconds % 86_400 === 0 ? iso.slice(0, 10) : iso;
}
