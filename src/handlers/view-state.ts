import { z } from 'zod';
import { INPUT_ACTION } from '../blocks/agents.js';

/**
 * A submitted modal's state, checked before use: it comes back through the client. Every input's
 * element uses INPUT_ACTION as its action id, so a block id names the input.
 */
const elementState = z.object({
  type: z.string(),
  value: z.string().nullable().optional(),
  selected_option: z.object({ value: z.string() }).nullable().optional(),
  selected_options: z.array(z.object({ value: z.string() })).optional(),
  selected_user: z.string().nullable().optional(),
  selected_users: z.array(z.string()).optional(),
  selected_conversations: z.array(z.string()).optional(),
});
const stateSchema = z.record(z.string(), z.record(z.string(), elementState));

export type ElementState = z.infer<typeof elementState>;

/**
 * A modal's `private_metadata`, checked like any other input (it comes back through the client):
 * undefined when it is not JSON of the schema's shape.
 */
export function privateMetadata<S extends z.ZodType>(
  schema: S,
  raw: string | undefined,
): z.infer<S> | undefined {
  let json: unknown;
  try {
    json = JSON.parse(raw ?? '');
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

export class ViewState {
  private readonly values: z.infer<typeof stateSchema>;

  constructor(raw: unknown) {
    const parsed = stateSchema.safeParse(raw);
    this.values = parsed.success ? parsed.data : {};
  }

  element(blockId: string, actionId = INPUT_ACTION): ElementState | undefined {
    return this.values[blockId]?.[actionId];
  }

  text(blockId: string, actionId = INPUT_ACTION): string {
    return (this.element(blockId, actionId)?.value ?? '').trim();
  }

  selected(blockId: string): string | undefined {
    return this.element(blockId)?.selected_option?.value;
  }

  /** The person picked in a users_select. */
  selectedUser(blockId: string, actionId: string): string | undefined {
    return this.element(blockId, actionId)?.selected_user ?? undefined;
  }

  selectedMany(blockId: string): string[] {
    const element = this.element(blockId);
    return [
      ...(element?.selected_options ?? []).map((o) => o.value),
      ...(element?.selected_users ?? []),
      ...(element?.selected_conversations ?? []),
    ];
  }

  /** The first input's block id (where an error about the whole form is shown). */
  get firstBlockId(): string | undefined {
    return Object.keys(this.values)[0];
  }
}
