import { formatChecklist, runDoctor } from '../src/doctor.js';

// `npm run doctor`: checks this environment's live configuration and prints a checklist; exits 1
// when any check fails.
const checks = await runDoctor({ environment: process.env });
process.stdout.write(formatChecklist(checks), () => {
  // Clients' idle connections would keep the process up: the checklist is all it had to do.
  process.exit(checks.some((check) => check.status === 'fail') ? 1 : 0);
});
