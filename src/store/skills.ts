import { z } from 'zod';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';

/**
 * A skill `npm run skills:sync` uploaded from the skills folder: which skill and version it is at
 * Anthropic, and the hash of the content that version holds (an unchanged folder uploads nothing).
 */
const syncedSkillSchema = z.object({
  name: z.string().min(1),
  skillId: z.string().min(1),
  versionId: z.string().min(1),
  description: z.string(),
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  syncedAt: z.string(),
});
export type SyncedSkill = z.infer<typeof syncedSkillSchema>;
const SyncedSkillRecord = recordKind('synced skill', syncedSkillSchema);

export class Skills {
  constructor(private readonly table: Table) {}

  /** Every synced skill, by name. */
  list(): Promise<SyncedSkill[]> {
    return this.table.query(SyncedSkillRecord, { ...keys.skills(), allPages: true });
  }

  get(name: string): Promise<SyncedSkill | undefined> {
    return this.table.get(SyncedSkillRecord, keys.skill(name));
  }

  async put(skill: SyncedSkill): Promise<void> {
    await this.table.put({ ...keys.skill(skill.name), ...skill });
  }

  async remove(name: string): Promise<void> {
    await this.table.delete(keys.skill(name));
  }
}
