import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Principal } from '../identity/principal.js';
import { applied, type DynamoHandle, epochSeconds } from './dynamo.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/**
 * A connect flow in progress, between the browser's first visit and the provider's callback. Its
 * secrets (PKCE verifiers, the OIDC nonce) are `sealed` with a key that lives only in the browser's
 * cookie, so this item alone cannot complete a flow.
 */
export interface ConnectFlow {
  flowId: string;
  principal: Principal;
  connectorId: string;
  stage: 'identity' | 'provider';
  /** The `state` expected back from Sign in with Slack, then from the provider. */
  state: string;
  /** AES-GCM ciphertext of the flow's secrets, keyed by the cookie. */
  sealed: string;
  /** Non-secret facts the callback needs: endpoints, client id, resource. */
  provider?: {
    issuer?: string;
    tokenEndpoint: string;
    revocationEndpoint?: string;
    clientId: string;
    resource?: string;
    issuerParameterSupported?: boolean;
  };
  responseUrl?: string;
  expiresAtMs: number;
}

const key = (flowId: string) => ({ pk: `FLOW#${flowId}`, sk: 'FLOW' });
const byState = (state: string) => ({ gsi1pk: `FLOWSTATE#${state}`, gsi1sk: 'FLOW' });

export class ConnectFlows {
  constructor(
    private readonly dynamo: DynamoHandle,
    private readonly table: string,
  ) {}

  async create(flow: ConnectFlow): Promise<void> {
    await this.dynamo.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...key(flow.flowId),
          ...byState(flow.state),
          ...flow,
          [EXPIRY_ATTRIBUTE]: epochSeconds(flow.expiresAtMs),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /** The flow a callback's `state` belongs to, for ending it when the browser cannot prove it is the flow's. */
  async byState(state: string): Promise<ConnectFlow | undefined> {
    const { Items } = await this.dynamo.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :state',
        ExpressionAttributeValues: { ':state': byState(state).gsi1pk },
      }),
    );
    const [item] = Items ?? [];
    return item ? toFlow(item) : undefined;
  }

  /** The flow, if it exists and has not expired. */
  async get(flowId: string, nowMs: number): Promise<ConnectFlow | undefined> {
    const { Item } = await this.dynamo.doc.send(
      new GetCommand({ TableName: this.table, Key: key(flowId), ConsistentRead: true }),
    );
    if (!Item || Number(Item.expiresAtMs) <= nowMs) return undefined;
    return toFlow(Item);
  }

  /** Moves the flow from the identity stage to the provider stage; false if it was not there any more. */
  async toProviderStage(
    flowId: string,
    expectedState: string,
    next: Pick<ConnectFlow, 'state' | 'sealed' | 'provider'>,
  ): Promise<boolean> {
    return applied(
      this.dynamo.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key(flowId),
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
            ':gsi1pk': byState(next.state).gsi1pk,
            ':gsi1sk': byState(next.state).gsi1sk,
          },
        }),
      ),
    );
  }

  /** Deletes the flow and returns it: a flow ends at its first callback, whatever the outcome. */
  async consume(flowId: string): Promise<ConnectFlow | undefined> {
    const { Attributes } = await this.dynamo.doc.send(
      new DeleteCommand({ TableName: this.table, Key: key(flowId), ReturnValues: 'ALL_OLD' }),
    );
    return Attributes ? toFlow(Attributes) : undefined;
  }
}

function toFlow(item: Record<string, unknown>): ConnectFlow {
  const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, [EXPIRY_ATTRIBUTE]: _ttl, ...flow } = item;
  return flow as unknown as ConnectFlow;
}
