import { z } from 'zod';

const absoluteUrl = z.string().refine((value) => URL.canParse(value), 'must be an absolute URL');

/** RFC 9728 protected-resource metadata: only the fields Deputy reads; others pass through. */
export const ProtectedResourceMetadata = z.looseObject({
  resource: absoluteUrl,
  authorization_servers: z.array(absoluteUrl).min(1),
  scopes_supported: z.array(z.string()).optional(),
});
export type ProtectedResourceMetadata = z.infer<typeof ProtectedResourceMetadata>;

/** RFC 8414 authorization-server metadata (OIDC discovery documents share these fields). */
export const AuthorizationServerMetadata = z.looseObject({
  issuer: absoluteUrl,
  authorization_endpoint: absoluteUrl,
  token_endpoint: absoluteUrl,
  registration_endpoint: absoluteUrl.optional(),
  revocation_endpoint: absoluteUrl.optional(),
  scopes_supported: z.array(z.string()).optional(),
  response_types_supported: z.array(z.string()).optional(),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
  authorization_response_iss_parameter_supported: z.boolean().optional(),
});
export type AuthorizationServerMetadata = z.infer<typeof AuthorizationServerMetadata>;

/** RFC 7591 §3.2.1 registration response: the id, and how the server chose to treat the client. */
export const ClientRegistrationResponse = z.looseObject({
  client_id: z.string().min(1),
  token_endpoint_auth_method: z.string().optional(),
});
