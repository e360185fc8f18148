import test from 'ava';
import type { ExecutionContext } from 'ava';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { main } from '../../containers/processing/main.js';
import { ProcessingInputError, processRawData } from '../../containers/processing/process-raw-data.js';
import { CUSTOMER_FILE_HEADER, parseCustomerCsv, readCustomerFile } from '../../containers/processing/customer-file.js';
import { CUSTOMER_INDEX_FILE, parseCustomerIndex } from '../../containers/processing/customer-index.js';
import { parseTimestamp, formatTimestamp } from '../../containers/processing/timestamp.js';
import { writeDataset } from '../../runtime/dataset/generator.js';

const run = promisify(execFile);

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'processing-test-'));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await fs.writeFile(path.join(root, name), content);
  }
}

function layout(dir: string) {
  return {
    inputDir: path.join(dir, 'raw'),
    outputDir: path.join(dir, 'customer-data'),
    reportDir: path.join(dir, 'report'),
    scratchDir: dir,
  };
}

async function quarantineRows(reportDir: string): Promise<Array<{ file: string; line: string; reason: string; raw: string }>> {
  return parse(await fs.readFile(path.join(reportDir, 'quarantine.csv'), 'utf8'), { columns: true });
}

test('timestamps: dates and date-times with zones parse to UTC instants, impossible ones do not', (t) => {
  t.deepEqual(parseTimestamp('2022-01-31'), { ms: Date.UTC(2022, 0, 31), dateOnly: true });
  t.deepEqual(parseTimestamp('2022-01-31T05:06:07Z'), { ms: Date.UTC(2022, 0, 31, 5, 6, 7), dateOnly: false });
  t.deepEqual(parseTimestamp('2022-01-31 05:06'), { ms: Date.UTC(2022, 0, 31, 5, 6), dateOnly: false });
  t.deepEqual(parseTimestamp('2022-01-31T05:00:00+02:00'), { ms: Date.UTC(2022, 0, 31, 3), dateOnly: false });
  t.deepEqual(parseTimestamp('2022-01-31T05:00:00.250-0130'), { ms: Date.UTC(2022, 0, 31, 6, 30, 0, 250), dateOnly: false });
  for (const bad of ['2022-02-29', '2022-13-01', '2022-1-1', '2022-01-01T24:00', '01/02/2022', '', 'yesterday', '2022-01-01T10:00:00+25:00']) {
    t.is(parseTimestamp(bad), undefined, bad);
  }
  t.is(formatTimestamp(Date.UTC(2024, 1, 29), true), '2024-02-29');
  t.is(formatTimestamp(Date.UTC(2024, 1, 29, 1), false), '2024-02-29T01:00:00Z');
  t.is(formatTimestamp(Date.UTC(2024, 1, 29, 1, 0, 0, 5), false), '2024-02-29T01:00:00.005Z');
});

test('bad rows of every kind are quarantined with file, line and reason; good rows are written sorted', async (t) => {
  const dir = await tempDir(t);
  const paths = layout(dir);
  await writeFiles(paths.inputDir, {
    'a.csv': [
      'customer_id,timestamp,consumption',
      '1,2022-01-03,30.5',
      '1,2022-01-01,10',
      '2,2022-01-01,7',
      '1,2022-01-02',
      'x1,2022-01-02,5',
      '-3,2022-01-02,5',
      '1,2022-02-30,5',
      '1,2022-01-04,abc',
      '1,2022-01-05,',
      '1,2022-01-06,0x10',
      '1,2022-01-07,Infinity',
      '1,2022-01-08,1e999',
      '1,2022-01-09,NaN',
      '1,2022-01-10,-0.5',
      '1,2022-01-01,99',
      '',
      '2,"2022-01-02",8',
      '2,"2022-01-03,9',
      '2,2022-01-04,9,extra',
      `2,2022-01-05,${'9'.repeat(70_000)}`,
      '1,2022-01-02,20',
    ].join('\n'),
  });
  const summary = await processRawData({ ...paths, workers: 1 });

  t.deepEqual((await readCustomerFile(path.join(paths.outputDir, '1.csv'))).map((r) => [r.timestamp, r.consumption]), [
    ['2022-01-01', 10],
    ['2022-01-02', 20],
    ['2022-01-03', 30.5],
  ]);
  t.is(await fs.readFile(path.join(paths.outputDir, '2.csv'), 'utf8'), `${CUSTOMER_FILE_HEADER}\n2022-01-01,7\n2022-01-02,8\n`);
  t.deepEqual((await fs.readdir(paths.outputDir)).sort(), ['1.csv', '2.csv']);

  const quarantined = await quarantineRows(paths.reportDir);
  t.deepEqual(
    quarantined.map((row) => [row.file, row.line, row.reason]),
    [
      ['a.csv', '5', 'column_count'],
      ['a.csv', '6', 'customer_id'],
      ['a.csv', '7', 'customer_id'],
      ['a.csv', '8', 'timestamp'],
      ['a.csv', '9', 'consumption_not_a_number'],
      ['a.csv', '10', 'consumption_not_a_number'],
      ['a.csv', '11', 'consumption_not_a_number'],
      ['a.csv', '12', 'consumption_not_finite'],
      ['a.csv', '13', 'consumption_not_finite'],
      ['a.csv', '14', 'consumption_not_finite'],
      ['a.csv', '15', 'consumption_negative'],
      ['a.csv', '19', 'csv_syntax'],
      ['a.csv', '20', 'column_count'],
      ['a.csv', '21', 'row_too_long'],
      ['a.csv', '16', 'duplicate_timestamp'],
    ],
  );
  t.is(quarantined.find((row) => row.reason === 'duplicate_timestamp')!.raw, '1,2022-01-01,99');
  t.is(quarantined.find((row) => row.line === '6')!.raw, 'x1,2022-01-02,5');

  t.deepEqual(summary.rows, { read: 20, written: 5, quarantined: 15, corrected: 0, blankLines: 1 });
  t.is(summary.rows.read, summary.rows.written + summary.rows.quarantined);
  t.deepEqual(summary.quarantined, {
    column_count: 2,
    customer_id: 2,
    timestamp: 1,
    consumption_not_a_number: 3,
    consumption_not_finite: 3,
    consumption_negative: 1,
    csv_syntax: 1,
    row_too_long: 1,
    duplicate_timestamp: 1,
  });
  t.is(summary.customers, 2);
  t.deepEqual(summary.files, [{ file: 'a.csv', bytes: summary.files[0]!.bytes, rows: 20, quarantined: 15, header: true }]);
  const onDisk = JSON.parse(await fs.readFile(path.join(paths.reportDir, 'summary.json'), 'utf8')) as typeof summary;
  t.deepEqual(onDisk.rows, summary.rows);
});

test('unsorted rows spread over several files, folders, column orders and line endings come out sorted and complete', async (t) => {
  const dir = await tempDir(t);
  const paths = layout(dir);
  await writeFiles(paths.inputDir, {
    'day-3.csv': 'customer_id,timestamp,consumption\r\n5,2022-01-03,3\r\n7,2022-01-03T00:00:00Z,30\r\n',
    'nested/day-1.csv': '\uFEFFtimestamp,consumption,customer_id\n2022-01-01,1,5\n2022-01-01T00:00:00+01:00,10,7\n',
    'nested/deeper/day-2.CSV': '5,2022-01-02,2\n7,2022-01-01T12:00:00Z,20',
    'notes.txt': 'not a csv',
  });
  const summary = await processRawData(paths);
  t.is(await fs.readFile(path.join(paths.outputDir, '5.csv'), 'utf8'), `${CUSTOMER_FILE_HEADER}\n2022-01-01,1\n2022-01-02,2\n2022-01-03,3\n`);
  t.is(
    await fs.readFile(path.join(paths.outputDir, '7.csv'), 'utf8'),
    `${CUSTOMER_FILE_HEADER}\n2021-12-31T23:00:00Z,10\n2022-01-01T12:00:00Z,20\n2022-01-03T00:00:00Z,30\n`,
  );
  t.deepEqual(
    summary.files.map((file) => [file.file, file.rows, file.header]),
    [
      ['day-3.csv', 2, true],
      [path.join('nested', 'day-1.csv'), 2, true],
      [path.join('nested', 'deeper', 'day-2.CSV'), 2, false],
    ],
  );
  t.is(summary.rows.quarantined, 0);
  t.is(summary.firstTimestamp, '2021-12-31T23:00:00.000Z');
});

test('the generated data set round-trips through processing with many partitions, files unsorted, every row kept', async (t) => {
  const dir = await tempDir(t);
  const paths = layout(dir);
  await writeDataset(path.join(paths.inputDir, 'all.csv'), { customers: 300, days: 20, order: 'time', frequency: 'hourly' });
  // Reverse the data rows so every customer's rows arrive newest first.
  const [header, ...rows] = (await fs.readFile(path.join(paths.inputDir, 'all.csv'), 'utf8')).trimEnd().split('\n');
  await fs.writeFile(path.join(paths.inputDir, 'all.csv'), `${header}\n${rows.reverse().join('\n')}\n`);
  const summary = await processRawData({ ...paths, partitions: 7, workers: 3 });
  t.is(summary.workers, 3);
  t.is(summary.customers, 300);
  t.is(summary.rows.written, 300 * 20 * 24);
  t.deepEqual(summary.rowsPerCustomer, { min: 480, max: 480 });
  const files = await fs.readdir(paths.outputDir);
  t.is(files.length, 300);
  for (const customer of [0, 123, 299]) {
    const parsed = await readCustomerFile(path.join(paths.outputDir, `${customer}.csv`));
    t.is(parsed.length, 480);
    t.is(parsed[0]!.timestamp, '2022-01-01T00:00:00Z');
    t.is(parsed.at(-1)!.timestamp, '2022-01-20T23:00:00Z');
    const expected = rows.filter((row) => row.startsWith(`${customer},`)).reverse().map((row) => row.split(',').slice(1).join(','));
    t.deepEqual(parsed.map((row) => `${row.timestamp},${row.consumption}`), expected);
  }
});

test('thousands of customers under a 64-descriptor limit, through the container entrypoint', async (t) => {
  const dir = await tempDir(t);
  const base = path.join(dir, 'opt-ml');
  await writeDataset(path.join(base, 'processing', 'input', 'raw', 'drop.csv'), { customers: 3000, days: 5, order: 'time' });
  const script = `ulimit -n 64 && exec "${process.execPath}" --import=tsx containers/cli.ts process`;
  const { stderr } = await run('bash', ['-c', script], { env: { ...process.env, SAGEMAKER_BASE_DIR: base } });
  t.regex(stderr, /wrote 3000 customer files \(15000 rows\).*, peak RSS \d+ MB$/m);
  t.is((await fs.readdir(path.join(base, 'processing', 'output', 'customer-data'))).length, 3000);
  const summary = JSON.parse(await fs.readFile(path.join(base, 'processing', 'output', 'report', 'summary.json'), 'utf8'));
  t.is(summary.customers, 3000);
});

test('missing, empty and all-bad inputs fail with a clear message in output/message', async (t) => {
  const dir = await tempDir(t);
  const base = path.join(dir, 'opt-ml');
  const previous = process.env.SAGEMAKER_BASE_DIR;
  process.env.SAGEMAKER_BASE_DIR = base;
  t.teardown(() => {
    if (previous === undefined) delete process.env.SAGEMAKER_BASE_DIR;
    else process.env.SAGEMAKER_BASE_DIR = previous;
  });
  const messageFile = path.join(base, 'output', 'message');
  const raw = path.join(base, 'processing', 'input', 'raw');

  t.is(await main([]), 1);
  t.regex(await fs.readFile(messageFile, 'utf8'), /input folder .*processing\/input\/raw does not exist/);

  await fs.mkdir(raw, { recursive: true });
  await fs.writeFile(path.join(raw, 'readme.txt'), 'no csv here');
  t.is(await main([]), 1);
  t.regex(await fs.readFile(messageFile, 'utf8'), /no \.csv files under/);

  await fs.writeFile(path.join(raw, 'empty.csv'), '');
  t.is(await main([]), 1);
  t.regex(await fs.readFile(messageFile, 'utf8'), /hold no bytes/);

  await fs.writeFile(path.join(raw, 'empty.csv'), 'customer_id,timestamp,consumption\n\n');
  t.is(await main([]), 1);
  t.regex(await fs.readFile(messageFile, 'utf8'), /hold no data rows/);

  await fs.writeFile(path.join(raw, 'empty.csv'), 'customer_id,timestamp,consumption\n1,2022-01-01,-1\n');
  t.is(await main([]), 1);
  t.regex(await fs.readFile(messageFile, 'utf8'), /no valid rows: all 1 data rows .* were rejected; see .*quarantine\.csv/);
  t.is((await quarantineRows(path.join(base, 'processing', 'output', 'report'))).length, 1);

  t.is(await main(['--bogus']), 1);
  t.regex(await fs.readFile(messageFile, 'utf8'), /invalid arguments/);

  await t.throwsAsync(processRawData(layout(path.join(dir, 'nothing'))), { instanceOf: ProcessingInputError });
});

test('a rerun replaces the previous customer files, and --input/--output/--report are honoured', async (t) => {
  const dir = await tempDir(t);
  const paths = layout(dir);
  await writeFiles(paths.inputDir, { 'a.csv': '1,2022-01-01,1\n2,2022-01-01,2\n' });
  await writeFiles(paths.outputDir, { '9.csv': 'stale', 'keep.txt': 'not a customer file' });
  const code = await main(['--input', paths.inputDir, '--output', paths.outputDir, '--report', paths.reportDir, '--scratch', dir]);
  t.is(code, 0);
  t.deepEqual((await fs.readdir(paths.outputDir)).sort(), ['1.csv', '2.csv', 'keep.txt']);
  t.deepEqual((await fs.readdir(paths.reportDir)).sort(), ['customers.csv', 'quarantine.csv', 'summary.json']);
  t.deepEqual((await fs.readdir(dir)).sort(), ['customer-data', 'raw', 'report'], 'spill folder removed');
});

test('the customer file reader rejects what the format does not allow', (t) => {
  t.deepEqual(parseCustomerCsv('timestamp,consumption\n2022-01-01,1\n2022-01-02,2.5\n', 'x.csv').map((r) => r.consumption), [1, 2.5]);
  t.throws(() => parseCustomerCsv('2022-01-01,1\n', 'x.csv'), { message: /x\.csv: line 1 must be the header/ });
  t.throws(() => parseCustomerCsv('timestamp,consumption\n', 'x.csv'), { message: /no rows/ });
  t.throws(() => parseCustomerCsv('timestamp,consumption\n2022-01-02,1\n2022-01-01,1\n', 'x.csv'), { message: /line 3 must come strictly after/ });
  t.throws(() => parseCustomerCsv('timestamp,consumption\n2022-01-02,-1\n', 'x.csv'), { message: /line 2 must end with a non-negative number/ });
});

test('with a worker per file, a later object corrects an earlier one and a repeat inside one object is quarantined', async (t) => {
  const dir = await tempDir(t);
  const paths = layout(dir);
  await writeFiles(paths.inputDir, {
    'a.csv': '4,2022-01-02,1\n4,2022-01-01,1\n',
    'b.csv': '4,2022-01-02,2\n5,2022-01-01,2\n4,2022-01-02,9\n',
    'c.csv': '5,2022-01-01,3\n4,2022-01-03,3\n',
  });
  const summary = await processRawData({ ...paths, workers: 3, partitions: 3 });
  t.is(summary.workers, 3);
  t.is(await fs.readFile(path.join(paths.outputDir, '4.csv'), 'utf8'), `${CUSTOMER_FILE_HEADER}\n2022-01-01,1\n2022-01-02,2\n2022-01-03,3\n`);
  t.is(await fs.readFile(path.join(paths.outputDir, '5.csv'), 'utf8'), `${CUSTOMER_FILE_HEADER}\n2022-01-01,3\n`);
  t.deepEqual(
    (await quarantineRows(paths.reportDir)).map((row) => [row.file, row.line, row.reason, row.raw]),
    [['b.csv', '3', 'duplicate_timestamp', '4,2022-01-02,9']],
  );
  t.deepEqual(summary.files.map((file) => file.quarantined), [0, 1, 0]);
  t.deepEqual(summary.rows, { read: 7, written: 4, quarantined: 1, corrected: 2, blankLines: 0 });
});

test('drops named by arrival time are read in that order: the latest drop corrects, customers span drops, the index lists each file hash', async (t) => {
  const dir = await tempDir(t);
  const paths = layout(dir);
  await writeFiles(paths.inputDir, {
    '2026-11-28.csv': 'customer_id,timestamp,consumption\n1,2026-11-27,10\n2,2026-11-27,20\n',
    '2026-11-28T1430.csv': 'customer_id,timestamp,consumption\n1,2026-11-27,11\n1,2026-11-28,12\n',
    '2026-11-29.csv': 'customer_id,timestamp,consumption\n1,2026-11-27,13\n2,2026-11-28,21\n',
  });
  const summary = await processRawData({ ...paths, workers: 2, partitions: 2 });
  t.is(await fs.readFile(path.join(paths.outputDir, '1.csv'), 'utf8'), `${CUSTOMER_FILE_HEADER}\n2026-11-27,13\n2026-11-28,12\n`);
  t.is(await fs.readFile(path.join(paths.outputDir, '2.csv'), 'utf8'), `${CUSTOMER_FILE_HEADER}\n2026-11-27,20\n2026-11-28,21\n`);
  t.is(summary.rows.corrected, 2);
  const index = parseCustomerIndex(await fs.readFile(path.join(paths.reportDir, CUSTOMER_INDEX_FILE), 'utf8'), CUSTOMER_INDEX_FILE);
  t.deepEqual(
    index.map((entry) => [entry.customerId, entry.rows, new Date(entry.lastMs).toISOString()]),
    [
      [1, 2, '2026-11-28T00:00:00.000Z'],
      [2, 2, '2026-11-28T00:00:00.000Z'],
    ],
  );
  const bytes = await fs.readFile(path.join(paths.outputDir, '1.csv'));
  t.is(index[0]!.sha256, createHash('sha256').update(bytes).digest('hex'));
});
