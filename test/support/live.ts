import type { Sandbox } from '../../sandbox/index.js';
import type { DynamoHandle } from '../../src/store/index.js';

/**
 * A live configuration pointing at the sandbox's emulators and a local DynamoDB, as the deployment
 * commands (`npm run setup`, `npm run skills:sync`) read it from the environment.
 */
export function liveEnvironment(
  sandbox: Sandbox,
  dynamo: DynamoHandle,
  options: { port: number; tablePrefix: string },
): Record<string, string> {
  // The AWS SDK reads credentials from the process; the local engine takes any.
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  return {
    PORT: String(options.port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${options.port}`,
    SLACK_SIGNING_SECRET: sandbox.signingSecret,
    SLACK_BOT_TOKEN: sandbox.slack.botToken,
    SLACK_API_URL: sandbox.slackConnection.apiUrl ?? '',
    ANTHROPIC_API_KEY: sandbox.anthropicOptions.apiKey,
    ANTHROPIC_BASE_URL: sandbox.anthropicOptions.baseURL,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    AWS_REGION: 'eu-west-1',
    DEPUTY_TABLE_PREFIX: options.tablePrefix,
    // The emulators listen on loopback.
    DEPUTY_ALLOW_PRIVATE_NETWORK: 'true',
  };
}
