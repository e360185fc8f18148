import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { MetricsLogger } from 'aws-embedded-metrics';
import type { IEnvironment } from 'aws-embedded-metrics/lib/environment/IEnvironment.js';
import { MetricsContext } from 'aws-embedded-metrics/lib/logger/MetricsContext.js';
import { LogSerializer } from 'aws-embedded-metrics/lib/serializers/LogSerializer.js';
import type { ISink } from 'aws-embedded-metrics/lib/sinks/Sink.js';
import type { MetricRecord } from './run-metrics.js';

/**
 * Writes metric records in CloudWatch's embedded metric format, built and serialized by AWS's
 * `aws-embedded-metrics` library. On AWS the records go to stdout, which the task's awslogs driver
 * ships to CloudWatch Logs, where they become metrics; with a directory (local mode) they go to
 * `<directory>/<runId>.jsonl` instead, one record a line.
 *
 * The library's own environments are not used: on ECS it would send to a CloudWatch agent over TCP
 * and add its own default dimensions. This one environment keeps the dimensions ours and hands every
 * serialized record to us.
 */

export interface EmfSettings {
  readonly namespace: string;
  /** Absolute folder for `<runId>.jsonl`; stdout when undefined. */
  readonly directory: string | undefined;
}

export interface EmfWritten {
  readonly records: number;
  /** `stdout` or the file written. */
  readonly destination: string;
}

export async function writeEmfRecords(
  runId: string,
  timestamp: Date,
  records: readonly MetricRecord[],
  settings: EmfSettings,
  stdout: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<EmfWritten> {
  const lines = await serializeRecords(runId, timestamp, records, settings.namespace);
  if (settings.directory === undefined) {
    for (const line of lines) stdout(line);
    return { records: lines.length, destination: 'stdout' };
  }
  await mkdir(settings.directory, { recursive: true });
  const file = path.join(settings.directory, `${runId}.jsonl`);
  // Appended: a resumed run's second set of records stays beside the first, as in CloudWatch Logs.
  await appendFile(file, lines.map((line) => `${line}\n`).join(''));
  return { records: lines.length, destination: file };
}

/** Each record as the library serializes it (one JSON line each; it splits records past 100 metrics). */
async function serializeRecords(runId: string, timestamp: Date, records: readonly MetricRecord[], namespace: string): Promise<string[]> {
  const lines: string[] = [];
  const serializer = new LogSerializer();
  const sink: ISink = {
    name: 'LinesSink',
    accept: async (context) => {
      lines.push(...serializer.serialize(context));
    },
  };
  const environment: IEnvironment = {
    probe: async () => true,
    getName: () => 'forecast-pipeline',
    getType: () => 'AWS::ECS::Container',
    getLogGroupName: () => '',
    configureContext: () => {},
    getSink: () => sink,
  };
  const logger = new MetricsLogger(async () => environment, MetricsContext.empty());
  logger.setNamespace(namespace).setTimestamp(timestamp).setProperty('runId', runId);
  for (const record of records) {
    logger.setDimensions({ ...record.dimensions }, false);
    for (const metric of record.metrics) logger.putMetric(metric.name, metric.value, metric.unit);
    await logger.flush();
  }
  return lines;
}
