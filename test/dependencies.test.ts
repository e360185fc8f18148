import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import semver from 'semver';

// What `npm ci` installs on a fresh clone (package-lock.json), held to what package.json promises.
interface LockedPackage {
  version?: string;
  engines?: { node?: string } | string[];
  hasInstallScript?: boolean;
}

const root = path.resolve(import.meta.dirname, '..');
const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string }; allowScripts?: Record<string, boolean> };
const locked = Object.entries((JSON.parse(await readFile(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockedPackage> }).packages);

const packageName = (where: string) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);

test('every locked package runs on the oldest Node that engines accepts: npm ci there warns of no engine and passes with engine-strict', (t) => {
  const oldest = semver.minVersion(manifest.engines.node)?.version ?? '';
  const refusing = locked.flatMap(([where, entry]) => {
    const wanted = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
    return wanted !== undefined && !semver.satisfies(oldest, wanted) ? [`${where}@${entry.version} wants node ${wanted}`] : [];
  });
  t.deepEqual(refusing, [], `engines.node "${manifest.engines.node}" accepts Node ${oldest}; pin or override these in package.json`);
});

test('every locked package with an install script was reviewed in allowScripts: npm names none as unreviewed, and npm 12, which skips them, runs these', (t) => {
  const unreviewed = locked.filter(([where, entry]) => entry.hasInstallScript === true && manifest.allowScripts?.[packageName(where)] === undefined);
  t.deepEqual(unreviewed.map(([where, entry]) => `${where}@${entry.version}`), [], 'review them with `npm install-scripts ls`, then approve or deny');
});
