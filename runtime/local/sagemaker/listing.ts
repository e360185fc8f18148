import { RequestChecker } from './validation.js';
import { SAGEMAKER_NAME_MAX_LENGTH } from '../../config/sagemaker-limits.js';

export interface ListRequest {
  NameContains?: string;
  StatusEquals?: string;
  CreationTimeAfter?: number;
  CreationTimeBefore?: number;
  LastModifiedTimeAfter?: number;
  LastModifiedTimeBefore?: number;
  SortBy?: string;
  SortOrder?: string;
  MaxResults?: number;
  NextToken?: string;
}

interface Listable {
  name: string;
  status: string;
  creationTime: number;
  lastModifiedTime: number;
}

/**
 * One page of a List* operation with AWS's filters, sort (`Name`, `CreationTime`, `Status`;
 * default CreationTime, Ascending as documented) and paging by opaque NextToken.
 */
export function listPage<T>(items: readonly T[], view: (item: T) => Listable, request: ListRequest, statuses: readonly string[]): { page: T[]; nextToken?: string } {
  const check = new RequestChecker();
  check.string(request.NameContains, 'NameContains', { max: SAGEMAKER_NAME_MAX_LENGTH });
  check.string(request.StatusEquals, 'StatusEquals', { oneOf: statuses });
  check.string(request.SortBy, 'SortBy', { oneOf: ['Name', 'CreationTime', 'Status'] });
  check.string(request.SortOrder, 'SortOrder', { oneOf: ['Ascending', 'Descending'] });
  check.integer(request.MaxResults, 'MaxResults', { min: 1, max: 100 });
  const offset = request.NextToken === undefined ? 0 : Number.parseInt(Buffer.from(request.NextToken, 'base64url').toString('utf8'), 10);
  check.custom(Number.isInteger(offset) && offset >= 0, `Invalid pagination token: ${request.NextToken}`);
  check.throwIfAny();

  const needle = request.NameContains?.toLowerCase();
  const matching = items.filter((item) => {
    const v = view(item);
    return (
      (needle === undefined || v.name.toLowerCase().includes(needle)) &&
      (request.StatusEquals === undefined || v.status === request.StatusEquals) &&
      (request.CreationTimeAfter === undefined || v.creationTime > request.CreationTimeAfter) &&
      (request.CreationTimeBefore === undefined || v.creationTime < request.CreationTimeBefore) &&
      (request.LastModifiedTimeAfter === undefined || v.lastModifiedTime > request.LastModifiedTimeAfter) &&
      (request.LastModifiedTimeBefore === undefined || v.lastModifiedTime < request.LastModifiedTimeBefore)
    );
  });
  const sortBy = request.SortBy ?? 'CreationTime';
  const direction = (request.SortOrder ?? 'Ascending') === 'Ascending' ? 1 : -1;
  const key = (item: T): string | number => {
    const v = view(item);
    return sortBy === 'Name' ? v.name : sortBy === 'Status' ? v.status : v.creationTime;
  };
  const sorted = [...matching].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return (ka < kb ? -1 : ka > kb ? 1 : 0) * direction || view(a).name.localeCompare(view(b).name);
  });
  const max = request.MaxResults ?? 10;
  const page = sorted.slice(offset, offset + max);
  const next = offset + max;
  return next < sorted.length ? { page, nextToken: Buffer.from(String(next)).toString('base64url') } : { page };
}
