/**
 * How input objects are spread over instances.
 *
 * FullyReplicated: every instance gets every object.
 * ShardedByS3Key: the keys, in S3's listing order (UTF-8 binary), are dealt round-robin, key i to
 * `hosts[i mod n]` (hosts sorted as in resourceconfig.json). Every object goes to exactly one
 * instance and instance counts differ by at most one. AWS documents "approximately 1/n of the number
 * of S3 objects" per instance but not its exact rule, so this deterministic rule is local mode's own.
 */
export type DistributionType = 'FullyReplicated' | 'ShardedByS3Key';

export function distributeKeys(keys: readonly string[], hosts: readonly string[], type: DistributionType): Map<string, string[]> {
  const shards = new Map<string, string[]>(hosts.map((host) => [host, []]));
  const ordered = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  ordered.forEach((key, index) => {
    if (type === 'FullyReplicated') for (const host of hosts) shards.get(host)?.push(key);
    else shards.get(hosts[index % hosts.length] ?? '')?.push(key);
  });
  return shards;
}

/**
 * Where an object lands under its channel or LocalPath: its key relative to the S3 prefix's last
 * folder (`s3://b/runs/1/customer-data/` + `runs/1/customer-data/42.csv` → `42.csv`), as SageMaker
 * lays out S3Prefix inputs.
 */
export function relativeKey(prefix: string, key: string): string {
  const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  return key.slice(folder.length);
}
