import type { ProviderBehaviour } from './options.js';
import type { ProviderState } from './state.js';

export const PRM_PATH = '/.well-known/oauth-protected-resource';
export const AS_METADATA_PATH = '/.well-known/oauth-authorization-server';

/** What the authorize endpoint accepts follows what the metadata advertises. */
export function pkceMethods(behaviour: ProviderBehaviour): readonly ('S256' | 'plain')[] {
  return behaviour.withoutS256 ? ['plain'] : ['S256'];
}

/** The resource the PRM advertises: the MCP URL unless a mismatch is switched on. */
export function advertisedResource(state: ProviderState): string {
  const mismatch = state.behaviour.resourceMismatch;
  if (mismatch === false) return state.config.mcpUrl;
  return mismatch === true ? `${state.config.url}/not-mcp` : mismatch;
}

/** RFC 9728 protected-resource metadata for the MCP endpoint. */
export function protectedResourceMetadata(state: ProviderState): Record<string, unknown> {
  const { url, name, scopes } = state.config;
  return {
    resource: advertisedResource(state),
    authorization_servers: [url],
    scopes_supported: [...scopes],
    bearer_methods_supported: ['header'],
    resource_name: name,
  };
}

/** RFC 8414 authorization-server metadata; optional endpoints come and go with the behaviour. */
export function authorizationServerMetadata(state: ProviderState): Record<string, unknown> {
  const { url, scopes } = state.config;
  const b = state.behaviour;
  const clientAuthMethods = ['none', 'client_secret_basic', 'client_secret_post'];
  return {
    issuer: url,
    authorization_endpoint: `${url}/authorize`,
    token_endpoint: `${url}/token`,
    ...(b.registration === 'absent' ? {} : { registration_endpoint: `${url}/register` }),
    ...(b.revocation
      ? {
          revocation_endpoint: `${url}/revoke`,
          revocation_endpoint_auth_methods_supported: clientAuthMethods,
        }
      : {}),
    scopes_supported: [...scopes],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_methods_supported: clientAuthMethods,
    code_challenge_methods_supported: [...pkceMethods(b)],
    authorization_response_iss_parameter_supported: true,
  };
}
