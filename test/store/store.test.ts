import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { UsageMeter } from '../../src/limits/usage-meter.js';
import { createLogger } from '../../src/logger.js';
import {
  type ChainedAuditRecord,
  type SessionRecord,
  StoredRecordInvalid,
  type UsageEntry,
} from '../../src/store/index.js';
import { keys } from '../../src/store/keys.js';
import { shardOf, unrelayed } from '../../src/store/relay-index.js';
import { ENGINES, openTestStorage, type TestStorage } from '../support/storage.js';

const alice = { teamId: 'T1', userId: 'U_ALICE' };

describe.each(ENGINES)('store on %s', (engine) => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await openTestStorage(engine);
  });
  afterAll(() => storage.close());

  test('only one of many concurrent claims for a principal wins', async () => {
    const key = `T:T1:U_RACE_${engine}`;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => storage.store.vaultMappings.claim(key, alice, `claim_${i}`, 1000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  test('a claim completes into a ready mapping only for its own claimant', async () => {
    const mappings = storage.store.vaultMappings;
    const key = 'T:T1:U_COMPLETE';
    expect(await mappings.claim(key, alice, 'claim_mine', 1000)).toBe(true);
    expect(await mappings.complete(key, 'claim_other', 'vlt_wrong', 5)).toBe(false);
    expect(await mappings.complete(key, 'claim_mine', 'vlt_right', 5)).toBe(true);
    expect(await mappings.get(key)).toEqual({
      status: 'ready',
      principalKey: key,
      principal: alice,
      resourceId: 'vlt_right',
      readyAt: 5,
    });
    expect(await mappings.complete(key, 'claim_mine', 'vlt_again', 6)).toBe(false);
  });

  test('a claim can be taken over only after its lease has run out, and only once', async () => {
    const mappings = storage.store.vaultMappings;
    const key = 'T:T1:U_TAKEOVER';
    await mappings.claim(key, alice, 'claim_dead', 1000);
    expect(await mappings.takeOver(key, 'claim_dead', 'claim_early', 999, 5000)).toBe(false);
    const takers = await Promise.all(
      ['a', 'b', 'c'].map((n) => mappings.takeOver(key, 'claim_dead', `claim_${n}`, 1001, 5000)),
    );
    expect(takers.filter(Boolean)).toHaveLength(1);
  });

  test('audit records are appended, never overwritten, and found by principal, target and correlation', async () => {
    const audit = storage.store.audit;
    const chain = `chain_store_${engine}`;
    const record: ChainedAuditRecord = {
      id: 'aud_1',
      at: '2026-11-22T06:00:00.000Z',
      action: 'vault.created',
      outcome: 'success',
      principalKey: 'T:T1:U_ALICE',
      target: 'vlt_1',
      correlationId: 'req_1',
      details: { note: 'first' },
      chain,
      seq: 1,
      prevHash: '0'.repeat(64),
      hash: 'h1',
    };
    expect(await audit.append(record)).toBe(true);
    // The place is one record's: a second write there is refused, whatever it says.
    expect(await audit.append({ ...record, id: 'aud_x', details: { note: 'rewritten' } })).toBe(false);
    expect(await audit.at(chain, 1)).toEqual(record);
    expect(await audit.byPrincipal('T:T1:U_ALICE')).toEqual([record]);
    expect(await audit.byTarget('vlt_1')).toEqual([record]);
    expect(await audit.byCorrelation('req_1')).toEqual([record]);
    const { principalKey: _, ...anonymous } = { ...record, id: 'aud_2', target: '/slack/events', seq: 2 };
    await audit.append(anonymous);
    expect(await audit.byPrincipal(undefined)).toEqual([anonymous]);
  });

  test('records written before the trail was chained are still found by principal, with the chained ones in time order (issue 18)', async () => {
    const legacy = {
      id: 'aud_old',
      at: '2026-10-01T00:00:00.000Z',
      action: 'vault.created',
      outcome: 'success' as const,
      principalKey: 'T:T1:U_LEGACY',
      correlationId: 'req_old',
    };
    await storage.dynamo.doc.send(
      new PutCommand({
        TableName: storage.store.tables.audit,
        Item: { pk: 'P#T:T1:U_LEGACY', sk: `${legacy.at}#${legacy.id}`, ...legacy },
      }),
    );
    const chained: ChainedAuditRecord = {
      ...legacy,
      id: 'aud_new',
      at: '2026-11-01T00:00:00.000Z',
      correlationId: 'req_new',
      chain: `chain_legacy_${engine}`,
      seq: 1,
      prevHash: '0'.repeat(64),
      hash: 'h',
    };
    await storage.store.audit.append(chained);
    expect((await storage.store.audit.byPrincipal('T:T1:U_LEGACY')).map((r) => r.id)).toEqual([
      'aud_old',
      'aud_new',
    ]);
    expect(
      (
        await storage.store.audit.byPrincipalBetween(
          'T:T1:U_LEGACY',
          '2026-10-15T00:00:00.000Z',
          '2026-11-01T00:00:00.000Z',
        )
      ).map((r) => r.id),
    ).toEqual(['aud_new']);
  });

  test('a rate counter lets exactly its limit through when many take at once, gives back, and is forgotten (issue 19)', async () => {
    const counters = storage.store.rateCounters;
    const key = `T:T1:U_RATE_${engine}`;
    const window = { name: 'm', index: 7, limit: 25, endsAtMs: 1_000_000 };
    const taken = await Promise.all(Array.from({ length: 40 }, () => counters.take(key, 'run', window)));
    expect(taken.filter(Boolean)).toHaveLength(25);
    await counters.giveBack(key, 'run', window);
    expect(await counters.take(key, 'run', window)).toBe(true);
    expect(await counters.take(key, 'run', window)).toBe(false);
    // Another window, and another action, count apart.
    expect(await counters.take(key, 'run', { ...window, index: 8 })).toBe(true);
    expect(await counters.take(key, 'connect', window)).toBe(true);
    // Reported once per hour, however many refusals.
    expect(await counters.markReported(key, 1, 2_000_000)).toBe(true);
    expect(await counters.markReported(key, 1, 2_000_000)).toBe(false);
    await counters.forget(key);
    expect(await counters.take(key, 'run', window)).toBe(true);
    expect(await counters.markReported(key, 1, 2_000_000)).toBe(true);
  });

  test('live slots: exactly the limit taken when many take at once; a held slot is taken again; given back once (issue 19)', async () => {
    const slots = storage.store.liveSlots;
    const holder = `P#T:T1:U_LIVE_${engine}`;
    const taken = await Promise.all(
      Array.from({ length: 12 }, (_, i) => slots.take(holder, `intent_${i}`, 3, 1000 + i)),
    );
    expect(taken.filter(Boolean)).toHaveLength(3);
    const held = await slots.held(holder);
    expect(held).toHaveLength(3);
    const [first] = held;
    if (!first) throw new Error('none held');
    expect(first.takenAtMs).toBeGreaterThanOrEqual(1000);
    // Full, but a slot already held is still held (a follow-up to a live session, a retry), retaken now.
    expect(await slots.take(holder, first.slot, 3, 5000)).toBe(true);
    expect((await slots.held(holder)).find((s) => s.slot === first.slot)?.takenAtMs).toBe(5000);
    expect(await slots.take(holder, 'intent_new', 3, 5000)).toBe(false);
    await slots.release(holder, first.slot);
    await slots.release(holder, first.slot);
    expect(await slots.held(holder)).toHaveLength(2);
    expect(await slots.take(holder, 'intent_new', 3, 6000)).toBe(true);
    expect(await slots.take(holder, 'intent_newer', 3, 6000)).toBe(false);
    // Giving back to a holder with nothing makes no item.
    await slots.release(`P#T:T1:U_NOBODY_${engine}`, 'intent_x');
    expect(await slots.held(`P#T:T1:U_NOBODY_${engine}`)).toEqual([]);
  });

  test('usage: concurrent counts of one session count each cent exactly once, on the day it was counted, and the ledger mends by rewriting (issue 19)', async () => {
    const clock = new ManualClock(Date.parse('2026-11-30T23:59:00Z'));
    const logger = createLogger({ level: 'error', write: () => undefined });
    const meter = new UsageMeter({ store: storage.store, clock, logger, retentionMs: 90 * 86_400_000 });
    const person = `T:T1:U_USAGE_${engine}`;
    const session: SessionRecord = {
      sessionId: `sesn_usage_${engine}`,
      intentId: 'intent_usage',
      principal: { teamId: 'T1', userId: `U_USAGE_${engine}` },
      principalKey: person,
      agentName: `meter-${engine}`.toLowerCase(),
      agentId: 'agent_1',
      agentVersion: 1,
      channelId: 'C1',
      dmChannelId: 'D1',
      threadTs: '1.0',
      prompt: 'p',
      status: 'running',
      createdAt: new Date(clock.now()).toISOString(),
    };
    await storage.store.sessions.put(session);
    const costing = (cents: number): SessionRecord => ({
      ...session,
      listCost: { amount: String(cents), currency: 'USD' },
    });
    // Twenty relays at once count the same $1.23 (each from the record as it was read: no usage yet).
    await Promise.all(Array.from({ length: 20 }, () => meter.count(costing(123), clock.now())));
    // Past midnight UTC the session goes on to $2.00: only the 77 cents since are the new day's.
    clock.advance(2 * 60_000);
    await Promise.all([
      meter.count(costing(200), clock.now()),
      meter.count(costing(150), clock.now()),
      meter.count(costing(200), clock.now()),
    ]);
    const record = await storage.store.sessions.get(session.sessionId);
    expect(record?.usage).toEqual({
      countedCents: 200,
      writtenCents: 200,
      days: { '2026-11-30': 123, '2026-12-01': 77 },
    });
    const ledger = storage.store.usage;
    const spent = (entries: UsageEntry[]) => entries.map((e) => [e.day, e.spentCents]);
    expect(spent(await ledger.ofPerson(person, '2026-11-01', '2026-12-31'))).toEqual([
      ['2026-11-30', 123],
      ['2026-12-01', 77],
    ]);
    expect(spent(await ledger.ofAgent(session.agentName, '2026-12-01', '2026-12-31'))).toEqual([
      ['2026-12-01', 77],
    ]);
    expect(spent(await ledger.ofMonth('2026-11-01', '2026-11-30'))).toContainEqual(['2026-11-30', 123]);
    // An entry written short (a crash between the record's move and the ledger) is raised by settling;
    // writing a smaller value never lowers one.
    await ledger.write(
      {
        sessionId: session.sessionId,
        day: '2026-11-30',
        spentCents: 100,
        agentName: session.agentName,
        principalKey: person,
      },
      clock.now(),
    );
    expect(spent(await ledger.ofPerson(person, '2026-11-30', '2026-11-30'))).toEqual([['2026-11-30', 123]]);
    // An entry lost (a crash after the record's move, before the ledger's write) is written again
    // when a relay takes the session up and settles it: every day the record counted, nothing more.
    await storage.dynamo.doc.send(
      new DeleteCommand({
        TableName: storage.store.tables.main,
        Key: keys.usage(`P#${person}`, '2026-11-30', session.sessionId),
      }),
    );
    expect(spent(await ledger.ofPerson(person, '2026-11-01', '2026-12-31'))).toEqual([['2026-12-01', 77]]);
    await meter.settle({
      ...session,
      usage: { countedCents: 200, days: { '2026-11-30': 123, '2026-12-01': 77 } },
    });
    expect(spent(await ledger.ofPerson(person, '2026-11-01', '2026-12-31'))).toEqual([
      ['2026-11-30', 123],
      ['2026-12-01', 77],
    ]);
    await ledger.forget(person);
    await ledger.forget(person);
    expect(await ledger.ofPerson(person, '2026-11-01', '2026-12-31')).toEqual([]);
    // Forgotten: the copies name neither them nor the session; the agent's spend still counts it.
    const agents = await ledger.ofAgent(session.agentName, '2026-11-01', '2026-12-31');
    expect(agents).toEqual([
      { day: '2026-11-30', spentCents: 123, agentName: session.agentName },
      { day: '2026-12-01', spentCents: 77, agentName: session.agentName },
    ]);
    const november = await ledger.ofMonth('2026-11-30', '2026-11-30');
    expect(JSON.stringify(november)).not.toContain(session.sessionId);
    expect(JSON.stringify(november)).not.toContain(person);
  });

  test('the audit store offers no way to change or remove a record', () => {
    const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(storage.store.audit));
    expect(methods.filter((m) => /update|delete|remove|put|set/i.test(m))).toEqual([]);
  });

  test('every record read back is parsed as its kind: an item of the wrong shape is refused, not used', async () => {
    const put = (item: Record<string, unknown>) =>
      storage.dynamo.doc.send(new PutCommand({ TableName: storage.store.tables.main, Item: item }));
    // A session whose owner is not a principal, as a tampered or half-migrated item would be.
    await put({ ...keys.session('ses_bad'), sessionId: 'ses_bad', principal: 'U_ALICE', status: 'running' });
    await expect(storage.store.sessions.get('ses_bad')).rejects.toBeInstanceOf(StoredRecordInvalid);
    await put({ ...keys.connection('T:T1:U_BAD', 'notion'), status: 'connected' });
    await expect(storage.store.connections.list('T:T1:U_BAD')).rejects.toThrow(/connection/);
    await put({ ...keys.vaultMapping('T:T1:U_BAD'), status: 'ready', principalKey: 'T:T1:U_BAD' });
    await expect(storage.store.vaultMappings.get('T:T1:U_BAD')).rejects.toBeInstanceOf(StoredRecordInvalid);
  });

  test('a vault mapping written before memory stores (its id as vaultId) still reads as the same vault', async () => {
    const principal = { teamId: 'T1', userId: 'U_OLD' };
    await storage.dynamo.doc.send(
      new PutCommand({
        TableName: storage.store.tables.main,
        Item: {
          ...keys.vaultMapping('T:T1:U_OLD'),
          status: 'ready',
          principalKey: 'T:T1:U_OLD',
          principal,
          vaultId: 'vlt_old',
          readyAt: 1,
        },
      }),
    );
    expect(await storage.store.vaultMappings.get('T:T1:U_OLD')).toMatchObject({ resourceId: 'vlt_old' });
    // Each kind has its own item: the vault's is not the memory store's.
    expect(await storage.store.memoryMappings.get('T:T1:U_OLD')).toBeUndefined();
  });

  test('a lookup by a key DynamoDB would refuse (a name or id someone sent, over its key limits) finds nothing', async () => {
    // Issue 13: `/agent setup <3,000 characters>` reached DynamoDB as a key and failed with a 400.
    await expect(storage.store.agents.get('a'.repeat(3000))).resolves.toBeUndefined();
    await expect(storage.store.sessions.get(`sesn_${'é'.repeat(1500)}`)).resolves.toBeUndefined();
    await expect(storage.store.approvals.get('x'.repeat(2001))).resolves.toBeUndefined();
  });

  test('records come back without the attributes that only locate them (keys, index keys, expiry)', async () => {
    const mappings = storage.store.vaultMappings;
    await mappings.claim('T:T1:U_KEYS', alice, 'claim_k', 1000);
    const mapping = await mappings.get('T:T1:U_KEYS');
    expect(Object.keys(mapping ?? {}).sort()).toEqual(
      ['claimId', 'leaseUntil', 'principal', 'principalKey', 'status'].sort(),
    );
  });

  test("a batch read returns each of hundreds of records in the order asked, beyond BatchGetItem's 100 keys, with a gap for one that is missing (issue 17)", async () => {
    const ids = Array.from({ length: 230 }, (_, i) => `apv_batch_${engine}_${i}`);
    await Promise.all(
      ids
        .filter((_, i) => i !== 150)
        .map((approvalId, i) =>
          storage.store.approvals.create({
            approvalId,
            sessionId: `sesn_batch_${engine}`,
            toolUseId: `tu_${i}`,
            server: 'notion',
            tool: 'search',
            argumentsHash: 'h',
            status: 'pending',
            channelId: 'D1',
            expiresAtMs: 1000 + i,
          }),
        ),
    );
    const read = await storage.store.approvals.getMany(ids);
    expect(read).toHaveLength(230);
    expect(read[150]).toBeUndefined();
    expect(read.filter((a) => a !== undefined).map((a) => a?.approvalId)).toEqual(
      ids.filter((_, i) => i !== 150),
    );
  });

  test('the relay index reads a shard page by page: every active session comes back however many pages it takes (issue 17)', async () => {
    const index = storage.store.relayIndex;
    // Sessions until one shard holds 23 of them (more than five pages of four).
    const inShard = [];
    for (let i = 0; inShard.length < 23; i += 1) {
      const sessionId = `sesn_page_${i}`;
      if (shardOf(sessionId) === 3) inShard.push(sessionId);
    }
    await Promise.all(inShard.map((sessionId) => index.claim(sessionId, 'node_a', { wake: true })));
    const read = await index.active(3, 4);
    expect(read.map((s) => s.sessionId).sort()).toEqual([...inShard].sort());
    expect(read.every((s) => s.relayNode === 'node_a' && s.wakes === 1)).toBe(true);
    // Spread over the shards: a session lives only in its own shard's partition.
    expect((await index.live()).filter((id) => id.startsWith('sesn_page_')).sort()).toEqual(
      [...inShard].sort(),
    );
  });

  test('a relay claim is one conditional write: another live node is refused, a wake makes the holder go round, and a release after a wake is refused (issue 17)', async () => {
    const index = storage.store.relayIndex;
    const claim = await index.claim('sesn_claim', 'node_a', { wake: true });
    expect(claim).toEqual({ wakes: 1 });
    expect(await index.claim('sesn_claim', 'node_b', { wake: true })).toBeUndefined();
    expect(await index.wake('sesn_claim')).toMatchObject({ relayNode: 'node_a', wakes: 2 });
    // Woken since it claimed: node_a may not let the session rest yet.
    expect(await index.release('sesn_claim', 'node_a', { wakes: 1 }, false)).toBe(false);
    // Waiting for a decision: it stays live, unclaimed, and counts as relayed until woken again.
    expect(await index.release('sesn_claim', 'node_a', { wakes: 2 }, true)).toBe(true);
    const waiting = await index.get('sesn_claim');
    expect(waiting).toMatchObject({ wakes: 2, restedWakes: 2 });
    expect(waiting?.relayNode).toBeUndefined();
    expect(unrelayed(waiting ?? { sessionId: '' }, new Set())).toBe(false);
    await index.wake('sesn_claim');
    expect(unrelayed((await index.get('sesn_claim')) ?? { sessionId: '' }, new Set())).toBe(true);
    // A dead node's claim is taken over only from that node.
    await index.claim('sesn_claim', 'node_dead');
    expect(await index.claim('sesn_claim', 'node_b', { from: 'node_other' })).toBeUndefined();
    expect(await index.claim('sesn_claim', 'node_b', { from: 'node_dead' })).toBeDefined();
  });
});
