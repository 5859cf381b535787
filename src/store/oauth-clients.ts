import { z } from 'zod';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';

const OAuthClientRecord = recordKind('OAuth client', z.object({ clientId: z.string().min(1) }));

/** Dynamically registered OAuth clients, per authorization server and redirect URI. Public clients: no secret. */
export class OAuthClients {
  constructor(private readonly table: Table) {}

  async get(issuer: string, redirectUri: string): Promise<string | undefined> {
    return (await this.table.get(OAuthClientRecord, keys.oauthClient(issuer, redirectUri)))?.clientId;
  }

  /** Keeps the first registration when two race; returns the client id that is kept. */
  async remember(issuer: string, redirectUri: string, clientId: string): Promise<string> {
    const stored = await this.table.putIf(
      { ...keys.oauthClient(issuer, redirectUri), clientId },
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
    return stored ? clientId : ((await this.get(issuer, redirectUri)) ?? clientId);
  }
}
