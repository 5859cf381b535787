import type { Clock } from '../../src/clock.js';
import type { IdSource } from '../../src/ids.js';

export interface Page {
  readonly id: string;
  readonly title: string;
  readonly content: string;
  readonly createdAt: number;
}

/** Each provider account's own pages: what one account writes, only that account reads. */
export class PageStore {
  private readonly byAccount = new Map<string, Page[]>();

  constructor(
    private readonly ids: IdSource,
    private readonly clock: Clock,
  ) {}

  list(accountId: string): readonly Page[] {
    return [...(this.byAccount.get(accountId) ?? [])];
  }

  search(accountId: string, query: string): readonly Page[] {
    const needle = query.trim().toLowerCase();
    return this.list(accountId).filter(
      (p) =>
        needle === '' || p.title.toLowerCase().includes(needle) || p.content.toLowerCase().includes(needle),
    );
  }

  get(accountId: string, id: string): Page | undefined {
    return this.byAccount.get(accountId)?.find((p) => p.id === id);
  }

  create(accountId: string, title: string, content = ''): Page {
    const page: Page = { id: this.ids.next('page'), title, content, createdAt: this.clock.now() };
    const pages = this.byAccount.get(accountId) ?? [];
    pages.push(page);
    this.byAccount.set(accountId, pages);
    return page;
  }

  delete(accountId: string, id: string): boolean {
    const pages = this.byAccount.get(accountId);
    const index = pages?.findIndex((p) => p.id === id) ?? -1;
    if (!pages || index < 0) return false;
    pages.splice(index, 1);
    return true;
  }
}
