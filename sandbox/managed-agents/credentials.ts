import type {
  BetaManagedAgentsCredential,
  BetaManagedAgentsCredentialValidation,
  BetaManagedAgentsMCPOAuthAuthResponse,
} from '@anthropic-ai/sdk/resources/beta/vaults/credentials';
import { z } from 'zod';
import { badRequest, conflict } from './errors.js';
import { LIST_LIMITS, paginate } from './pagination.js';
import type { Router } from './router.js';
import type { CredentialRecord, CredentialSecrets, EmulatorState } from './store.js';
import {
  applyMetadataPatch,
  httpUrl,
  metadataPatchSchema,
  metadataSchema,
  normalizeUrl,
  parseBody,
  rfc3339,
} from './validation.js';

export const MAX_CREDENTIALS_PER_VAULT = 20;

const secret = z.string().min(1).max(8192);
const clientSecret = z.string().min(1).max(1024);

const tokenEndpointAuth = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({ type: z.literal('client_secret_basic'), client_secret: clientSecret }),
  z.strictObject({ type: z.literal('client_secret_post'), client_secret: clientSecret }),
]);

const refreshCreate = z.strictObject({
  refresh_token: secret,
  client_id: z.string().min(1).max(1024),
  token_endpoint: httpUrl(2047),
  token_endpoint_auth: tokenEndpointAuth,
  resource: z.string().max(2047).nullish(),
  scope: z.string().max(2048).nullish(),
});

/** A bare hostname, an IPv4 address, or a `*.` wildcard: no scheme, port, path or IPv6. */
const allowedHost = z
  .string()
  .regex(/^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/, 'Input should be a hostname, IPv4 address or *.domain');

const networking = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('unrestricted') }),
  z.strictObject({ type: z.literal('limited'), allowed_hosts: z.array(allowedHost).min(1).max(16) }),
]);

const injectionLocation = z.strictObject({ header: z.boolean().optional(), body: z.boolean().optional() });

const authCreate = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('mcp_oauth'),
    mcp_server_url: httpUrl(2047),
    access_token: secret,
    expires_at: rfc3339.nullish(),
    refresh: refreshCreate.nullish(),
  }),
  z.strictObject({ type: z.literal('static_bearer'), mcp_server_url: httpUrl(2047), token: secret }),
  z.strictObject({
    type: z.literal('environment_variable'),
    secret_name: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'Input should be an environment variable name'),
    secret_value: secret,
    networking,
    injection_location: injectionLocation.optional(),
  }),
]);

const credentialCreateSchema = z.strictObject({
  auth: authCreate,
  display_name: z.string().max(255).nullish(),
  metadata: metadataSchema.optional(),
});

const clientSecretUpdate = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('client_secret_basic'), client_secret: clientSecret.nullish() }),
  z.strictObject({ type: z.literal('client_secret_post'), client_secret: clientSecret.nullish() }),
]);

const authUpdate = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('mcp_oauth'),
    access_token: secret.nullish(),
    expires_at: rfc3339.nullish(),
    refresh: z
      .strictObject({
        refresh_token: secret.nullish(),
        scope: z.string().max(2048).nullish(),
        token_endpoint_auth: clientSecretUpdate.optional(),
      })
      .nullish(),
  }),
  z.strictObject({ type: z.literal('static_bearer'), token: secret.nullish() }),
  z.strictObject({
    type: z.literal('environment_variable'),
    secret_value: secret.nullish(),
    networking: networking.nullish(),
    injection_location: injectionLocation.optional(),
  }),
]);

const credentialUpdateSchema = z.strictObject({
  auth: authUpdate.optional(),
  display_name: z.string().min(1).max(255).nullish(),
  metadata: metadataPatchSchema.optional(),
});

/** Fields fixed at create time; changing them means archive + create. */
const IMMUTABLE_AUTH_FIELDS = ['mcp_server_url', 'secret_name'] as const;
const IMMUTABLE_REFRESH_FIELDS = ['client_id', 'token_endpoint', 'resource'] as const;

/** The uniqueness key: one active credential per MCP server URL, or per secret name, per vault. */
function credentialKey(auth: BetaManagedAgentsCredential['auth']): string {
  return auth.type === 'environment_variable'
    ? `env:${auth.secret_name}`
    : `mcp:${normalizeUrl(auth.mcp_server_url)}`;
}

/** Archiving purges every secret and frees the credential's key for a new one. */
export function archiveCredentialRecord(record: CredentialRecord, now: string): void {
  if (record.value.archived_at) return;
  record.secrets = {};
  record.value = { ...record.value, archived_at: now, updated_at: now };
}

function requireFuture(state: EmulatorState, expiresAt: string | null | undefined): void {
  if (expiresAt && Date.parse(expiresAt) <= state.clock.now()) {
    throw badRequest('auth.expires_at: must be in the future');
  }
}

function createAuth(
  state: EmulatorState,
  auth: z.infer<typeof authCreate>,
): { value: BetaManagedAgentsCredential['auth']; secrets: CredentialSecrets } {
  switch (auth.type) {
    case 'mcp_oauth': {
      requireFuture(state, auth.expires_at);
      const refresh = auth.refresh ?? null;
      return {
        value: {
          type: 'mcp_oauth',
          mcp_server_url: auth.mcp_server_url,
          expires_at: auth.expires_at ? new Date(auth.expires_at).toISOString() : null,
          refresh: refresh && {
            client_id: refresh.client_id,
            token_endpoint: refresh.token_endpoint,
            token_endpoint_auth: { type: refresh.token_endpoint_auth.type },
            resource: refresh.resource ?? null,
            scope: refresh.scope ?? null,
          },
        },
        secrets: {
          access_token: auth.access_token,
          ...(refresh ? { refresh_token: refresh.refresh_token } : {}),
          ...(refresh && refresh.token_endpoint_auth.type !== 'none'
            ? { client_secret: refresh.token_endpoint_auth.client_secret }
            : {}),
        },
      };
    }
    case 'static_bearer':
      return {
        value: { type: 'static_bearer', mcp_server_url: auth.mcp_server_url },
        secrets: { token: auth.token },
      };
    case 'environment_variable': {
      // Unverified default: substitution in headers only unless the body is asked for.
      const location = {
        header: auth.injection_location?.header ?? true,
        body: auth.injection_location?.body ?? false,
      };
      if (!location.header && !location.body) {
        throw badRequest('auth.injection_location: at least one location must be enabled');
      }
      return {
        value: {
          type: 'environment_variable',
          secret_name: auth.secret_name,
          networking: auth.networking,
          injection_location: location,
        },
        secrets: { secret_value: auth.secret_value },
      };
    }
  }
}

function rejectImmutableChanges(body: unknown): void {
  const auth = (body as { auth?: Record<string, unknown> } | undefined)?.auth;
  if (!auth || typeof auth !== 'object') return;
  for (const field of IMMUTABLE_AUTH_FIELDS) {
    if (field in auth)
      throw badRequest(`auth.${field}: is immutable; archive this credential and create a new one`);
  }
  const refresh = auth.refresh as Record<string, unknown> | null | undefined;
  if (refresh && typeof refresh === 'object') {
    for (const field of IMMUTABLE_REFRESH_FIELDS) {
      if (field in refresh) {
        throw badRequest(`auth.refresh.${field}: is immutable; archive this credential and create a new one`);
      }
    }
  }
}

function updateAuth(state: EmulatorState, record: CredentialRecord, auth: z.infer<typeof authUpdate>): void {
  const current = record.value.auth;
  if (auth.type !== current.type) {
    throw badRequest(`auth.type: cannot change a ${current.type} credential to ${auth.type}`);
  }
  if (auth.type === 'mcp_oauth' && current.type === 'mcp_oauth') {
    requireFuture(state, auth.expires_at);
    const next: BetaManagedAgentsMCPOAuthAuthResponse = { ...current };
    if (auth.access_token) record.secrets.access_token = auth.access_token;
    if (auth.expires_at !== undefined) {
      next.expires_at = auth.expires_at ? new Date(auth.expires_at).toISOString() : null;
    }
    if (auth.refresh === null) {
      next.refresh = null;
      delete record.secrets.refresh_token;
      delete record.secrets.client_secret;
    } else if (auth.refresh) {
      if (!current.refresh) {
        throw badRequest('auth.refresh: this credential has no refresh configuration to update');
      }
      const refresh = { ...current.refresh };
      if (auth.refresh.refresh_token) record.secrets.refresh_token = auth.refresh.refresh_token;
      if (auth.refresh.scope !== undefined) refresh.scope = auth.refresh.scope || null;
      if (auth.refresh.token_endpoint_auth) {
        // A new client secret is accepted only for basic/post, and the stored method is kept.
        if (refresh.token_endpoint_auth.type === 'none') {
          throw badRequest('auth.refresh.token_endpoint_auth: this credential uses no client authentication');
        }
        if (auth.refresh.token_endpoint_auth.client_secret) {
          record.secrets.client_secret = auth.refresh.token_endpoint_auth.client_secret;
        }
      }
      next.refresh = refresh;
    }
    record.value.auth = next;
  } else if (auth.type === 'static_bearer') {
    if (auth.token) record.secrets.token = auth.token;
  } else if (auth.type === 'environment_variable' && current.type === 'environment_variable') {
    if (auth.secret_value) record.secrets.secret_value = auth.secret_value;
    const location = { ...current.injection_location, ...auth.injection_location };
    if (!location.header && !location.body) {
      throw badRequest('auth.injection_location: at least one location must stay enabled');
    }
    record.value.auth = {
      ...current,
      networking: auth.networking ?? current.networking,
      injection_location: location,
    };
  }
}

export function registerCredentialRoutes(router: Router, state: EmulatorState): void {
  const view = (record: CredentialRecord): BetaManagedAgentsCredential => structuredClone(record.value);
  const base = '/v1/vaults/:vault_id/credentials';

  router.on('POST', base, ({ params, body }) => {
    const vault = state.vault(params.vault_id ?? '');
    const input = parseBody(credentialCreateSchema, body);
    if (vault.value.archived_at) throw badRequest(`Vault ${vault.value.id} is archived and read-only`);
    const { value: auth, secrets } = createAuth(state, input.auth);
    const active = state.credentialsOf(vault.value.id).filter((c) => !c.value.archived_at);
    const key = credentialKey(auth);
    if (active.some((c) => credentialKey(c.value.auth) === key)) {
      const what =
        auth.type === 'environment_variable' ? `secret_name ${auth.secret_name}` : auth.mcp_server_url;
      throw conflict(`Vault ${vault.value.id} already has an active credential for ${what}`);
    }
    if (active.length >= MAX_CREDENTIALS_PER_VAULT) {
      throw badRequest(`Vault ${vault.value.id} already has ${MAX_CREDENTIALS_PER_VAULT} credentials`);
    }
    const now = state.now();
    const record: CredentialRecord = {
      seq: state.nextSeq(),
      value: {
        id: state.ids.next('vcrd'),
        type: 'vault_credential',
        vault_id: vault.value.id,
        display_name: input.display_name ?? null,
        auth,
        metadata: input.metadata ?? {},
        archived_at: null,
        created_at: now,
        updated_at: now,
      },
      secrets,
    };
    state.credentials.set(record.value.id, record);
    return view(record);
  });

  router.on('GET', `${base}/:credential_id`, ({ params }) =>
    view(state.credential(params.vault_id ?? '', params.credential_id ?? '')),
  );

  router.on('POST', `${base}/:credential_id`, ({ params, body }) => {
    const record = state.credential(params.vault_id ?? '', params.credential_id ?? '');
    rejectImmutableChanges(body);
    const input = parseBody(credentialUpdateSchema, body);
    if (record.value.archived_at) throw badRequest(`Credential ${record.value.id} is archived and read-only`);
    // Validate and apply on a copy so a rejected update changes nothing.
    const draft: CredentialRecord = {
      ...record,
      value: structuredClone(record.value),
      secrets: { ...record.secrets },
    };
    if (input.auth) updateAuth(state, draft, input.auth);
    draft.value.metadata = applyMetadataPatch(draft.value.metadata, input.metadata);
    if (input.display_name) draft.value.display_name = input.display_name;
    draft.value.updated_at = state.now();
    record.value = draft.value;
    record.secrets = draft.secrets;
    return view(record);
  });

  router.on('GET', base, ({ params, query }) => {
    const vault = state.vault(params.vault_id ?? '');
    const includeArchived = query.boolean('include_archived') ?? false;
    const records = state
      .credentialsOf(vault.value.id)
      .filter((c) => includeArchived || !c.value.archived_at);
    const page = paginate(records, query, { order: 'desc', ...LIST_LIMITS });
    return { ...page, data: page.data.map(view) };
  });

  router.on('DELETE', `${base}/:credential_id`, ({ params }) => {
    const record = state.credential(params.vault_id ?? '', params.credential_id ?? '');
    state.credentials.delete(record.value.id);
    return { id: record.value.id, type: 'vault_credential_deleted' };
  });

  router.on('POST', `${base}/:credential_id/archive`, ({ params }) => {
    const record = state.credential(params.vault_id ?? '', params.credential_id ?? '');
    archiveCredentialRecord(record, state.now());
    return view(record);
  });

  router.on('POST', `${base}/:credential_id/mcp_oauth_validate`, ({ params }) => {
    const record = state.credential(params.vault_id ?? '', params.credential_id ?? '');
    return validateCredential(state, record);
  });
}

/**
 * The emulator's `mcp_oauth_validate`: no live probe. A credential is `valid` while it holds an
 * unexpired access token; tests can force any status with `setCredentialValidation`.
 */
function validateCredential(
  state: EmulatorState,
  record: CredentialRecord,
): BetaManagedAgentsCredentialValidation {
  const auth = record.value.auth;
  if (auth.type !== 'mcp_oauth')
    throw badRequest(`Credential ${record.value.id} is not an mcp_oauth credential`);
  const expired = auth.expires_at ? Date.parse(auth.expires_at) <= state.clock.now() : false;
  const computed = record.secrets.access_token && !expired ? 'valid' : 'invalid';
  const status = state.forcedValidation.get(record.value.id) ?? computed;
  const hasRefreshToken = Boolean(record.secrets.refresh_token);
  return {
    type: 'vault_credential_validation',
    credential_id: record.value.id,
    vault_id: record.value.vault_id,
    validated_at: state.now(),
    has_refresh_token: hasRefreshToken,
    status,
    mcp_probe:
      status === 'invalid'
        ? {
            method: 'initialize',
            http_response: {
              status_code: 401,
              content_type: 'application/json',
              body: '{"error":"invalid_token"}',
              body_truncated: false,
            },
          }
        : null,
    refresh:
      status === 'invalid'
        ? hasRefreshToken
          ? {
              status: 'failed',
              http_response: {
                status_code: 400,
                content_type: 'application/json',
                body: '{"error":"invalid_grant"}',
                body_truncated: false,
              },
            }
          : { status: 'no_refresh_token', http_response: null }
        : null,
  };
}
