import { z } from 'zod';

/**
 * Who a request is from: taken only from a Slack-verified payload
 * (docs/architecture.md#identity-and-the-vault-invariant), never from message text, button values or view
 * state.
 */
export interface Principal {
  /** Set on Enterprise Grid, where one user ID is the same person across the org's workspaces. */
  enterpriseId?: string;
  teamId: string;
  userId: string;
}

/**
 * The principal's stable key. On Enterprise Grid a user ID is org-wide, so the key is the org and
 * the user (one vault across the org's workspaces); elsewhere it is the workspace and the user, so
 * the same user ID in two workspaces is two people with two vaults.
 */
export function principalKey(principal: Principal): string {
  return principal.enterpriseId
    ? `E:${principal.enterpriseId}:${principal.userId}`
    : `T:${principal.teamId}:${principal.userId}`;
}

/**
 * Whether two principals are the same person. On Enterprise Grid a user ID is org-wide, so the same
 * org and user is the same person in any of the org's workspaces; elsewhere the workspace must be
 * the same too. Every "is this the same person?" in Deputy asks this.
 */
export function samePerson(a: Principal, b: Principal): boolean {
  if (a.userId !== b.userId) return false;
  if (a.enterpriseId && b.enterpriseId) return a.enterpriseId === b.enterpriseId;
  return a.teamId === b.teamId;
}

/** Whether two principals are in the same workspace (on Enterprise Grid, the same one of the org's). */
export function sameWorkspace(a: Principal, b: Principal): boolean {
  return a.teamId === b.teamId && a.enterpriseId === b.enterpriseId;
}

/** A principal as stored (inside sessions, connections, flows): the same three fields, checked on read. */
export const principalSchema = z.object({
  enterpriseId: z.string().min(1).optional(),
  teamId: z.string().min(1),
  userId: z.string().min(1),
}) satisfies z.ZodType<Principal>;

/** A Slack id as Slack writes them (`U0123ABC`, `T…`, `E…`, `C…`): upper-case letters, digits and `_`. */
export const slackIdSchema = z.string().regex(/^[A-Z0-9][A-Z0-9_]{1,40}$/);
const optionalSlackId = z
  .string()
  .optional()
  .nullable()
  .transform((v) => v || undefined)
  .pipe(slackIdSchema.optional());

const commandBody = z.object({
  user_id: slackIdSchema,
  team_id: slackIdSchema,
  enterprise_id: optionalSlackId,
});

const interactionBody = z.object({
  user: z.object({ id: slackIdSchema, team_id: optionalSlackId }),
  team: z.object({ id: slackIdSchema, enterprise_id: optionalSlackId }).nullable().optional(),
  enterprise: z.object({ id: slackIdSchema }).nullable().optional(),
});

const eventBody = z.object({
  team_id: slackIdSchema,
  enterprise_id: optionalSlackId,
  event: z.object({ user: z.union([slackIdSchema, z.object({ id: slackIdSchema })]).optional() }),
});

export class PrincipalError extends Error {}

/** The principal of a verified slash command body. */
export function principalFromCommand(body: unknown): Principal {
  const parsed = commandBody.safeParse(body);
  if (!parsed.success) throw new PrincipalError('slash command without a valid user and team');
  const { user_id, team_id, enterprise_id } = parsed.data;
  return compact({ enterpriseId: enterprise_id, teamId: team_id, userId: user_id });
}

/** The principal of a verified interactive payload (block_actions, view_submission, ...). */
export function principalFromInteraction(body: unknown): Principal {
  const parsed = interactionBody.safeParse(body);
  const teamId = parsed.success ? (parsed.data.user.team_id ?? parsed.data.team?.id) : undefined;
  if (!parsed.success || !teamId) throw new PrincipalError('interaction without a valid user and team');
  const enterpriseId = parsed.data.enterprise?.id ?? parsed.data.team?.enterprise_id;
  return compact({ enterpriseId, teamId, userId: parsed.data.user.id });
}

/** The principal who caused a verified event, when the event names a user. */
export function principalFromEvent(body: unknown): Principal | undefined {
  const parsed = eventBody.safeParse(body);
  if (!parsed.success || parsed.data.event.user === undefined) return undefined;
  const user = parsed.data.event.user;
  return compact({
    enterpriseId: parsed.data.enterprise_id,
    teamId: parsed.data.team_id,
    userId: typeof user === 'string' ? user : user.id,
  });
}

/** The person with `userId` in the workspace (and org) a verified event came from. */
export function principalInEventWorkspace(body: unknown, userId: string): Principal | undefined {
  const parsed = eventBody.safeParse(body);
  if (!parsed.success || !slackIdSchema.safeParse(userId).success) return undefined;
  return compact({ enterpriseId: parsed.data.enterprise_id, teamId: parsed.data.team_id, userId });
}

function compact(principal: Principal): Principal {
  return principal.enterpriseId ? principal : { teamId: principal.teamId, userId: principal.userId };
}
