import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { freePort } from '../../src/http.js';
import { runSkillsSync } from '../../src/skills-sync.js';
import { type DynamoHandle, startEmbeddedDynamo } from '../../src/store/index.js';
import { liveEnvironment } from '../support/live.js';

/**
 * `npm run skills:sync` (issue 16, item 1) against the emulators: a skills folder syncs; an unchanged
 * skill uploads nothing; a changed one becomes a new version; a malformed one is refused by name and
 * nothing of it is uploaded; nothing is deleted unless asked.
 */
let sandbox: Sandbox;
let dynamo: DynamoHandle;
let live: Record<string, string>;
let anthropic: Anthropic;
const folder = mkdtempSync(join(tmpdir(), 'deputy-skills-'));
const BETAS = { betas: ['skills-2025-10-02'] };

function skill(name: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(folder, name, path, '..'), { recursive: true });
    writeFileSync(join(folder, name, path), text);
  }
}
const skillMd = (name: string, description: string, body = 'Steps.') =>
  `---\nname: ${name}\ndescription: ${description}\n---\n\n${body}\n`;

beforeAll(async () => {
  const port = await freePort();
  sandbox = await startSandbox({ publicBaseUrl: `http://127.0.0.1:${port}` });
  dynamo = await startEmbeddedDynamo();
  anthropic = new Anthropic(sandbox.anthropicOptions);
  live = liveEnvironment(sandbox, dynamo, { port, tablePrefix: 'skills-' });
  skill('release-notes', {
    'SKILL.md': skillMd('release-notes', 'Write release notes from merged pull requests.'),
    'templates/notes.md': '# Release {{version}}\n',
  });
  skill('triage', { 'SKILL.md': skillMd('triage', 'Sort new issues by area and urgency.') });
  skill('no-skill-md', { 'README.md': 'Forgot the SKILL.md.' });
  skill('bad-name', { 'SKILL.md': skillMd('Bad_Name', 'Names must be kebab-case.') });
  skill('huge', {
    'SKILL.md': skillMd('huge', 'Carries too much.'),
    'data.txt': 'x'.repeat(8 * 1024 * 1024),
  });
}, 60_000);
afterAll(async () => {
  await sandbox.close();
  await dynamo.close();
  rmSync(folder, { recursive: true, force: true });
});

const uploads = () =>
  sandbox.managedAgents.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v1/skills'));
async function customSkills() {
  const found = [];
  for await (const s of anthropic.beta.skills.list({ source: 'custom', ...BETAS })) found.push(s);
  return found;
}
const sync = (options: { dryRun?: boolean; prune?: boolean } = {}) =>
  runSkillsSync({
    environment: live,
    folder,
    dryRun: options.dryRun ?? false,
    prune: options.prune ?? false,
  });

test('a dry run uploads nothing; a sync creates each good skill once and refuses each malformed one by name', async () => {
  const dry = await sync({ dryRun: true });
  expect(dry.lines).toEqual(expect.arrayContaining(['would create release-notes', 'would create triage']));
  expect(uploads()).toEqual([]);

  const report = await sync();
  expect(report.ok).toBe(false);
  expect(report.lines).toEqual(
    expect.arrayContaining([
      'refused no-skill-md: no SKILL.md at its root (nothing of it uploaded)',
      expect.stringMatching(/^refused bad-name: SKILL.md front matter needs a name/),
      expect.stringMatching(/^refused huge: 8,388,6\d\d bytes; a skill may have at most 8,388,608/),
      expect.stringMatching(/^created release-notes \(version skillver_/),
      expect.stringMatching(/^created triage \(version skillver_/),
    ]),
  );
  const skills = await customSkills();
  expect(skills.map((s) => s.display_name).sort()).toEqual(['release-notes', 'triage']);
  const notes = skills.find((s) => s.display_name === 'release-notes');
  const [version, ...more] = (await anthropic.beta.skills.versions.list(notes?.id ?? '', BETAS)).data;
  expect(more).toEqual([]);
  expect(version).toMatchObject({
    name: 'release-notes',
    description: 'Write release notes from merged pull requests.',
  });
  expect(uploads()).toHaveLength(2);
});

test('run again, an unchanged skill uploads nothing; a changed one becomes a new version of the same skill', async () => {
  const before = uploads().length;
  const again = await sync();
  expect(again.lines).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^unchanged release-notes/),
      expect.stringMatching(/^unchanged triage/),
    ]),
  );
  expect(uploads()).toHaveLength(before);

  skill('triage', { 'SKILL.md': skillMd('triage', 'Sort new issues by area and urgency.', 'New steps.') });
  const changed = await sync();
  expect(changed.lines).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^uploaded a new version of triage/),
      expect.stringMatching(/^unchanged release-notes/),
    ]),
  );
  const triage = (await customSkills()).find((s) => s.display_name === 'triage');
  const versions = (await anthropic.beta.skills.versions.list(triage?.id ?? '', BETAS)).data;
  expect(versions).toHaveLength(2);
  expect(triage?.latest_version_id).toBe(versions[0]?.id);
  expect((await customSkills()).filter((s) => s.display_name === 'triage')).toHaveLength(1);
});

test('a skill gone from the folder is kept unless --prune; with it, it is deleted', async () => {
  rmSync(join(folder, 'release-notes'), { recursive: true });
  const kept = await sync();
  expect(kept.lines).toContain('kept release-notes: no longer in the folder (--prune deletes it)');
  expect((await customSkills()).map((s) => s.display_name)).toContain('release-notes');
  const pruned = await sync({ prune: true });
  expect(pruned.lines).toContain('deleted release-notes');
  expect((await customSkills()).map((s) => s.display_name)).toEqual(['triage']);
});
