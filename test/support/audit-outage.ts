import type { DynamoHandle } from '../../src/store/dynamo.js';

/**
 * DynamoDB whose audit table can be taken down, as an outage would (security R46): while `down`
 * (or for the requests it picks, given a test of the request), every request that names the audit
 * table fails as a server error before reaching the engine. Everything else goes through.
 */
export interface AuditOutage {
  down: boolean | ((request: unknown) => boolean);
}

export function withAuditOutage(base: DynamoHandle): { dynamo: DynamoHandle; outage: AuditOutage } {
  const outage: AuditOutage = { down: false };
  type Sent = { input?: { TableName?: unknown; RequestItems?: Record<string, unknown> } };
  const doc = new Proxy(base.doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: Sent, ...rest: unknown[]) => {
        const tables = [
          String(command.input?.TableName ?? ''),
          ...Object.keys(command.input?.RequestItems ?? {}),
        ];
        const failing = typeof outage.down === 'function' ? outage.down(command.input) : outage.down;
        if (failing && tables.some((table) => table.endsWith('audit')))
          return Promise.reject(
            Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' }),
          );
        return (target.send as (command: Sent, ...rest: unknown[]) => Promise<unknown>)(command, ...rest);
      };
    },
  });
  return { dynamo: { client: base.client, doc, endpoint: base.endpoint, close: () => base.close() }, outage };
}
