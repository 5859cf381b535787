import type { BetaSkill } from '@anthropic-ai/sdk/resources/beta/skills/skills';
import type { BetaSkillVersion } from '@anthropic-ai/sdk/resources/beta/skills/versions';
import { parse } from 'yaml';
import { badRequest, conflict, notFound } from './errors.js';
import { LIST_LIMITS, paginate } from './pagination.js';
import type { Router } from './router.js';
import type { EmulatorState } from './store.js';

/**
 * The Skills API (beta `skills-2025-10-02`): custom skills uploaded as multipart forms of files under
 * one top-level directory with a SKILL.md at its root, each upload an immutable version; and
 * Anthropic's own skills, listed with `source=anthropic`. Limits are the stricter published ones.
 */

/** At most this many files, and this many bytes in all, per upload. */
export const MAX_SKILL_FILES = 200;
export const MAX_SKILL_BYTES = 8 * 1024 * 1024;
/** Front matter: a kebab-case name of at most 64 characters and a description of at most 1,024. */
const NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const RESERVED = ['anthropic', 'claude'];

/** Anthropic's skills every organisation has (their ids are their names). */
export const ANTHROPIC_SKILLS = ['docx', 'pdf', 'pptx', 'xlsx'] as const;

export interface SkillRecord {
  seq: number;
  value: BetaSkill;
  /** The slug every version must keep (from the first upload's front matter). */
  name: string;
  versions: Array<BetaSkillVersion & { files: Map<string, Buffer> }>;
}

/** What an upload's files say, or the 400 that refuses it. */
async function readUpload(
  form: unknown,
): Promise<{ name: string; description: string; files: Map<string, Buffer>; displayName?: string }> {
  if (!(form instanceof FormData)) throw badRequest('files: skills are uploaded as multipart/form-data');
  const parts = [...form.getAll('files'), ...form.getAll('files[]')].filter(
    (part): part is File => typeof part !== 'string',
  );
  if (parts.length === 0) throw badRequest('files: at least one file is required');
  if (parts.length > MAX_SKILL_FILES) throw badRequest(`files: at most ${MAX_SKILL_FILES} files`);
  const files = new Map<string, Buffer>();
  let total = 0;
  for (const part of parts) {
    const path = part.name;
    if (
      !path ||
      path.startsWith('/') ||
      path.includes('\\') ||
      path.split('/').some((s) => s === '..' || s === '.')
    )
      throw badRequest(`files: "${path}" is not a relative path`);
    if (files.has(path)) throw badRequest(`files: "${path}" appears twice`);
    const content = Buffer.from(await part.arrayBuffer());
    total += content.length;
    files.set(path, content);
  }
  if (total > MAX_SKILL_BYTES) throw badRequest(`files: at most ${MAX_SKILL_BYTES} bytes in all`);
  const tops = new Set([...files.keys()].map((path) => path.split('/')[0]));
  const [top] = tops;
  if (tops.size !== 1 || !top || [...files.keys()].some((path) => !path.includes('/')))
    throw badRequest('files: all files must be in the same top-level directory');
  const skillMd = files.get(`${top}/SKILL.md`);
  if (!skillMd) throw badRequest(`files: ${top}/SKILL.md is required at the root of the directory`);
  const match = /^---\r?\n([\s\S]*?)\r?\n---/.exec(skillMd.toString('utf8'));
  let front: unknown;
  try {
    front = match ? parse(match[1] ?? '') : undefined;
  } catch {
    front = undefined;
  }
  const fields = (front ?? {}) as { name?: unknown; description?: unknown };
  const name = typeof fields.name === 'string' ? fields.name : top;
  const description = typeof fields.description === 'string' ? fields.description.trim() : '';
  if (!match) throw badRequest('SKILL.md: YAML front matter between --- lines is required');
  if (name.length > 64 || !NAME.test(name) || RESERVED.some((word) => name.includes(word)))
    throw badRequest('SKILL.md: name must be kebab-case, at most 64 characters, without reserved words');
  if (!description || description.length > 1024 || /<[^>]+>/.test(description))
    throw badRequest('SKILL.md: description is required, at most 1,024 characters, without XML tags');
  const displayName = form.get('display_title') ?? form.get('display_name');
  return { name, description, files, ...(typeof displayName === 'string' ? { displayName } : {}) };
}

export function registerSkillRoutes(router: Router, state: EmulatorState): void {
  const now = () => state.now();
  const version = (skill: SkillRecord, upload: Awaited<ReturnType<typeof readUpload>>) => {
    const created = {
      id: state.ids.next('skillver'),
      type: 'skill_version' as const,
      created_at: now(),
      description: upload.description,
      name: skill.name,
      skill_id: skill.value.id,
      files: upload.files,
    };
    skill.versions.push(created);
    skill.value = { ...skill.value, latest_version_id: created.id, updated_at: created.created_at };
    return created;
  };
  const versionView = ({ files: _files, ...rest }: SkillRecord['versions'][number]): BetaSkillVersion => ({
    ...rest,
  });

  for (const id of ANTHROPIC_SKILLS) {
    const at = now();
    state.skills.set(id, {
      seq: state.nextSeq(),
      name: id,
      value: {
        id,
        type: 'skill',
        display_name: id,
        latest_version_id: `${id}-latest`,
        source: { type: 'anthropic' },
        created_at: at,
        updated_at: at,
      },
      versions: [],
    });
  }

  router.on('POST', '/v1/skills', async ({ body }) => {
    const upload = await readUpload(body);
    const taken = [...state.skills.values()].some(
      (s) => s.value.source.type === 'custom' && s.name === upload.name,
    );
    if (taken) throw conflict(`A skill named "${upload.name}" exists: upload a new version of it instead`);
    const at = now();
    const skill: SkillRecord = {
      seq: state.nextSeq(),
      name: upload.name,
      value: {
        id: state.ids.next('skill'),
        type: 'skill',
        display_name: upload.displayName ?? upload.name,
        latest_version_id: '',
        source: { type: 'custom' },
        created_at: at,
        updated_at: at,
      },
      versions: [],
    };
    state.skills.set(skill.value.id, skill);
    version(skill, upload);
    return structuredClone(skill.value);
  });

  router.on('GET', '/v1/skills', ({ query }) => {
    const source = query.string('source');
    const records = [...state.skills.values()].filter((s) => !source || s.value.source.type === source);
    const page = paginate(records, query, { order: 'desc', ...LIST_LIMITS });
    return { ...page, data: page.data.map((s) => structuredClone(s.value)) };
  });

  router.on('GET', '/v1/skills/:skill_id', ({ params }) =>
    structuredClone(state.skill(params.skill_id ?? '').value),
  );

  // A skill is deleted once its versions are: deleting one with versions left is refused.
  router.on('DELETE', '/v1/skills/:skill_id', ({ params }) => {
    const skill = state.skill(params.skill_id ?? '');
    if (skill.value.source.type !== 'custom') throw badRequest("Anthropic's skills cannot be deleted");
    if (skill.versions.length > 0) throw badRequest('Delete the skill’s versions before the skill');
    state.skills.delete(skill.value.id);
    return { id: skill.value.id, type: 'skill_deleted' };
  });

  router.on('POST', '/v1/skills/:skill_id/versions', async ({ params, body }) => {
    const skill = state.skill(params.skill_id ?? '');
    if (skill.value.source.type !== 'custom') throw badRequest("Anthropic's skills take no uploads");
    const upload = await readUpload(body);
    if (upload.name !== skill.name)
      throw badRequest(`SKILL.md: name must stay "${skill.name}" (it was "${upload.name}")`);
    return versionView(version(skill, upload));
  });

  router.on('GET', '/v1/skills/:skill_id/versions', ({ params, query }) => {
    const skill = state.skill(params.skill_id ?? '');
    const records = skill.versions.map((v, seq) => ({ seq, value: v }));
    const page = paginate(records, query, { order: 'desc', ...LIST_LIMITS });
    return { ...page, data: page.data.map((r) => versionView(r.value)) };
  });

  router.on('GET', '/v1/skills/:skill_id/versions/:version', ({ params }) =>
    versionView(versionOf(state.skill(params.skill_id ?? ''), params.version ?? '')),
  );

  router.on('DELETE', '/v1/skills/:skill_id/versions/:version', ({ params }) => {
    const skill = state.skill(params.skill_id ?? '');
    const found = versionOf(skill, params.version ?? '');
    skill.versions = skill.versions.filter((v) => v.id !== found.id);
    skill.value = { ...skill.value, latest_version_id: skill.versions.at(-1)?.id ?? '', updated_at: now() };
    return { id: found.id, type: 'skill_version_deleted' };
  });
}

function versionOf(skill: SkillRecord, id: string): SkillRecord['versions'][number] {
  const found = id === 'latest' ? skill.versions.at(-1) : skill.versions.find((v) => v.id === id);
  if (!found) throw notFound(`Skill version ${id} not found`);
  return found;
}
