import { badRequest } from './errors.js';
import type { Query } from './query.js';

/** Anything listable carries a creation sequence number: stable, unique, monotonic. */
export interface Sequenced {
  readonly seq: number;
}

/** Page sizes of the resource lists (vaults, credentials, agents, environments, sessions). */
export const LIST_LIMITS = { defaultLimit: 20, maxLimit: 100 } as const;

export interface PageOptions {
  order: 'asc' | 'desc';
  defaultLimit: number;
  maxLimit: number;
  /** `GET /v1/sessions` is a BidirectionalPageCursor and also returns `prev_page`. */
  bidirectional?: boolean;
}

export interface PageBody<T> {
  data: T[];
  next_page: string | null;
  prev_page?: string | null;
}

interface Cursor {
  /** The seq of the item the page continues from (exclusive). */
  at: number;
  direction: 'next' | 'prev';
  order: 'asc' | 'desc';
}

const encodeCursor = (cursor: Cursor): string =>
  `page_${Buffer.from(JSON.stringify(cursor)).toString('base64url')}`;

function decodeCursor(page: string, order: 'asc' | 'desc'): Cursor {
  let cursor: Cursor;
  try {
    cursor = JSON.parse(Buffer.from(page.replace(/^page_/, ''), 'base64url').toString()) as Cursor;
  } catch {
    throw badRequest('page: Invalid page cursor');
  }
  if (typeof cursor?.at !== 'number' || (cursor.direction !== 'next' && cursor.direction !== 'prev')) {
    throw badRequest('page: Invalid page cursor');
  }
  // The cursor remembers the order it was made for; mixing orders would skip or repeat items.
  if (cursor.order !== order) throw badRequest('page: The page cursor was created with a different order');
  return cursor;
}

/**
 * Keyset pagination over `items` (any order on input) with opaque `page` cursors, as the API's
 * `{data, next_page[, prev_page]}` lists. Keyset rather than offsets, so items created between
 * two page requests neither repeat nor vanish.
 */
export function paginate<T extends Sequenced>(
  items: readonly T[],
  query: Query,
  options: PageOptions,
): PageBody<T> {
  const limit = query.integer('limit', 1, options.maxLimit) ?? options.defaultLimit;
  const page = query.string('page');
  const ordered = [...items].sort((a, b) => (options.order === 'asc' ? a.seq - b.seq : b.seq - a.seq));
  const before = (item: T, at: number): boolean => (options.order === 'asc' ? item.seq < at : item.seq > at);
  const after = (item: T, at: number): boolean => (options.order === 'asc' ? item.seq > at : item.seq < at);

  let data: T[];
  if (!page) {
    data = ordered.slice(0, limit);
  } else {
    const cursor = decodeCursor(page, options.order);
    if (cursor.direction === 'next') {
      data = ordered.filter((item) => after(item, cursor.at)).slice(0, limit);
    } else {
      const earlier = ordered.filter((item) => before(item, cursor.at));
      data = earlier.slice(Math.max(0, earlier.length - limit));
    }
  }

  const first = data[0];
  const last = data[data.length - 1];
  const hasAfter = last !== undefined && ordered.some((item) => after(item, last.seq));
  const hasBefore = first !== undefined && ordered.some((item) => before(item, first.seq));
  const body: PageBody<T> = {
    data,
    next_page:
      hasAfter && last ? encodeCursor({ at: last.seq, direction: 'next', order: options.order }) : null,
  };
  if (options.bidirectional) {
    body.prev_page =
      hasBefore && first ? encodeCursor({ at: first.seq, direction: 'prev', order: options.order }) : null;
  }
  return body;
}
