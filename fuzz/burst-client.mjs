// The burst's stand-in for Slack, in a process of its own, so that neither its sockets nor its event
// loop count against Deputy's memory and time. It reads {url, signingSecret, timestamp, bodies} as
// JSON on stdin, sends every body at once, signed, and writes one answer per body as JSON on stdout:
// the status, whether Deputy said it was busy, and the milliseconds from the request being sent to
// its answer. Plain JS so that it needs no loader.
import { createHmac } from 'node:crypto';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { url, signingSecret, timestamp, bodies } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const target = new URL(url);
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });

const answers = await Promise.all(
  bodies.map(
    (body) =>
      new Promise((resolve) => {
        let sentAt = performance.now();
        const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
        const req = request(
          { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent },
          (res) => {
            const parts = [];
            res.on('data', (part) => parts.push(part));
            res.on('end', () => {
              const text = Buffer.concat(parts).toString('utf8');
              resolve({
                status: res.statusCode,
                busy: text.includes('Deputy is busy'),
                ms: performance.now() - sentAt,
              });
            });
          },
        );
        req.on('finish', () => {
          sentAt = performance.now();
        });
        req.on('error', (error) =>
          resolve({ status: 0, busy: false, ms: performance.now() - sentAt, error: String(error) }),
        );
        req.setHeader('content-type', 'application/x-www-form-urlencoded');
        req.setHeader('x-slack-request-timestamp', String(timestamp));
        req.setHeader('x-slack-signature', signature);
        req.end(body);
      }),
  ),
);
agent.destroy();
process.stdout.write(JSON.stringify(answers));
