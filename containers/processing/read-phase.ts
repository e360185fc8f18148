import path from 'node:path';
import { readCsvLines } from './csv-lines.js';
import { QuarantineWriter } from './quarantine.js';
import { DEFAULT_COLUMN_ORDER, RowValidator, headerColumnOrder } from './row.js';
import type { ColumnOrder, QuarantineReason } from './row.js';
import { PartitionSpill, packMeta } from './spill.js';

/**
 * Phase one for a block of consecutive input files: validate every row, quarantine bad ones into
 * this task's own quarantine part, append good ones to this task's spill partitions.
 */
export interface ReadTask {
  readonly inputDir: string;
  /** Every input file, relative to `inputDir`; a row's file index points into this list. */
  readonly files: readonly string[];
  /** The indexes of the files this task reads, in order. */
  readonly fileIndexes: readonly number[];
  readonly spillDir: string;
  readonly partitions: number;
  /** Names this task's spill files apart from other tasks'. */
  readonly spillTag: string;
  readonly quarantineFile: string;
}

export interface FileSummary {
  /** Relative to the input folder. */
  readonly file: string;
  readonly bytes: number;
  /** Data rows (the header and blank lines are not rows). */
  readonly rows: number;
  readonly quarantined: number;
  readonly header: boolean;
}

export interface ReadResult {
  readonly files: FileSummary[];
  readonly blankLines: number;
  readonly quarantined: Partial<Record<QuarantineReason, number>>;
}

const PROGRESS_ROWS = 65_536;

export async function readRawFiles(task: ReadTask, onRows: (rows: number) => void = () => {}): Promise<ReadResult> {
  const spill = new PartitionSpill(task.spillDir, task.partitions, task.spillTag);
  const quarantine = new QuarantineWriter(task.quarantineFile);
  const validator = new RowValidator();
  const files: FileSummary[] = [];
  let blankLines = 0;
  let unreported = 0;
  const counted = () => {
    if (++unreported === PROGRESS_ROWS) {
      onRows(unreported);
      unreported = 0;
    }
  };
  try {
    for (const fileIndex of task.fileIndexes) {
      const file = task.files[fileIndex]!;
      let order: ColumnOrder | undefined;
      let header = false;
      let rows = 0;
      const quarantinedBefore = quarantine.rowCount;
      const stats = await readCsvLines(path.join(task.inputDir, file), {
        row(fields, line, raw, offset, byteLength) {
          if (order === undefined) {
            const named = headerColumnOrder(fields);
            order = named ?? DEFAULT_COLUMN_ORDER;
            header = named !== undefined;
            if (header) return;
          }
          rows++;
          counted();
          const reason = validator.validate(fields, order);
          if (reason === undefined) {
            const { customerId, ms, consumption, dateOnly } = validator.row;
            spill.add(customerId, ms, consumption, line, offset, packMeta(fileIndex, byteLength, dateOnly));
          } else {
            quarantine.add(file, line, reason, raw);
          }
        },
        malformed(reason, line, raw) {
          order ??= DEFAULT_COLUMN_ORDER;
          rows++;
          counted();
          quarantine.add(file, line, reason, raw);
        },
      });
      blankLines += stats.blankLines;
      files.push({ file, bytes: stats.bytes, rows, quarantined: quarantine.rowCount - quarantinedBefore, header });
    }
    spill.flushAll();
    onRows(unreported);
  } finally {
    quarantine.close();
  }
  return { files, blankLines, quarantined: quarantine.counts };
}
