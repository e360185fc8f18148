import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { datasetChunks } from '../../runtime/dataset/generator.js';
import type { DatasetOptions } from '../../runtime/dataset/generator.js';

/**
 * Lays out a SageMaker training folder: the seed's data set (A's generator) split into one
 * `<customerId>.csv` (`timestamp,consumption`) per customer in the `train` channel, as the
 * processing job writes it, plus optional hyperparameters.
 */
export async function writeTrainingChannel(
  base: string,
  dataset: Partial<DatasetOptions>,
  hyperparameters?: Record<string, string>,
): Promise<string[]> {
  const channel = path.join(base, 'input', 'data', 'train');
  await mkdir(channel, { recursive: true });
  const rows = new Map<string, string[]>();
  for (const chunk of datasetChunks({ ...dataset, order: 'customer' })) {
    for (const line of chunk.split('\n')) {
      if (line === '' || line.startsWith('customer_id')) continue;
      const comma = line.indexOf(',');
      const id = line.slice(0, comma);
      let list = rows.get(id);
      if (!list) rows.set(id, (list = []));
      list.push(line.slice(comma + 1));
    }
  }
  await Promise.all(
    [...rows].map(([id, lines]) => writeFile(path.join(channel, `${id}.csv`), `timestamp,consumption\n${lines.join('\n')}\n`)),
  );
  if (hyperparameters) {
    await mkdir(path.join(base, 'input', 'config'), { recursive: true });
    await writeFile(path.join(base, 'input', 'config', 'hyperparameters.json'), JSON.stringify(hyperparameters));
  }
  return [...rows.keys()];
}
