/**
 * IAM policy documents as resources declare them: a JSON string or an object (`aws.iam.PolicyDocument`),
 * with single values or arrays. Normalised here so each IAM policy reads one shape.
 */
export interface IamStatement {
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
  readonly resources: readonly string[];
  readonly notResources: readonly string[];
  /** Principal type (`AWS`, `Service`, `Federated`, `CanonicalUser`, or `*` for `"Principal": "*"`) → values. */
  readonly principals: ReadonlyMap<string, readonly string[]>;
  /** Condition operator → condition key → values, as strings. */
  readonly conditions: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
}

export class PolicyDocumentError extends Error {
  override readonly name = 'PolicyDocumentError';
}

function asStrings(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const values = Array.isArray(value) ? value : [value];
  return values.map((v) => String(v));
}

function principalsOf(principal: unknown): Map<string, string[]> {
  const principals = new Map<string, string[]>();
  if (principal === undefined || principal === null) return principals;
  if (typeof principal === 'string') {
    principals.set('*', [principal]);
    return principals;
  }
  if (Array.isArray(principal)) {
    // aws.iam.PolicyDocument form: [{ type: "Service", identifiers: [...] }]
    for (const p of principal as Array<{ type?: unknown; identifiers?: unknown }>) {
      const type = String(p.type ?? '*');
      principals.set(type, [...(principals.get(type) ?? []), ...asStrings(p.identifiers)]);
    }
    return principals;
  }
  for (const [type, values] of Object.entries(principal as Record<string, unknown>)) {
    principals.set(type, asStrings(values));
  }
  return principals;
}

function conditionsOf(condition: unknown): Map<string, Map<string, string[]>> {
  const conditions = new Map<string, Map<string, string[]>>();
  if (condition === undefined || condition === null || typeof condition !== 'object') return conditions;
  for (const [operator, entries] of Object.entries(condition as Record<string, unknown>)) {
    const keys = new Map<string, string[]>();
    for (const [key, values] of Object.entries((entries ?? {}) as Record<string, unknown>)) {
      keys.set(key, asStrings(values));
    }
    conditions.set(operator, keys);
  }
  return conditions;
}

function statementOf(raw: Record<string, unknown>, index: number): IamStatement {
  const effect = raw['Effect'] ?? raw['effect'];
  if (effect !== 'Allow' && effect !== 'Deny') {
    throw new PolicyDocumentError(`statement ${index} has Effect ${JSON.stringify(effect)}; expected "Allow" or "Deny"`);
  }
  const sid = raw['Sid'] ?? raw['sid'];
  return {
    sid: sid === undefined ? undefined : String(sid),
    effect,
    actions: asStrings(raw['Action'] ?? raw['actions']),
    notActions: asStrings(raw['NotAction'] ?? raw['notActions']),
    resources: asStrings(raw['Resource'] ?? raw['resources']),
    notResources: asStrings(raw['NotResource'] ?? raw['notResources']),
    principals: principalsOf(raw['Principal'] ?? raw['principals']),
    conditions: conditionsOf(raw['Condition'] ?? raw['conditions']),
  };
}

/** The statements of a policy document given as JSON text or as an object. */
export function parsePolicyDocument(document: unknown): IamStatement[] {
  let parsed: unknown = document;
  if (typeof document === 'string') {
    try {
      parsed = JSON.parse(document);
    } catch (error) {
      throw new PolicyDocumentError(`policy document is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (parsed === null || typeof parsed !== 'object') {
    throw new PolicyDocumentError(`policy document is ${JSON.stringify(parsed)}; expected a JSON object with a Statement`);
  }
  const container = parsed as Record<string, unknown>;
  const statements = container['Statement'] ?? container['statements'];
  const list = Array.isArray(statements) ? statements : statements === undefined ? [] : [statements];
  return list.map((s, i) => statementOf(s as Record<string, unknown>, i));
}

/** A short label for messages: the statement's Sid or its position. */
export function statementLabel(statement: IamStatement, index: number): string {
  return statement.sid ? `statement "${statement.sid}"` : `statement ${index}`;
}
