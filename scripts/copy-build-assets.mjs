// `npm run build` copies what the compiled app reads from beside its modules: the connector catalog
// (src/runtime.ts looks for ../connectors.yml).
import { cpSync } from 'node:fs';

cpSync('connectors.yml', 'dist/connectors.yml');
