import { PIPELINE_CONFIG_DEFAULTS } from '../runtime/config/pipeline-config.js';
import { MODELS_PREFIX, REPORTS_PREFIX, RUNS_PREFIX } from '../runtime/pipeline/bucket-layout.js';
import { CURRENT_MANIFEST_KEY, MANIFEST_HISTORY_PREFIX } from '../runtime/pipeline/manifest.js';

/**
 * The key prefixes of the stack's bucket (DESIGN.md, "Bucket layout"), taken from the pipeline's own
 * modules where it defines them, so IAM grants and lifecycle rules follow the keys the pipeline writes.
 */
export const BUCKET_LAYOUT = Object.freeze({
  raw: PIPELINE_CONFIG_DEFAULTS.rawPrefix,
  runs: RUNS_PREFIX,
  models: MODELS_PREFIX,
  reports: REPORTS_PREFIX,
  manifests: 'manifests/',
  currentManifest: CURRENT_MANIFEST_KEY,
  manifestHistory: MANIFEST_HISTORY_PREFIX,
});
