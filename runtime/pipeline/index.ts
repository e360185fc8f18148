/**
 * The nightly pipeline's public surface: one run (`runPipeline`), its progress events, the manifest
 * the forecast client reads, and the run's report. Request builders, waiters and steps stay internal
 * to their modules and are imported directly by their tests.
 */
export { readPipelineConfig, PipelineConfigError, type PipelineConfig } from '../config/pipeline-config.js';
export {
  runPipeline,
  formatPipelineEvent,
  PipelineRunError,
  type PipelineDeps,
  type PipelineEvent,
  type PipelineResult,
  type RunPipelineOptions,
} from './run-pipeline.js';
export {
  CURRENT_MANIFEST_KEY,
  historyManifestKey,
  parseManifest,
  targetModelName,
  ManifestError,
  type Manifest,
  type ManifestEntry,
} from './manifest.js';
export type { RunReport, StepReport, PipelineStep } from './report.js';
export { deriveRunId } from './run-id.js';
