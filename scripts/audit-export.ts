import { runAuditExport } from '../src/audit/offline.js';
import { runCommand } from './command.js';

// `npm run audit:export -- --from 2026-11-01 --to 2026-11-30 [--person U…] [--out file.jsonl]`: the
// audit records of a time range or a person as JSON Lines, oldest first, printed or written to a file.
await runCommand(
  'Audit export',
  { from: { type: 'string' }, to: { type: 'string' }, person: { type: 'string' }, out: { type: 'string' } },
  ({ from, to, person, out }) =>
    runAuditExport({
      environment: process.env,
      selection: { from, to, person },
      ...(typeof out === 'string' ? { out } : {}),
    }),
);
