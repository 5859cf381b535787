import { z } from 'zod';
import { principalSchema } from '../identity/principal.js';
import { epochSeconds } from './dynamo.js';
import { keys } from './keys.js';
import { fromItem, recordKind, type Table } from './table.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/**
 * A connect flow in progress, between the browser's first visit and the provider's callback. Its
 * secrets (PKCE verifiers, the OIDC nonce) are `sealed` with a key that lives only in the browser's
 * cookie, so this item alone cannot complete a flow.
 */
const connectFlowSchema = z.object({
  flowId: z.string(),
  principal: principalSchema,
  connectorId: z.string(),
  /** `catalog`: an admin connecting the server's catalog account, not their own connection. */
  purpose: z.literal('catalog').optional(),
  /** What the provider is asked for (shown to the person first), and why. */
  scopeRequest: z
    .discriminatedUnion('access', [
      z.object({ access: z.literal('read'), scopes: z.array(z.string()) }),
      z.object({ access: z.literal('read_write'), scopes: z.array(z.string()), because: z.string() }),
      z.object({ access: z.literal('offered'), scopes: z.array(z.string()).optional() }),
    ])
    .optional(),
  stage: z.enum(['identity', 'provider']),
  /** The `state` expected back from Sign in with Slack, then from the provider. */
  state: z.string(),
  /** AES-GCM ciphertext of the flow's secrets, keyed by the cookie. */
  sealed: z.string(),
  /** Non-secret facts the callback needs: endpoints, client id, resource. */
  provider: z
    .object({
      issuer: z.string().optional(),
      tokenEndpoint: z.string(),
      revocationEndpoint: z.string().optional(),
      /** Absent: RFC 7009. */
      revocationStyle: z.enum(['rfc7009', 'github_grant', 'slack_auth_revoke']).optional(),
      clientId: z.string(),
      resource: z.string().optional(),
      issuerParameterSupported: z.boolean().optional(),
    })
    .optional(),
  responseUrl: z.string().optional(),
  expiresAtMs: z.number(),
});
export type ConnectFlow = z.infer<typeof connectFlowSchema>;
const ConnectFlowRecord = recordKind('connect flow', connectFlowSchema);

export class ConnectFlows {
  constructor(private readonly table: Table) {}

  async create(flow: ConnectFlow): Promise<void> {
    await this.table.put(
      {
        ...keys.connectFlow(flow.flowId),
        ...keys.connectFlowByState(flow.state),
        ...flow,
        [EXPIRY_ATTRIBUTE]: epochSeconds(flow.expiresAtMs),
      },
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
  }

  /** The flow a callback's `state` belongs to, for ending it when the browser cannot prove it is the flow's. */
  async byState(state: string): Promise<ConnectFlow | undefined> {
    const [flow] = await this.table.query(ConnectFlowRecord, {
      index: 'gsi1',
      partition: keys.connectFlowByState(state).gsi1pk,
    });
    return flow;
  }

  /** The flow, if it exists and has not expired. */
  async get(flowId: string, nowMs: number): Promise<ConnectFlow | undefined> {
    const flow = await this.table.get(ConnectFlowRecord, keys.connectFlow(flowId));
    return flow && flow.expiresAtMs > nowMs ? flow : undefined;
  }

  /** Moves the flow from the identity stage to the provider stage; false if it was not there any more. */
  toProviderStage(
    flowId: string,
    expectedState: string,
    next: Pick<ConnectFlow, 'state' | 'sealed' | 'provider'>,
  ): Promise<boolean> {
    const byState = keys.connectFlowByState(next.state);
    return this.table.updateIf(keys.connectFlow(flowId), {
      UpdateExpression:
        'SET stage = :provider, #state = :state, sealed = :sealed, provider = :info, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk',
      ConditionExpression: 'stage = :identity AND #state = :expected',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':provider': 'provider',
        ':identity': 'identity',
        ':state': next.state,
        ':expected': expectedState,
        ':sealed': next.sealed,
        ':info': next.provider,
        ':gsi1pk': byState.gsi1pk,
        ':gsi1sk': byState.gsi1sk,
      },
    });
  }

  /** Deletes the flow and returns it: a flow ends at its first callback, whatever the outcome. */
  async consume(flowId: string): Promise<ConnectFlow | undefined> {
    const item = await this.table.delete(keys.connectFlow(flowId));
    return item ? fromItem(ConnectFlowRecord, item) : undefined;
  }
}
