import { z } from 'zod';
import { type Principal, principalKey, principalSchema } from '../identity/principal.js';
import { epochSeconds } from './dynamo.js';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/** Why Deputy no longer acts for someone: they left the workspace (or revoked the app), or an admin suspended them. */
export type PersonStatus = 'departed' | 'suspended';

const PersonStandingRecord = recordKind(
  'person standing',
  z.object({
    principal: principalSchema,
    status: z.enum(['departed', 'suspended']),
    reason: z.string().min(1).max(100),
    since: z.string(),
  }),
);
export type PersonStanding = z.infer<typeof PersonStandingRecord.schema>;

const WorkspaceStandingRecord = recordKind(
  'workspace standing',
  z.object({
    teamId: z.string().min(1),
    status: z.literal('stopped'),
    reason: z.string().min(1).max(100),
    since: z.string(),
  }),
);
export type WorkspaceStanding = z.infer<typeof WorkspaceStandingRecord.schema>;

/** A departure whose clean-up (sessions stopped, credentials archived, admins told) has not finished. */
const UnfinishedDepartureRecord = recordKind(
  'unfinished departure',
  z.object({ principal: principalSchema, reason: z.string().min(1).max(100), sinceMs: z.number() }),
);
export type UnfinishedDeparture = z.infer<typeof UnfinishedDepartureRecord.schema>;

/** Why Deputy refuses to act for a person now, if it does. */
export type StandingRefusal = PersonStatus | 'workspace_stopped';

/**
 * Who Deputy no longer acts for: people who left or were suspended, and workspaces that uninstalled
 * the app or revoked its token. Every run, follow-up, connect and decision asks `refusal` first.
 */
export class Standing {
  constructor(private readonly table: Table) {}

  person(key: string): Promise<PersonStanding | undefined> {
    return this.table.get(PersonStandingRecord, keys.personStanding(key));
  }

  async setPerson(standing: PersonStanding): Promise<void> {
    await this.table.put({ ...keys.personStanding(principalKey(standing.principal)), ...standing });
  }

  /**
   * Records a departure unless the person already has a standing: `marked` when this wrote it,
   * `already` when they were departed before, `suspended` when an admin's suspension stands (kept).
   */
  async markDeparted(standing: PersonStanding): Promise<'marked' | 'already' | 'suspended'> {
    const written = await this.table.putIf(
      { ...keys.personStanding(principalKey(standing.principal)), ...standing },
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
    if (written) return 'marked';
    const existing = await this.person(principalKey(standing.principal));
    return existing?.status === 'suspended' ? 'suspended' : 'already';
  }

  /** Clears a person's standing, only if it is still `status` (a return does not lift a suspension). */
  clearPerson(key: string, status: PersonStatus): Promise<boolean> {
    return this.table.deleteIf(keys.personStanding(key), {
      ConditionExpression: '#status = :status',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':status': status },
    });
  }

  async setWorkspace(standing: WorkspaceStanding): Promise<void> {
    await this.table.put({ ...keys.workspaceStanding(standing.teamId), ...standing });
  }

  /** Notes a departure whose clean-up is to be done (the sweep finishes it if this process cannot). */
  async departureUnfinished(departure: UnfinishedDeparture): Promise<void> {
    await this.table.put({ ...keys.unfinishedDeparture(principalKey(departure.principal)), ...departure });
  }

  unfinishedDeparture(key: string): Promise<UnfinishedDeparture | undefined> {
    return this.table.get(UnfinishedDepartureRecord, keys.unfinishedDeparture(key));
  }

  /** Departures still to clean up (a handful at most: each lasts only until its clean-up ends). */
  unfinishedDepartures(): Promise<UnfinishedDeparture[]> {
    return this.table.query(UnfinishedDepartureRecord, { ...keys.unfinishedDepartures(), allPages: true });
  }

  async departureFinished(key: string): Promise<void> {
    await this.table.delete(keys.unfinishedDeparture(key));
  }

  /**
   * Deputy is about to revoke this person's Slack user token itself (a disconnect of the Slack
   * connector): the `tokens_revoked` Slack sends for it until `untilMs` is not a departure.
   */
  async expectTokensRevoked(key: string, untilMs: number): Promise<void> {
    await this.table.put({
      ...keys.selfRevocation(key),
      untilMs,
      [EXPIRY_ATTRIBUTE]: epochSeconds(untilMs),
    });
  }

  /** Whether a `tokens_revoked` for the person is Deputy's own doing (the note is used up). */
  async revokedByDeputy(key: string, nowMs: number): Promise<boolean> {
    const note = await this.table.delete(keys.selfRevocation(key));
    return typeof note?.untilMs === 'number' && note.untilMs > nowMs;
  }

  /** Lifts a workspace's stop; true when there was one. */
  clearWorkspace(teamId: string): Promise<boolean> {
    return this.table.deleteIf(keys.workspaceStanding(teamId), {
      ConditionExpression: 'attribute_exists(pk)',
    });
  }

  /** Why Deputy must not act for this person now (their standing, then their workspace's), if so. */
  async refusal(principal: Principal): Promise<StandingRefusal | undefined> {
    // One round trip and one call: it is asked before everything Deputy does for someone.
    const [person, workspace] = await this.table.getMany([
      { kind: PersonStandingRecord, key: keys.personStanding(principalKey(principal)) },
      { kind: WorkspaceStandingRecord, key: keys.workspaceStanding(principal.teamId) },
    ]);
    return person?.status ?? (workspace ? 'workspace_stopped' : undefined);
  }
}
