/**
 * The publishing rules: the quality gate's tolerances, the run-level stop rules and the warm switch
 * (DESIGN.md, "Publishing rule"). One definition of each setting (default, bounds, meaning) that
 * both the pipeline (from its environment, `PIPELINE_ENV`) and the Pulumi program (from stack config
 * keys of the same name) parse, so the two can never disagree on a default or a range.
 */

export interface PublishingRules {
  /** A challenger may be this much worse than the seasonal-naive baseline on its holdout (0.5 = 50 % worse). */
  readonly gateBaselineTolerance: number;
  /** A challenger may be this much worse than the champion's recorded holdout error (0.5 = 50 % worse). */
  readonly gateChampionTolerance: number;
  /** Error differences below this share of the holdout's mean level are ignored (noise-free series have near-zero errors). */
  readonly gateErrorFloor: number;
  /** The forecast must stay within the history's [min, max] widened by this many history ranges on each side. */
  readonly gateSanityBand: number;
  /** Days ahead the forecast is checked for sanity. */
  readonly gateHorizonDays: number;
  /** The run publishes nothing when more than this share of its customers is rejected or failed. */
  readonly maxRejectedFraction: number;
  /** The run stops before training when more than this share of the raw rows was quarantined. */
  readonly maxQuarantinedFraction: number;
  /** A customer served by a model trained more than this many days before the run is stale. */
  readonly maxModelAgeDays: number;
  /** The run fails (after publishing) when more than this share of the served customers is stale. */
  readonly maxStaleFraction: number;
  /** Accepted models loaded on the endpoint before the manifest flips (0 switches warming off). */
  readonly warmModels: number;
}

export type PublishingRuleKey = keyof PublishingRules;

interface RuleLimits {
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

/**
 * Defaults pass a normal night and reject a clearly worse model. Measured on 20 generated customers
 * (365 days, 2 % noise, 10 % weekly, default hyperparameters): from one night to the next (one more
 * day) the holdout MAE moved by up to ×1.75 (14-day holdouts are noisy), every model stayed under
 * the seasonal-naive MAE, and the night trained without yearly seasonality nor changepoints had
 * MAEs of 1.4–12 × the champion's. A night rejecting a fifth of its customers is a systemic problem.
 */
export const PUBLISHING_RULE_LIMITS: Readonly<Record<PublishingRuleKey, RuleLimits>> = {
  gateBaselineTolerance: { default: 0.5, min: 0, max: 100, integer: false },
  gateChampionTolerance: { default: 0.5, min: 0, max: 100, integer: false },
  gateErrorFloor: { default: 0.01, min: 0, max: 1, integer: false },
  gateSanityBand: { default: 1, min: 0, max: 1000, integer: false },
  gateHorizonDays: { default: 14, min: 1, max: 366, integer: true },
  maxRejectedFraction: { default: 0.2, min: 0, max: 1, integer: false },
  maxQuarantinedFraction: { default: 0.05, min: 0, max: 1, integer: false },
  maxModelAgeDays: { default: 7, min: 1, max: 3650, integer: true },
  maxStaleFraction: { default: 0.05, min: 0, max: 1, integer: false },
  // All customers of a fleet of up to 2,000: at 8 parallel loads that is a few minutes on an MME.
  warmModels: { default: 2000, min: 0, max: 1_000_000, integer: true },
};

export const PUBLISHING_RULE_KEYS = Object.keys(PUBLISHING_RULE_LIMITS) as PublishingRuleKey[];

export const DEFAULT_PUBLISHING_RULES: PublishingRules = Object.freeze(
  Object.fromEntries(PUBLISHING_RULE_KEYS.map((key) => [key, PUBLISHING_RULE_LIMITS[key].default])) as unknown as PublishingRules,
);

/**
 * Parses every rule from its text (`read` returns undefined when unset: the default applies); each
 * problem names the setting through `nameOf` (an environment variable or a stack config key).
 */
export function parsePublishingRules(
  read: (key: PublishingRuleKey) => string | undefined,
  nameOf: (key: PublishingRuleKey) => string,
  problems: string[],
): PublishingRules {
  const rules: Record<string, number> = {};
  for (const key of PUBLISHING_RULE_KEYS) {
    const limits = PUBLISHING_RULE_LIMITS[key];
    const text = read(key)?.trim();
    rules[key] = limits.default;
    if (text === undefined || text === '') continue;
    const value = (limits.integer ? /^\d+$/ : /^\d+(\.\d+)?([eE][-+]?\d+)?$/).test(text) ? Number(text) : Number.NaN;
    if (!Number.isFinite(value) || value < limits.min || value > limits.max) {
      const kind = limits.integer ? 'an integer' : 'a number';
      problems.push(`${nameOf(key)} is ${JSON.stringify(text)}; expected ${kind} from ${limits.min} to ${limits.max}`);
      continue;
    }
    rules[key] = value;
  }
  return Object.freeze(rules as unknown as PublishingRules);
}

/** The rules as the environment variables' text (the Pulumi program writes these). */
export function publishingRulesText(rules: PublishingRules): Record<PublishingRuleKey, string> {
  return Object.fromEntries(PUBLISHING_RULE_KEYS.map((key) => [key, String(rules[key])])) as Record<PublishingRuleKey, string>;
}
