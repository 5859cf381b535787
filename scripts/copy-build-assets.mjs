// `npm run build` copies what the compiled app reads from beside its modules: the workspace page's
// script and styles, and the connector catalog (runtime.ts looks for ../connectors.yml).
import { cpSync } from 'node:fs';

cpSync('src/sandbox/workspace/assets', 'dist/src/sandbox/workspace/assets', { recursive: true });
cpSync('connectors.yml', 'dist/connectors.yml');
