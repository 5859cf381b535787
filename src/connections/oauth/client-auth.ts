/**
 * How Deputy proves who it is at a token or revocation endpoint. `none` is a public client (the
 * dynamically registered MCP clients; PKCE is the proof); the secrets belong to pre-registered
 * apps from configuration and are never stored.
 */
export type ClientAuth =
  | { type: 'none' }
  | { type: 'client_secret_basic'; clientSecret: string }
  | { type: 'client_secret_post'; clientSecret: string };

/**
 * The form fields and headers that carry the client's identity. Basic uses the raw
 * `client_id:client_secret` (as Notion and the MCP SDK do), not RFC 6749's form-encoded pair:
 * encoding turns the dashes of UUID client ids into `%2D`, which some providers then reject.
 */
export function withClientAuth(
  clientId: string,
  auth: ClientAuth,
  form: Record<string, string>,
): { form: Record<string, string>; headers: Record<string, string> } {
  switch (auth.type) {
    case 'none':
      return { form: { ...form, client_id: clientId }, headers: {} };
    case 'client_secret_post':
      return { form: { ...form, client_id: clientId, client_secret: auth.clientSecret }, headers: {} };
    case 'client_secret_basic': {
      const credentials = Buffer.from(`${clientId}:${auth.clientSecret}`, 'utf8').toString('base64');
      return { form, headers: { authorization: `Basic ${credentials}` } };
    }
  }
}
