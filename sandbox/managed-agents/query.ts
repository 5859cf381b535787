import { badRequest } from './errors.js';

/**
 * Typed access to a request's query string as the SDK encodes it: arrays as `key[]=a&key[]=b`,
 * booleans as `true`/`false`, bracketed keys such as `created_at[gte]` kept verbatim.
 */
export class Query {
  constructor(private readonly params: URLSearchParams) {}

  string(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  boolean(name: string): boolean | undefined {
    const raw = this.params.get(name);
    if (raw === null) return undefined;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    throw badRequest(`${name}: Input should be a valid boolean`);
  }

  integer(name: string, min: number, max: number): number | undefined {
    const raw = this.params.get(name);
    if (raw === null) return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw badRequest(`${name}: Input should be an integer between ${min} and ${max}`);
    }
    return value;
  }

  /** `name[]=a&name[]=b` (or repeated `name=`). */
  list(name: string): string[] {
    return [...this.params.getAll(`${name}[]`), ...this.params.getAll(name)];
  }

  order(defaultOrder: 'asc' | 'desc'): 'asc' | 'desc' {
    const raw = this.params.get('order');
    if (raw === null) return defaultOrder;
    if (raw === 'asc' || raw === 'desc') return raw;
    throw badRequest("order: Input should be 'asc' or 'desc'");
  }

  /** A timestamp filter such as `created_at[gte]`, as epoch milliseconds. */
  timestamp(name: string): number | undefined {
    const raw = this.params.get(name);
    if (raw === null) return undefined;
    const ms = Date.parse(raw);
    if (Number.isNaN(ms)) throw badRequest(`${name}: Input should be a valid RFC 3339 timestamp`);
    return ms;
  }
}

/** Applies `created_at[gt|gte|lt|lte]`-style filters of `query` to a timestamp. */
export function timeFilter(query: Query, field: string): (iso: string | null) => boolean {
  const gt = query.timestamp(`${field}[gt]`);
  const gte = query.timestamp(`${field}[gte]`);
  const lt = query.timestamp(`${field}[lt]`);
  const lte = query.timestamp(`${field}[lte]`);
  return (iso) => {
    if (gt === undefined && gte === undefined && lt === undefined && lte === undefined) return true;
    if (iso === null) return false;
    const ms = Date.parse(iso);
    return (
      (gt === undefined || ms > gt) &&
      (gte === undefined || ms >= gte) &&
      (lt === undefined || ms < lt) &&
      (lte === undefined || ms <= lte)
    );
  };
}
