// The load benchmark's floor: a bare Bolt app that acks /agent with a constant, in a process of
// its own as Deputy is. Plain JS, started with plain node like Deputy's production build.
import bolt from '@slack/bolt';

const { App } = bolt;
const app = new App({
  signingSecret: process.env.SLACK_SIGNING_SECRET,
  token: process.env.SLACK_BOT_TOKEN,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});
app.command('/agent', async ({ ack }) => ack({ response_type: 'ephemeral', text: 'ok' }));
await app.start(Number(process.env.PORT));
process.stdout.write('bare app listening\n');
process.on('SIGTERM', () => app.stop().then(() => process.exit(0)));
