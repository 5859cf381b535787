import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@jest/globals';
import { systemClock } from '../../src/clock.js';
import { openDynamo } from '../../src/store/dynamo.js';
import { openStore } from '../../src/store/index.js';

test('the embedded engine keeps its data under the data directory across restarts', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'deputy-data-'));
  try {
    const settings = { kind: 'embedded', dataDir, tablePrefix: 'deputy-' } as const;
    const first = await openDynamo(settings);
    const store = await openStore(first, settings.tablePrefix, systemClock);
    await store.vaultMappings.claim('T:T1:U1', { teamId: 'T1', userId: 'U1' }, 'claim_1', 10);
    await store.vaultMappings.complete('T:T1:U1', 'claim_1', 'vlt_kept', 20);
    await first.close();

    const second = await openDynamo(settings);
    const reopened = await openStore(second, settings.tablePrefix, systemClock);
    expect(await reopened.vaultMappings.get('T:T1:U1')).toMatchObject({
      status: 'ready',
      resourceId: 'vlt_kept',
    });
    await second.close();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
