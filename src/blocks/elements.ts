import type {
  ConfirmationDialog,
  ContextBlock,
  DividerBlock,
  HeaderBlock,
  InputBlock,
  SectionBlock,
} from '@slack/types';

/** Small pure Block Kit builders shared by the message builders. */

export const header = (text: string): HeaderBlock => ({
  type: 'header',
  text: { type: 'plain_text', text: truncate(text, 150), emoji: true },
});

export const section = (markdown: string): SectionBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: truncate(markdown, 3000) },
});

/**
 * Escaped mrkdwn split into section blocks of at most 3,000 characters each, cut at a line break
 * where one is near, and never inside an entity (`&amp;`), so nothing of the text is lost.
 */
export function sectionsOf(escaped: string): SectionBlock[] {
  const sections: SectionBlock[] = [];
  let rest = escaped;
  while (rest.length > 0) {
    let cut = Math.min(rest.length, SECTION_TEXT_MAX);
    if (cut < rest.length) {
      // At most the limit: a break found at the limit itself would carry the cut one past it.
      const lineBreak = rest.lastIndexOf('\n', cut - 1);
      if (lineBreak > cut - 500) cut = lineBreak + 1;
      const entity = rest.lastIndexOf('&', cut - 1);
      if (entity > cut - 6 && !rest.slice(entity, cut).includes(';')) cut = entity;
      // Nor a mention (<@U…>) in two.
      const mention = rest.lastIndexOf('<', cut - 1);
      if (mention > cut - 30 && !rest.slice(mention, cut).includes('>')) cut = mention;
    }
    sections.push({ type: 'section', text: { type: 'mrkdwn', text: rest.slice(0, cut) } });
    rest = rest.slice(cut);
  }
  return sections;
}

/** Block Kit's limit on a section's text. */
export const SECTION_TEXT_MAX = 3000;

export const fields = (...markdown: string[]): SectionBlock => ({
  type: 'section',
  fields: markdown.slice(0, 10).map((text) => ({ type: 'mrkdwn', text: truncate(text, 2000) })),
});

export const context = (...markdown: string[]): ContextBlock => ({
  type: 'context',
  elements: markdown.slice(0, 10).map((text) => ({ type: 'mrkdwn', text: truncate(text, 3000) })),
});

export const divider = (): DividerBlock => ({ type: 'divider' });

/** A button's "are you sure?" dialog; `danger` makes its confirm button red (an act that destroys). */
export function confirmDialog(dialog: {
  title: string;
  text: string;
  confirm: string;
  deny: string;
  danger?: boolean;
}): ConfirmationDialog {
  return {
    title: { type: 'plain_text', text: truncate(dialog.title, 100) },
    text: { type: 'plain_text', text: truncate(dialog.text, 300) },
    confirm: { type: 'plain_text', text: dialog.confirm },
    deny: { type: 'plain_text', text: dialog.deny },
    ...(dialog.danger ? { style: 'danger' as const } : {}),
  };
}

/** Shortens user-supplied text to fit a Block Kit limit. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A modal's input block; `optional` inputs may be left empty. */
export function input(
  blockId: string,
  label: string,
  element: InputBlock['element'],
  optional = false,
  hint?: string,
): InputBlock {
  return {
    type: 'input',
    block_id: blockId,
    label: { type: 'plain_text', text: label },
    element,
    optional,
    ...(hint ? { hint: { type: 'plain_text', text: truncate(hint, 150) } } : {}),
  };
}
