/** IAM-style wildcard (`*` any run, `?` one character), compiled once; IAM compares actions case-insensitively. */
export function wildcardRegExp(pattern: string, caseInsensitive = true): RegExp {
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, caseInsensitive ? 'i' : '');
}

/** Whether `value` matches the wildcard `pattern`. */
export function matchesWildcard(pattern: string, value: string, caseInsensitive = true): boolean {
  return wildcardRegExp(pattern, caseInsensitive).test(value);
}

/** Whether any of `patterns` matches `value`. */
export function matchesAnyWildcard(patterns: readonly string[], value: string, caseInsensitive = true): boolean {
  return patterns.some((p) => matchesWildcard(p, value, caseInsensitive));
}
