import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type Anthropic from '@anthropic-ai/sdk';
import { toFile } from '@anthropic-ai/sdk';
import { parse } from 'yaml';
import type { Clock } from '../clock.js';
import { exactlyOnce } from '../outcome.js';
import type { Store, SyncedSkill } from '../store/index.js';

/** The Skills API's beta: the SDK names none for it, so every call does. */
export const SKILLS_BETA = ['skills-2025-10-02'];

/** A skill an admin may give an agent, at the version it would be pinned to. */
export interface SkillChoice {
  type: 'custom' | 'anthropic';
  skillId: string;
  name: string;
  version: string;
}
/** The stricter published limits of one upload. */
const MAX_FILES = 200;
const MAX_BYTES = 8 * 1024 * 1024;
const SKILL_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const RESERVED_WORDS = ['anthropic', 'claude'];

/** A skill in the skills folder, read and checked: what an upload of it would hold. */
export interface LocalSkill {
  name: string;
  description: string;
  files: Array<{ path: string; content: Buffer }>;
  /** Of every file's path and content: equal hashes, equal skills. */
  contentHash: string;
}

/** A folder that is not a valid skill, and why (nothing of it is uploaded). */
export interface SkillProblem {
  name: string;
  problem: string;
}

/**
 * Reads every skill in `folder` (one folder each, with a SKILL.md whose front matter names it and
 * says what it is for). A malformed one is reported by its folder's name and left out whole.
 */
export async function readSkillsFolder(
  folder: string,
): Promise<{ skills: LocalSkill[]; problems: SkillProblem[] }> {
  const skills: LocalSkill[] = [];
  const problems: SkillProblem[] = [];
  const entries = await readdir(folder, { withFileTypes: true });
  for (const entry of entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).sort(byName)) {
    const problem = (text: string) => problems.push({ name: entry.name, problem: text });
    const files = await filesUnder(join(folder, entry.name));
    const total = files.reduce((sum, file) => sum + file.content.length, 0);
    const skillMd = files.find((file) => file.path === 'SKILL.md');
    if (!skillMd) {
      problem('no SKILL.md at its root');
      continue;
    }
    if (files.length > MAX_FILES) {
      problem(`${files.length} files; a skill may have at most ${MAX_FILES}`);
      continue;
    }
    if (total > MAX_BYTES) {
      problem(
        `${total.toLocaleString('en')} bytes; a skill may have at most ${MAX_BYTES.toLocaleString('en')}`,
      );
      continue;
    }
    const front = frontMatter(skillMd.content.toString('utf8'));
    if (typeof front === 'string') {
      problem(front);
      continue;
    }
    if (front.name !== entry.name) {
      problem(`its SKILL.md names it "${front.name}"; the folder and the name must be the same`);
      continue;
    }
    const hash = createHash('sha256');
    for (const file of files)
      hash.update(`${file.path}\0${createHash('sha256').update(file.content).digest('hex')}\n`);
    skills.push({ name: front.name, description: front.description, files, contentHash: hash.digest('hex') });
  }
  return { skills, problems };
}

/** A SKILL.md's front matter (its name and description), or what is wrong with it. */
function frontMatter(text: string): { name: string; description: string } | string {
  const match = /^---\r?\n([\s\S]*?)\r?\n---(?:\r?\n|$)/.exec(text);
  if (!match) return 'SKILL.md has no front matter between --- lines';
  let fields: unknown;
  try {
    fields = parse(match[1] ?? '');
  } catch {
    return 'SKILL.md front matter is not valid YAML';
  }
  const { name, description } = (fields ?? {}) as { name?: unknown; description?: unknown };
  if (typeof name !== 'string' || name.length > 64 || !SKILL_NAME.test(name))
    return 'SKILL.md front matter needs a name: kebab-case, at most 64 characters';
  if (RESERVED_WORDS.some((word) => name.includes(word)))
    return `SKILL.md name may not contain ${RESERVED_WORDS.join(' or ')}`;
  if (
    typeof description !== 'string' ||
    !description.trim() ||
    description.length > 1024 ||
    /<[^>]+>/.test(description)
  )
    return 'SKILL.md front matter needs a description: at most 1,024 characters, without XML tags';
  return { name, description: description.trim() };
}

/** Every regular file under `root` (dot-files left out), by path relative to it, in path order. */
async function filesUnder(root: string): Promise<Array<{ path: string; content: Buffer }>> {
  const files: Array<{ path: string; content: Buffer }> = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const full = join(entry.parentPath, entry.name);
    const path = relative(root, full).split(sep).join('/');
    if (path.split('/').some((segment) => segment.startsWith('.'))) continue;
    if (!entry.isFile() || !(await stat(full)).isFile()) continue;
    files.push({ path, content: await readFile(full) });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

/** What a sync did (or, on a dry run, would do), one line per skill, and whether all went well. */
export interface SyncReport {
  lines: string[];
  ok: boolean;
}

/**
 * `npm run skills:sync` (docs/architecture.md#skills): every skill of the folder uploaded once per
 * change of its content, as a new skill or a new version of it; nothing deleted unless `prune`.
 * The store keeps which skill, version and content hash each is, so an unchanged one uploads nothing.
 */
export class SkillSync {
  constructor(private readonly deps: { anthropic: Anthropic; store: Store; clock: Clock }) {}

  async sync(folder: string, options: { dryRun: boolean; prune: boolean }): Promise<SyncReport> {
    const { skills, problems } = await readSkillsFolder(folder);
    const lines = problems.map((p) => `refused ${p.name}: ${p.problem} (nothing of it uploaded)`);
    const synced = new Map((await this.deps.store.skills.list()).map((s) => [s.name, s]));
    const would = (done: string, planned: string) => (options.dryRun ? planned : done);
    for (const skill of skills) {
      const known = synced.get(skill.name);
      if (known?.contentHash === skill.contentHash) {
        lines.push(`unchanged ${skill.name} (version ${known.versionId})`);
        continue;
      }
      if (options.dryRun) {
        lines.push(`${known ? 'would upload a new version of' : 'would create'} ${skill.name}`);
        continue;
      }
      const record = known ? await this.newVersion(known.skillId, skill) : await this.create(skill);
      lines.push(
        `${known ? 'uploaded a new version of' : 'created'} ${skill.name} (version ${record.versionId})`,
      );
    }
    const local = new Set([...skills.map((s) => s.name), ...problems.map((p) => p.name)]);
    for (const gone of [...synced.values()].filter((s) => !local.has(s.name))) {
      if (!options.prune) {
        lines.push(`kept ${gone.name}: no longer in the folder (--prune deletes it)`);
        continue;
      }
      if (!options.dryRun) await this.remove(gone);
      lines.push(`${would('deleted', 'would delete')} ${gone.name}`);
    }
    return { lines, ok: problems.length === 0 };
  }

  /**
   * A new skill. A create whose answer was lost is found by its name (its display name) rather than
   * made twice; a skill of that name made before the store knew it is taken as this one's.
   */
  private async create(skill: LocalSkill): Promise<SyncedSkill> {
    const existing = await this.findByName(skill.name);
    if (existing) return this.newVersion(existing, skill);
    const created = await exactlyOnce(
      this.deps.clock,
      async () =>
        this.deps.anthropic.beta.skills.create(
          { display_name: skill.name, files: await uploadFiles(skill), betas: SKILLS_BETA },
          { maxRetries: 0 },
        ),
      async () => {
        const id = await this.findByName(skill.name);
        return id ? this.deps.anthropic.beta.skills.retrieve(id, { betas: SKILLS_BETA }) : undefined;
      },
    );
    return this.record(skill, created.id, created.latest_version_id);
  }

  private async newVersion(skillId: string, skill: LocalSkill): Promise<SyncedSkill> {
    const version = await this.deps.anthropic.beta.skills.versions.create(skillId, {
      files: await uploadFiles(skill),
      betas: SKILLS_BETA,
    });
    return this.record(skill, skillId, version.id);
  }

  private async record(skill: LocalSkill, skillId: string, versionId: string): Promise<SyncedSkill> {
    const record: SyncedSkill = {
      name: skill.name,
      skillId,
      versionId,
      description: skill.description,
      contentHash: skill.contentHash,
      syncedAt: new Date(this.deps.clock.now()).toISOString(),
    };
    await this.deps.store.skills.put(record);
    return record;
  }

  /** A synced skill gone from the folder, deleted at Anthropic (its versions first) and here. */
  private async remove(skill: SyncedSkill): Promise<void> {
    const { anthropic } = this.deps;
    const versions = [];
    for await (const version of anthropic.beta.skills.versions.list(skill.skillId, { betas: SKILLS_BETA }))
      versions.push(version.id);
    for (const version of versions)
      await anthropic.beta.skills.versions.delete(version, { skill_id: skill.skillId, betas: SKILLS_BETA });
    await anthropic.beta.skills.delete(skill.skillId, { betas: SKILLS_BETA });
    await this.deps.store.skills.remove(skill.name);
  }

  private async findByName(name: string): Promise<string | undefined> {
    for await (const found of this.deps.anthropic.beta.skills.list({ source: 'custom', betas: SKILLS_BETA }))
      if (found.display_name === name) return found.id;
    return undefined;
  }
}

/** The skill's files as the API takes them: each under the skill's own top-level directory. */
function uploadFiles(skill: LocalSkill) {
  return Promise.all(skill.files.map((file) => toFile(file.content, `${skill.name}/${file.path}`)));
}
