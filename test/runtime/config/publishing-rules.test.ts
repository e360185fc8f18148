import test from 'ava';
import { PIPELINE_ENV } from '../../../runtime/config/pipeline-env.js';
import { readPipelineConfig } from '../../../runtime/config/pipeline-config.js';
import { DEFAULT_PUBLISHING_RULES, parsePublishingRules, publishingRulesText } from '../../../runtime/config/publishing-rules.js';

const minimal = {
  [PIPELINE_ENV.bucket]: 'forecast-local',
  [PIPELINE_ENV.sagemakerRoleArn]: 'arn:aws:iam::000000000000:role/forecast-sagemaker',
  [PIPELINE_ENV.processingImage]: 'forecast-processing:local',
  [PIPELINE_ENV.trainingImage]: 'forecast-training:local',
  [PIPELINE_ENV.endpointName]: 'forecast-local',
};

test('the pipeline reads every rule from its variable, with defaults', (t) => {
  t.deepEqual(readPipelineConfig(minimal).publishing, DEFAULT_PUBLISHING_RULES);
  const config = readPipelineConfig({
    ...minimal,
    [PIPELINE_ENV.gateChampionTolerance]: '0.5',
    [PIPELINE_ENV.maxRejectedFraction]: '1',
    [PIPELINE_ENV.warmModels]: '0',
    [PIPELINE_ENV.gateErrorFloor]: '1e-3',
  });
  t.like(config.publishing, { gateChampionTolerance: 0.5, maxRejectedFraction: 1, warmModels: 0, gateErrorFloor: 0.001, maxModelAgeDays: 7 });
});

test('bad values are reported with the variable, the value and the range, all together', (t) => {
  const error = t.throws(() =>
    readPipelineConfig({ ...minimal, [PIPELINE_ENV.maxRejectedFraction]: '1.5', [PIPELINE_ENV.maxModelAgeDays]: '2.5', [PIPELINE_ENV.gateSanityBand]: 'wide' }),
  );
  t.regex(error?.message ?? '', /FORECAST_MAX_REJECTED_FRACTION is "1\.5"; expected a number from 0 to 1/);
  t.regex(error?.message ?? '', /FORECAST_MAX_MODEL_AGE_DAYS is "2\.5"; expected an integer from 1 to 3650/);
  t.regex(error?.message ?? '', /FORECAST_GATE_SANITY_BAND is "wide"; expected a number from 0 to 1000/);
});

test('the text the Pulumi program writes parses back to the same rules', (t) => {
  const rules = { ...DEFAULT_PUBLISHING_RULES, gateBaselineTolerance: 0.3, warmModels: 500 };
  const text = publishingRulesText(rules);
  const problems: string[] = [];
  t.deepEqual(parsePublishingRules((key) => text[key], (key) => key, problems), rules);
  t.deepEqual(problems, []);
});
