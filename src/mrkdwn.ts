/**
 * Escapes text for Slack's mrkdwn so strings from people, agents or tools cannot mention, link or
 * format: the three characters Slack's docs say to escape.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
