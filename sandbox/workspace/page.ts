import { escapeHtml } from '../../src/http.js';

/**
 * The workspace page's frame. Its regions are filled by client.js from the server's screens; the
 * page itself carries no state, so reloading it shows exactly what the workspace holds.
 */
export function pageShell(teamName: string, paths: { script: string; styles: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${escapeHtml(teamName)} | Slack (sandbox)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${escapeHtml(paths.styles)}">
<script type="module" src="${escapeHtml(paths.script)}"></script>
</head><body>
<div class="ws-app">
  <div class="ws-topbar" data-region="topbar"></div>
  <nav class="ws-sidebar" data-region="sidebar" aria-label="Conversations"></nav>
  <main class="ws-main" data-region="main"><p class="ws-empty">Connecting to the sandbox…</p></main>
  <aside class="ws-thread" data-region="thread" aria-label="Thread"></aside>
</div>
<div data-region="modal"></div>
<div class="ws-toast" data-toast role="status" aria-live="polite" hidden></div>
<div class="ws-forge-menu" data-forge-menu hidden></div>
</body></html>`;
}
