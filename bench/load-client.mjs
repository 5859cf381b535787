// The benchmark's stand-in for Slack: a worker thread with its own event loop, so the time to an
// ack is not inflated by work the app does after acking (Slack would not wait for that either).
// It signs and sends requests and answers with the milliseconds each took: one request per
// message, or a burst (`{ burst: [...] }`) sent all at once, answered together.
// Plain JS because tsx's loader does not reach worker threads on Node 20.
import { createHmac } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';

async function send({ url, body, signingSecret }) {
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signature,
    },
    body,
  });
  const text = await response.text();
  return { status: response.status, ms: performance.now() - started, text };
}

parentPort?.on('message', async (message) => {
  if (Array.isArray(message.burst)) {
    parentPort?.postMessage(await Promise.all(message.burst.map(send)));
    return;
  }
  parentPort?.postMessage(await send(message));
});
