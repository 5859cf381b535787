import type {
  BetaCloudConfig,
  BetaEnvironment,
} from '@anthropic-ai/sdk/resources/beta/environments/environments';
import { z } from 'zod';
import { badRequest, conflict } from './errors.js';
import { LIST_LIMITS, paginate } from './pagination.js';
import type { Router } from './router.js';
import type { EmulatorState, EnvironmentRecord } from './store.js';
import { applyMetadataPatch, metadataPatchSchema, metadataSchema, parseBody } from './validation.js';

const packageList = z.array(z.string().min(1)).nullish();
const networking = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('unrestricted') }),
  z.strictObject({
    type: z.literal('limited'),
    allowed_hosts: z.array(z.string().min(1)).nullish(),
    allow_mcp_servers: z.boolean().nullish(),
    allow_package_managers: z.boolean().nullish(),
  }),
]);
const configSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('cloud'),
    networking: networking.nullish(),
    packages: z
      .strictObject({
        type: z.literal('packages').optional(),
        apt: packageList,
        cargo: packageList,
        gem: packageList,
        go: packageList,
        npm: packageList,
        pip: packageList,
      })
      .nullish(),
  }),
  z.strictObject({ type: z.literal('self_hosted') }),
]);
type ConfigParams = z.infer<typeof configSchema>;

const name = z.string().min(1).max(256);
const scope = z.enum(['organization', 'account']);

const environmentCreateSchema = z.strictObject({
  name,
  config: configSchema.nullish(),
  description: z.string().max(2048).nullish(),
  metadata: metadataSchema.optional(),
  scope: scope.nullish(),
});

const environmentUpdateSchema = z.strictObject({
  name: name.nullish(),
  config: configSchema.nullish(),
  description: z.string().max(2048).nullish(),
  metadata: metadataPatchSchema.optional(),
  scope: scope.nullish(),
});

/**
 * The config as stored, from create's params or (given `current`) an update's: on update a field
 * left out (or null) keeps its value, as the API documents for limited networking and packages.
 */
function resolveConfig(
  config: ConfigParams | null | undefined,
  current?: BetaEnvironment['config'],
): BetaEnvironment['config'] {
  if (config?.type === 'self_hosted') return { type: 'self_hosted' };
  const before = current?.type === 'cloud' ? current : undefined;
  const keptNet = before?.networking.type === 'limited' ? before.networking : undefined;
  const given = config?.networking;
  const net =
    given?.type === 'limited'
      ? {
          type: 'limited' as const,
          allowed_hosts: given.allowed_hosts ?? keptNet?.allowed_hosts,
          allow_mcp_servers: given.allow_mcp_servers ?? keptNet?.allow_mcp_servers,
          allow_package_managers: given.allow_package_managers ?? keptNet?.allow_package_managers,
        }
      : (given ?? before?.networking);
  const packages = config?.packages ?? before?.packages;
  const anyPackages = Object.values(packages ?? {}).some((list) => Array.isArray(list) && list.length > 0);
  // Packages are installed from the registries: a limited network must let the session reach them.
  if (anyPackages && net?.type === 'limited' && !net.allow_package_managers)
    throw badRequest('config.networking.allow_package_managers must be true when packages are specified');
  const resolved: BetaCloudConfig = {
    type: 'cloud',
    networking:
      net?.type === 'limited'
        ? {
            type: 'limited',
            allowed_hosts: net.allowed_hosts ?? [],
            allow_mcp_servers: net.allow_mcp_servers ?? false,
            allow_package_managers: net.allow_package_managers ?? false,
          }
        : { type: 'unrestricted' },
    packages: {
      type: 'packages',
      apt: packages?.apt ?? [],
      cargo: packages?.cargo ?? [],
      gem: packages?.gem ?? [],
      go: packages?.go ?? [],
      npm: packages?.npm ?? [],
      pip: packages?.pip ?? [],
    },
  };
  return resolved;
}

export function registerEnvironmentRoutes(router: Router, state: EmulatorState): void {
  const view = (record: EnvironmentRecord): BetaEnvironment => structuredClone(record.value);
  const assertNameFree = (candidate: string, self?: string): void => {
    const taken = [...state.environments.values()].some(
      (e) => e.value.name === candidate && e.value.id !== self && !e.value.archived_at,
    );
    if (taken) throw conflict(`An environment named "${candidate}" already exists`);
  };

  router.on('POST', '/v1/environments', ({ body }) => {
    const input = parseBody(environmentCreateSchema, body);
    assertNameFree(input.name);
    const now = state.now();
    const record: EnvironmentRecord = {
      seq: state.nextSeq(),
      value: {
        id: state.ids.next('env'),
        type: 'environment',
        name: input.name,
        description: input.description ?? null,
        config: resolveConfig(input.config),
        metadata: input.metadata ?? {},
        scope: input.scope ?? 'organization',
        archived_at: null,
        created_at: now,
        updated_at: now,
      },
    };
    state.environments.set(record.value.id, record);
    return view(record);
  });

  router.on('GET', '/v1/environments/:environment_id', ({ params }) =>
    view(state.environment(params.environment_id ?? '')),
  );

  router.on('POST', '/v1/environments/:environment_id', ({ params, body }) => {
    const record = state.environment(params.environment_id ?? '');
    const input = parseBody(environmentUpdateSchema, body);
    if (record.value.archived_at) {
      throw badRequest(`Environment ${record.value.id} is archived`, 'environment_archived');
    }
    if (input.config && input.config.type !== record.value.config.type) {
      throw badRequest(
        `config.type cannot change from ${record.value.config.type} to ${input.config.type}`,
        'invalid_config_type_change',
      );
    }
    if (input.name) assertNameFree(input.name, record.value.id);
    record.value = {
      ...record.value,
      name: input.name ?? record.value.name,
      description: input.description === undefined ? record.value.description : input.description || null,
      config: input.config ? resolveConfig(input.config, record.value.config) : record.value.config,
      metadata: applyMetadataPatch(record.value.metadata, input.metadata),
      scope: input.scope ?? record.value.scope,
      updated_at: state.now(),
    };
    return view(record);
  });

  router.on('GET', '/v1/environments', ({ query }) => {
    const includeArchived = query.boolean('include_archived') ?? false;
    const records = [...state.environments.values()].filter((e) => includeArchived || !e.value.archived_at);
    const page = paginate(records, query, { order: 'desc', ...LIST_LIMITS });
    return { ...page, data: page.data.map(view) };
  });

  router.on('DELETE', '/v1/environments/:environment_id', ({ params }) => {
    const record = state.environment(params.environment_id ?? '');
    state.environments.delete(record.value.id);
    return { id: record.value.id, type: 'environment_deleted' };
  });

  router.on('POST', '/v1/environments/:environment_id/archive', ({ params }) => {
    const record = state.environment(params.environment_id ?? '');
    if (!record.value.archived_at) {
      const now = state.now();
      record.value = { ...record.value, archived_at: now, updated_at: now };
    }
    return view(record);
  });
}
