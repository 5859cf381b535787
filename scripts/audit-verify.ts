import { runAuditVerify } from '../src/audit/offline.js';
import { runCommand } from './command.js';

// `npm run audit:verify [-- --file export.jsonl]`: walks every hash chain of the audit table (or of
// an export) and reports the first edited, deleted or inserted record; exits 1 when it is not intact.
await runCommand('Audit verification', { file: { type: 'string' } }, (values) =>
  runAuditVerify({
    environment: process.env,
    ...(typeof values.file === 'string' ? { file: values.file } : {}),
  }),
);
