import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@jest/globals';

/** Confirm buttons that destroy or cut someone off: Slack shows them red only with `style: danger`. */
const DESTRUCTIVE = /^(Disconnect|Remove|Revoke|Suspend|Forget|Stop|Delete)/;

test('every confirmation dialog whose button destroys or cuts someone off is styled as danger (issue 20, item 3)', () => {
  const dialogs = readdirSync('src/blocks')
    .filter((name) => name.endsWith('.ts'))
    .flatMap((name) => {
      const text = readFileSync(join('src/blocks', name), 'utf8');
      // Each `confirmDialog({ … })` call's argument, up to its closing `})`.
      return [...text.matchAll(/confirmDialog\(\{([\s\S]*?)\}\)/g)].map((m) => ({ name, body: m[1] ?? '' }));
    });
  const destructive = dialogs.filter(({ body }) => {
    const confirm = /confirm:\s*'([^']+)'/.exec(body)?.[1];
    return confirm !== undefined && DESTRUCTIVE.test(confirm);
  });
  expect(destructive.length).toBeGreaterThanOrEqual(3);
  expect(
    destructive
      .filter(({ body }) => !/danger:\s*true/.test(body))
      .map(({ name, body }) => `${name}: ${body.trim()}`),
  ).toEqual([]);
});
