import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { AuditAction, AuditLog } from '../../src/audit/audit-log.js';
import { recordHash, sealRecord, verifyChains } from '../../src/audit/chain.js';
import { verifyTrail } from '../../src/audit/offline.js';
import { systemClock } from '../../src/clock.js';
import { randomBase58, randomIds } from '../../src/ids.js';
import { createLogger } from '../../src/logger.js';
import {
  type AuditRecord,
  type ChainedAuditRecord,
  connectDynamo,
  openStore,
} from '../../src/store/index.js';
import { keys } from '../../src/store/keys.js';
import { ENGINES, openTestStorage, type TestStorage } from '../support/storage.js';

/**
 * Issue 18, tamper-evident audit (security R47): records form hash chains whose places are taken by
 * conditional writes, and `npm run audit:verify` finds the first edited, deleted or inserted record.
 */

const quiet = createLogger({ level: 'error', write: () => {} });
const alice = { teamId: 'T1', userId: 'U_ALICE' };

/** Writes `count` records through `writers` audit logs (separate processes' worth) all at once. */
async function writeConcurrently(storage: TestStorage, writers: number, count: number): Promise<void> {
  const logs = Array.from(
    { length: writers },
    () => new AuditLog({ store: storage.store, clock: systemClock, ids: randomIds, logger: quiet }),
  );
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      logs[i % writers]?.record({
        action: AuditAction.SessionRequested,
        outcome: 'success',
        principal: alice,
        target: `sesn_${i}`,
        correlationId: `req_${i}`,
        triggerId: `trig_${i}`,
      }),
    ),
  );
}

/** The chained records of the table, per chain, in chain order. */
async function chainsOf(storage: TestStorage): Promise<ChainedAuditRecord[][]> {
  const { records } = await storage.store.audit.scan();
  const chains = new Map<string, ChainedAuditRecord[]>();
  for (const record of records as ChainedAuditRecord[]) {
    chains.set(record.chain, [...(chains.get(record.chain) ?? []), record]);
  }
  return [...chains.values()].map((c) => c.sort((a, b) => a.seq - b.seq));
}

const putRaw = (storage: TestStorage, record: AuditRecord) =>
  storage.dynamo.doc.send(
    new PutCommand({
      TableName: storage.store.tables.audit,
      Item: { ...keys.auditLink(record.chain ?? '', record.seq ?? 0), ...record },
    }),
  );

describe.each(ENGINES)('the audit chains on %s', (engine) => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await openTestStorage(engine);
    await writeConcurrently(storage, 3, 2400);
  }, 120_000);
  afterAll(() => storage.close());

  test('records written by three processes at once, 2,400 of them, form intact chains with every place taken once', async () => {
    const check = await verifyTrail(storage.store);
    expect(check.records).toBe(2400);
    expect(check.findings).toEqual([]);
    const chains = await chainsOf(storage);
    // Each process appends to chains of its own: several per process, none shared.
    expect(chains.length).toBe(12);
    for (const chain of chains) expect(chain.map((r) => r.seq)).toEqual(chain.map((_, i) => i + 1));
    const [first] = chains[0] ?? [];
    expect(first?.triggerId).toMatch(/^trig_/);
  });

  test('an edited record is found, and named first', async () => {
    const [chain] = await chainsOf(storage);
    const victim = chain?.[100] as ChainedAuditRecord;
    await putRaw(storage, { ...victim, outcome: 'refused' });
    const check = await verifyTrail(storage.store);
    expect(check.findings[0]).toMatchObject({ problem: 'edited', recordId: victim.id, seq: 101 });
    await putRaw(storage, victim);
    expect((await verifyTrail(storage.store)).findings).toEqual([]);
  });

  test('an edited record given a new hash of its own is found by the record after it', async () => {
    const [, chain] = await chainsOf(storage);
    const victim = chain?.[50] as ChainedAuditRecord;
    await putRaw(storage, sealRecord({ ...victim, outcome: 'refused' }));
    const check = await verifyTrail(storage.store);
    expect(check.findings).toEqual([expect.objectContaining({ problem: 'edited', recordId: victim.id })]);
    await putRaw(storage, victim);
  });

  test('a deleted record is found where its chain has a gap', async () => {
    const [, , chain] = await chainsOf(storage);
    const victim = chain?.[70] as ChainedAuditRecord;
    await storage.dynamo.doc.send(
      new DeleteCommand({
        TableName: storage.store.tables.audit,
        Key: keys.auditLink(victim.chain, victim.seq),
      }),
    );
    const check = await verifyTrail(storage.store);
    expect(check.findings).toEqual([
      expect.objectContaining({ problem: 'deleted', recordId: chain?.[71]?.id, seq: 72 }),
    ]);
    await putRaw(storage, victim);
  });

  test('an inserted record is found, though it carries a good hash and links to the record before it', async () => {
    const [, , , chain] = await chainsOf(storage);
    const records = chain as ChainedAuditRecord[];
    const before = records[30] as ChainedAuditRecord;
    // To make room, the rest of the chain moves one place on, and the forged record goes in the gap.
    for (const record of records.slice(31).reverse())
      await putRaw(storage, { ...record, seq: record.seq + 1 });
    const forged = sealRecord({
      id: 'aud_forged',
      at: before.at,
      action: AuditAction.ApprovalDecided,
      outcome: 'success',
      principalKey: 'T:T1:U_MALLORY',
      correlationId: 'req_forged',
      chain: before.chain,
      seq: before.seq + 1,
      prevHash: before.hash,
    });
    await putRaw(storage, forged);
    const check = await verifyTrail(storage.store);
    expect(check.findings[0]).toMatchObject({ problem: 'inserted', recordId: 'aud_forged' });
  });
});

test('the verifier tells a record the chain goes around from one rewritten in place (no table)', () => {
  let prevHash = '0'.repeat(64);
  const chain = Array.from({ length: 5 }, (_, i) => {
    const record = sealRecord({
      id: `aud_${i}`,
      at: `2026-11-30T00:00:0${i}.000Z`,
      action: 'session.created',
      outcome: 'success',
      correlationId: `req_${i}`,
      chain: 'c',
      seq: i + 1,
      prevHash,
    });
    prevHash = record.hash as string;
    return record;
  });
  expect(verifyChains(chain).findings).toEqual([]);
  // A hash that is not the record's own: edited.
  expect(recordHash({ ...chain[2], outcome: 'refused' } as AuditRecord)).not.toBe(chain[2]?.hash);
  // A slice (an export of a time range) starts where it starts.
  expect(verifyChains(chain.slice(2), { partial: true }).findings).toEqual([]);
  expect(verifyChains(chain.slice(2)).findings).toEqual([
    expect.objectContaining({ problem: 'deleted', recordId: 'aud_2' }),
  ]);
});

describe('npm run audit:verify and audit:export', () => {
  const REGION = 'eu-west-1';
  let storage: TestStorage;
  let dir: string;
  beforeAll(async () => {
    // In the region the commands are configured with: DynamoDB Local keeps each region's tables apart.
    const dynamo = connectDynamo({
      endpoint: process.env.DEPUTY_TEST_DYNAMODB_LOCAL,
      region: REGION,
      local: true,
    });
    storage = {
      dynamo,
      store: await openStore(dynamo, `t${randomBase58(8)}-`, systemClock),
      close: () => dynamo.close(),
    };
    dir = await mkdtemp(join(tmpdir(), 'deputy-audit-'));
    await writeConcurrently(storage, 2, 300);
  }, 60_000);
  afterAll(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = (script: string, args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', script, ...args],
        {
          env: {
            PATH: process.env.PATH,
            AWS_REGION: REGION,
            AWS_ACCESS_KEY_ID: 'local',
            AWS_SECRET_ACCESS_KEY: 'local',
            DYNAMODB_ENDPOINT: process.env.DEPUTY_TEST_DYNAMODB_LOCAL,
            DEPUTY_TABLE_PREFIX: storage.store.tables.audit.replace(/audit$/, ''),
          },
          timeout: 60_000,
        },
        (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
      );
    });

  test('the verifier passes an intact trail (exit 0) and names an edited record (exit 1)', async () => {
    const intact = await run('scripts/audit-verify.ts', []);
    expect(intact.stdout).toMatch(/300 audit records in 8 chains\nIntact/);
    expect(intact.code).toBe(0);
    const [chain] = await chainsOf(storage);
    const victim = chain?.[10] as ChainedAuditRecord;
    await putRaw(storage, { ...victim, principalKey: 'T:T1:U_MALLORY' });
    const tampered = await run('scripts/audit-verify.ts', []);
    expect(tampered.stdout).toContain(`NOT INTACT: 1 finding. The first:\n  edited record ${victim.id}`);
    expect(tampered.code).toBe(1);
    await putRaw(storage, victim);
  }, 120_000);

  test('an export of a person or a time range is JSON Lines the verifier checks on its own', async () => {
    const out = join(dir, 'alice.jsonl');
    const exported = await run('scripts/audit-export.ts', ['--person', 'U_ALICE', '--out', out]);
    expect(exported.stdout).toContain('300 audit records written');
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(300);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ principalKey: 'T:T1:U_ALICE' });
    expect((await run('scripts/audit-verify.ts', ['--file', out])).code).toBe(0);
    const nobody = await run('scripts/audit-export.ts', ['--to', '2000-01-01']);
    expect(nobody.stdout.trim()).toBe('');
    const refused = await run('scripts/audit-export.ts', []);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/choose a time range/);
  }, 120_000);
});
