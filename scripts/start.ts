// `npm start`: with Slack and Anthropic credentials, the product (src/main.ts) and nothing else;
// without them, the sandbox around it (sandbox/main.ts). Which one is the configuration's rule.
import { wantsSandbox } from '../src/config.js';

await import(wantsSandbox(process.env) ? '../sandbox/main.js' : '../src/main.js');
