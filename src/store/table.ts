import {
  BatchGetCommand,
  DeleteCommand,
  type DeleteCommandInput,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import { applied, type DynamoHandle } from './dynamo.js';
import type { Key } from './keys.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/** The attributes that locate an item rather than describe it: never part of a record. */
const KEY_ATTRIBUTES = [
  'pk',
  'sk',
  'gsi1pk',
  'gsi1sk',
  'gsi2pk',
  'gsi2sk',
  'gsi3pk',
  'gsi3sk',
  'gsi4pk',
  'gsi4sk',
  EXPIRY_ATTRIBUTE,
] as const;

/** The item without the attributes that only locate it: what a record is made of. */
function withoutKeys(item: Record<string, unknown>): Record<string, unknown> {
  const record: Record<string, unknown> = { ...item };
  for (const attribute of KEY_ATTRIBUTES) delete record[attribute];
  return record;
}

/** A stored item that does not parse as its kind: corrupt or tampered, and never used as if it did. */
export class StoredRecordInvalid extends Error {
  constructor(readonly kind: string) {
    super(`a stored ${kind} record does not have the shape Deputy writes`);
    this.name = 'StoredRecordInvalid';
  }
}

/** One kind of record: its name (for errors) and the schema every read is parsed with. */
export interface RecordKind<S extends z.ZodType> {
  readonly name: string;
  readonly schema: S;
}

export function recordKind<S extends z.ZodType>(name: string, schema: S): RecordKind<S> {
  return { name, schema };
}

/** A record from a raw item: key attributes dropped, the rest parsed by the kind's schema. */
export function fromItem<S extends z.ZodType>(
  kind: RecordKind<S>,
  item: Record<string, unknown>,
): z.infer<S> {
  const parsed = kind.schema.safeParse(withoutKeys(item));
  if (!parsed.success) throw new StoredRecordInvalid(kind.name);
  return parsed.data;
}

export interface PartitionQuery {
  /** The index to query; the table's own key when absent. */
  index?: 'gsi1' | 'gsi2' | 'gsi3' | 'gsi4';
  partition: string;
  /** Only sort keys that start with this. */
  sortPrefix?: string;
  /** Only sort keys that sort before this (not with `sortPrefix`). */
  sortBelow?: string;
  /** Only sort keys from the first to the second, both included (alone). */
  sortBetween?: [string, string];
  newestFirst?: boolean;
  limit?: number;
  /** Every page, not only the first (for indexes that may hold more than a page). */
  allPages?: boolean;
}

type Condition = Pick<
  PutCommandInput,
  'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
>;
type Update = Pick<
  UpdateCommandInput,
  'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
>;

/**
 * Whether DynamoDB would take this key (a partition key of at most 2,048 bytes, a sort key of at most
 * 1,024). A lookup by a key it would refuse, built from a name or id someone sent, finds nothing: no
 * record can be stored under it.
 */
function storable(key: Key): boolean {
  return Buffer.byteLength(key.pk) <= 2048 && Buffer.byteLength(key.sk) <= 1024;
}

/** BatchGetItem's limit on keys per request. */
const BATCH_GET_MAX = 100;

/** An item's key as one string, to match what a batch read returned to the keys asked for. */
function itemId(key: { pk?: unknown; sk?: unknown }): string {
  return `${String(key.pk)}\u0000${String(key.sk)}`;
}

/**
 * One DynamoDB table as the store's modules use it: single-item operations, batch reads and key
 * queries only (so the same code runs on AWS, DynamoDB Local and dynalite), every read parsed as its
 * record kind. Reads are strongly consistent except on indexes, where DynamoDB offers none.
 */
export class Table {
  constructor(
    private readonly dynamo: DynamoHandle,
    readonly name: string,
  ) {}

  async get<S extends z.ZodType>(kind: RecordKind<S>, key: Key): Promise<z.infer<S> | undefined> {
    if (!storable(key)) return undefined;
    const { Item } = await this.dynamo.doc.send(
      new GetCommand({ TableName: this.name, Key: key, ConsistentRead: true }),
    );
    return Item ? fromItem(kind, Item) : undefined;
  }

  async query<S extends z.ZodType>(kind: RecordKind<S>, query: PartitionQuery): Promise<z.infer<S>[]> {
    const items = await this.queryItems(query);
    return items.map((item) => fromItem(kind, item));
  }

  /** Raw items of a partition, for the index items that are not records (a session's thread, an active mark). */
  async queryItems(query: PartitionQuery): Promise<Record<string, unknown>[]> {
    const pk = query.index ? `${query.index}pk` : 'pk';
    const sk = query.index ? `${query.index}sk` : 'sk';
    const sortCondition = query.sortPrefix
      ? ' AND begins_with(#sk, :sort)'
      : query.sortBelow !== undefined
        ? ' AND #sk < :sort'
        : query.sortBetween
          ? ' AND #sk BETWEEN :sort AND :sortTo'
          : '';
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.dynamo.doc.send(
        new QueryCommand({
          TableName: this.name,
          ...(query.index ? { IndexName: query.index } : { ConsistentRead: true }),
          KeyConditionExpression: `#pk = :partition${sortCondition}`,
          ExpressionAttributeNames: { '#pk': pk, ...(sortCondition ? { '#sk': sk } : {}) },
          ExpressionAttributeValues: {
            ':partition': query.partition,
            ...(sortCondition
              ? { ':sort': query.sortPrefix ?? query.sortBelow ?? query.sortBetween?.[0] }
              : {}),
            ...(query.sortBetween ? { ':sortTo': query.sortBetween[1] } : {}),
          },
          ...(query.newestFirst ? { ScanIndexForward: false } : {}),
          ...(query.limit ? { Limit: query.limit } : {}),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      start = query.allPages ? page.LastEvaluatedKey : undefined;
    } while (start);
    return items;
  }

  /**
   * Several records in one round trip (BatchGetItem, strongly consistent), each parsed as its kind;
   * undefined where there is none.
   */
  async getMany<S extends z.ZodType[]>(
    reads: { [I in keyof S]: { kind: RecordKind<S[I]>; key: Key } },
  ): Promise<{ [I in keyof S]: z.infer<S[I]> | undefined }> {
    const found = await this.batchRead(reads.map((r) => r.key));
    return reads.map(({ kind, key }) => {
      const item = found.get(itemId(key));
      return item ? fromItem(kind, item) : undefined;
    }) as { [I in keyof S]: z.infer<S[I]> | undefined };
  }

  /** Records of one kind at `keys`, in order (undefined where there is none), 100 keys a round trip. */
  async getAll<S extends z.ZodType>(
    kind: RecordKind<S>,
    keys: Key[],
  ): Promise<Array<z.infer<S> | undefined>> {
    const found = await this.batchRead(keys);
    return keys.map((key) => {
      const item = found.get(itemId(key));
      return item ? fromItem(kind, item) : undefined;
    });
  }

  /**
   * Raw items at `keys` by itemId, read with BatchGetItem (strongly consistent) in batches of its
   * 100-key limit, one after another; keys DynamoDB leaves unprocessed are asked for again.
   */
  private async batchRead(keys: Key[]): Promise<Map<string, Record<string, unknown>>> {
    const found = new Map<string, Record<string, unknown>>();
    const storableKeys = keys.filter(storable);
    for (let from = 0; from < storableKeys.length; from += BATCH_GET_MAX) {
      let pending = storableKeys.slice(from, from + BATCH_GET_MAX);
      for (let attempt = 0; pending.length > 0; attempt += 1) {
        if (attempt > 5) throw new Error('DynamoDB left keys of a batch read unprocessed');
        const answer = await this.dynamo.doc.send(
          new BatchGetCommand({
            RequestItems: {
              [this.name]: { Keys: pending.map(({ pk, sk }) => ({ pk, sk })), ConsistentRead: true },
            },
          }),
        );
        for (const item of answer.Responses?.[this.name] ?? []) found.set(itemId(item), item);
        pending = (answer.UnprocessedKeys?.[this.name]?.Keys ?? []) as Key[];
      }
    }
    return found;
  }

  /**
   * Every item of the table, page by page, without the attributes that only locate it. For offline
   * tools that read a whole table (the audit verifier and export), which run with an operator's
   * credentials: the app's role may not scan.
   */
  async *scanItems(): AsyncGenerator<Record<string, unknown>> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.dynamo.doc.send(
        new ScanCommand({
          TableName: this.name,
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) yield withoutKeys(item);
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /** Raw item at `key`, for index items that are not records. */
  async getItem(key: Key): Promise<Record<string, unknown> | undefined> {
    if (!storable(key)) return undefined;
    const { Item } = await this.dynamo.doc.send(
      new GetCommand({ TableName: this.name, Key: key, ConsistentRead: true }),
    );
    return Item;
  }

  async put(item: Record<string, unknown>, condition: Condition = {}): Promise<void> {
    await this.dynamo.doc.send(new PutCommand({ TableName: this.name, Item: item, ...condition }));
  }

  /** A conditional put: true when written, false when its condition did not hold. */
  putIf(item: Record<string, unknown>, condition: Condition): Promise<boolean> {
    return applied(this.put(item, condition));
  }

  async update(key: Key, update: Update): Promise<Record<string, unknown> | undefined> {
    const { Attributes } = await this.dynamo.doc.send(
      new UpdateCommand({ TableName: this.name, Key: key, ...update, ReturnValues: 'ALL_NEW' }),
    );
    return Attributes;
  }

  /** A conditional update: true when applied, false when its condition did not hold. */
  updateIf(key: Key, update: Update): Promise<boolean> {
    return applied(this.update(key, update));
  }

  /** A conditional update that returns the item as updated, or undefined when its condition did not hold. */
  async updateIfReturning(key: Key, update: Update): Promise<Record<string, unknown> | undefined> {
    let item: Record<string, unknown> | undefined;
    await applied(
      this.update(key, update).then((updated) => {
        item = updated;
      }),
    );
    return item;
  }

  /** Deletes the item; returns what it held, if anything. */
  async delete(
    key: Key,
    condition: Pick<
      DeleteCommandInput,
      'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    > = {},
  ): Promise<Record<string, unknown> | undefined> {
    const { Attributes } = await this.dynamo.doc.send(
      new DeleteCommand({ TableName: this.name, Key: key, ...condition, ReturnValues: 'ALL_OLD' }),
    );
    return Attributes;
  }

  /** A conditional delete: true when deleted, false when its condition did not hold. */
  deleteIf(
    key: Key,
    condition: Pick<
      DeleteCommandInput,
      'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
  ): Promise<boolean> {
    return applied(this.delete(key, condition));
  }
}
