import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { chromium } from 'playwright-core';
import { nightPageHtml } from '../../../runtime/report/night-page.js';
import { summarizeNight } from '../../../runtime/report/night-summary.js';
import { degradedNight, goodNight } from '../pipeline/report-fixtures.js';

/** Debian's `chromium` package (installed by .ci/run). */
const CHROMIUM = '/usr/bin/chromium';

/** Runs in the browser (the tests have no DOM types): the share of a PNG's pixels that are not near-white. */
const INKED_SHARE = `(async () => {
  const image = new Image();
  image.src = 'data:image/png;base64,BASE64';
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const { data } = context.getImageData(0, 0, image.width, image.height);
  let inked = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] < 240 || data[i + 1] < 240 || data[i + 2] < 240) inked += 1;
  return inked / (data.length / 4);
})()`;

test('the report page renders its charts in headless Chromium: a non-blank screenshot and no console errors', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium) to check the report page renders`);
    return;
  }
  const folder = await mkdtemp(path.join(os.tmpdir(), 'forecast-report-page-'));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  const file = path.join(folder, 'night.html');
  await writeFile(file, await nightPageHtml(summarizeNight(degradedNight(), goodNight())));

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  t.teardown(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    if (!request.url().startsWith('file:')) problems.push(`network request: ${request.url()}`);
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

  const charts = await page.$$eval('figure svg', (svgs) => svgs.map((svg) => svg.getBoundingClientRect()).map((r) => ({ width: r.width, height: r.height })));
  t.is(charts.length, 3);
  for (const chart of charts) t.true(chart.width > 200 && chart.height > 50, `a chart drawn at ${chart.width}×${chart.height}`);
  const marks = await page.$$eval('figure svg path, figure svg rect, figure svg line', (nodes) => nodes.length);
  t.true(marks > 20, `${marks} drawn marks`);

  const screenshot = await page.screenshot({ fullPage: true });
  await writeFile(path.join(folder, 'night.png'), screenshot);
  // Decode the screenshot in the browser and count the pixels that are not the page's white.
  const check = await context.newPage();
  const inked = (await check.evaluate(INKED_SHARE.replace('BASE64', screenshot.toString('base64')))) as number;
  t.true(inked > 0.02, `${(inked * 100).toFixed(1)}% of the screenshot is drawn`);
  t.deepEqual(problems, []);
});
