// The sandbox workspace page: shows the screens the server renders for the signed-in person and
// turns clicks, typing and submissions into requests to /client/act, which the server sends on to
// Deputy as Slack would. Plain browser JavaScript with no build step; the markup contract (data-*
// attributes) is described in block-kit.ts and render.ts.

const regions = {};
for (const node of document.querySelectorAll('[data-region]')) regions[node.dataset.region] = node;
const toast = document.querySelector('[data-toast]');
const forgeMenu = document.querySelector('[data-forge-menu]');

/** Where the page is: kept in the address so a reload or a shared link shows the same place. */
const place = readPlace();
let stream;
let lastScreen = {};
let modalKey = null;
/** Slack sends app_home_opened each time the Home tab is opened; once per visit here. */
let homeAnnounced = false;
/** Sandbox only: the next click on this message is sent as another person. */
let forging = null;

function readPlace() {
  const params = new URLSearchParams(location.search);
  return {
    c: params.get('c') ?? undefined,
    tab: params.get('tab') ?? 'messages',
    t: params.get('t') ?? undefined,
  };
}

function writePlace() {
  const params = new URLSearchParams();
  if (place.c) params.set('c', place.c);
  if (place.tab !== 'messages') params.set('tab', place.tab);
  if (place.t) params.set('t', place.t);
  const query = params.toString();
  history.replaceState(null, '', query ? `?${query}` : location.pathname);
}

function connect() {
  stream?.close();
  writePlace();
  const params = new URLSearchParams();
  if (place.c) params.set('c', place.c);
  params.set('tab', place.tab);
  if (place.t) params.set('t', place.t);
  homeAnnounced = false;
  stream = new EventSource(`/client/stream?${params}`);
  stream.addEventListener('screen', (event) => show(JSON.parse(event.data)));
}

// ---- showing screens

function show(screen) {
  document.body.dataset.viewer = screen.viewer ?? '';
  for (const name of ['topbar', 'sidebar', 'main', 'thread']) {
    if (lastScreen[name] === screen[name]) continue;
    replaceRegion(regions[name], screen[name]);
  }
  regions.thread.hidden = !screen.thread;
  const nextKey = screen.modal?.key ?? null;
  if (nextKey !== modalKey) {
    modalKey = nextKey;
    regions.modal.innerHTML = screen.modal?.html ?? '';
    regions.modal.querySelector('input, textarea, select')?.focus();
  }
  lastScreen = screen;
  document.body.dataset.ready = 'true';
  if (place.tab === 'home' && screen.viewer && !homeAnnounced) {
    homeAnnounced = true;
    act({ kind: 'home' });
  }
}

/** Replaces a region's markup, keeping what was being typed in a composer and the scroll position. */
function replaceRegion(region, html) {
  const drafts = new Map();
  for (const form of region.querySelectorAll('[data-composer]')) {
    const input = form.querySelector('input[name="text"]');
    drafts.set(composerKey(form), { value: input.value, focused: document.activeElement === input });
  }
  const timeline = region.querySelector('[data-timeline]');
  const atBottom = !timeline || timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 40;
  region.innerHTML = html;
  for (const form of region.querySelectorAll('[data-composer]')) {
    const draft = drafts.get(composerKey(form));
    const input = form.querySelector('input[name="text"]');
    if (draft) input.value = draft.value;
    if (draft?.focused) input.focus();
  }
  const next = region.querySelector('[data-timeline]');
  if (next && atBottom) next.scrollTop = next.scrollHeight;
  markForging();
}

function composerKey(form) {
  return `${form.dataset.channel}:${form.dataset.thread ?? ''}`;
}

function notify(text, kind = 'info') {
  toast.textContent = text;
  toast.dataset.kind = kind;
  toast.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => {
    toast.hidden = true;
  }, 8000);
}

// ---- talking to the server

async function act(request) {
  // Who this tab shows: the server refuses if the browser has since switched person elsewhere.
  const body = request.kind === 'switch' ? request : { ...request, viewer: document.body.dataset.viewer };
  const response = await fetch('/client/act', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({ ok: false, error: `HTTP ${response.status}` }));
  if (!answer.ok) notify(answer.error ?? 'Something went wrong.', 'error');
  else if (answer.notice) notify(answer.notice);
  return answer;
}

/** What the inputs of a message or view hold, as block-kit.ts's FormInput. */
function formInputs(surface) {
  const inputs = [];
  for (const root of surface.querySelectorAll('[data-input]')) {
    const controls = root.matches('input, select, textarea')
      ? [root]
      : [...root.querySelectorAll('input, select, textarea')];
    const values = [];
    for (const control of controls) {
      if (control.tagName === 'SELECT')
        values.push(...[...control.selectedOptions].map((o) => o.value).filter(Boolean));
      else if (control.type === 'radio' || control.type === 'checkbox') {
        if (control.checked) values.push(control.value);
      } else values.push(control.value);
    }
    inputs.push({
      blockId: root.dataset.blockId ?? '',
      actionId: root.dataset.actionId,
      type: root.dataset.type,
      values,
    });
  }
  return inputs;
}

function surfaceOf(node) {
  const surface = node.closest('[data-surface]');
  if (!surface) return undefined;
  return surface.dataset.surface === 'view'
    ? { node: surface, ref: { kind: 'view', viewId: surface.dataset.viewId } }
    : { node: surface, ref: { kind: 'message', channel: surface.dataset.channel, ts: surface.dataset.ts } };
}

async function sendAction(element) {
  const surface = surfaceOf(element);
  if (!surface) return;
  const request = {
    kind: 'action',
    surface: surface.ref,
    actionId: element.dataset.actionId,
    blockId: element.dataset.blockId ?? '',
    inputs: formInputs(surface.node),
  };
  if (forging && surface.ref.kind === 'message' && surface.ref.ts === forging.ts) {
    request.as = forging.user;
    forging = null;
    markForging();
  }
  await whileBusy(element, () => act(request));
}

/** Marks a control busy and ignores it until its request is answered: no double clicks. */
async function whileBusy(element, work) {
  if (!element || element.getAttribute('aria-busy') === 'true') return;
  element.setAttribute('aria-busy', 'true');
  try {
    await work();
  } finally {
    element.removeAttribute('aria-busy');
  }
}

// ---- confirmation dialogs (Block Kit `confirm`)

function confirmFirst(element) {
  const spec = element.dataset.confirm;
  if (!spec) return Promise.resolve(true);
  const { title, text, confirm, deny, danger } = JSON.parse(spec);
  return new Promise((resolve) => {
    const holder = document.createElement('div');
    holder.className = 'ws-backdrop ws-confirm';
    holder.innerHTML =
      '<div class="ws-modal" role="alertdialog"><header><h2></h2></header><div class="ws-modal-body"><p></p></div><footer><button type="button" class="bk-button" data-answer="no"></button><button type="button" class="bk-button bk-primary" data-answer="yes"></button></footer></div>';
    holder.querySelector('h2').textContent = title ?? 'Are you sure?';
    holder.querySelector('p').textContent = text ?? '';
    holder.querySelector('[data-answer="no"]').textContent = deny ?? 'Cancel';
    holder.querySelector('[data-answer="yes"]').textContent = confirm ?? 'Yes';
    if (danger) holder.querySelector('[data-answer="yes"]').className = 'bk-button bk-danger';
    holder.addEventListener('click', (event) => {
      // A click outside the dialog is a "no", as Escape is (see the keydown listener).
      const answer = event.target === holder ? 'no' : event.target.closest('[data-answer]')?.dataset.answer;
      if (!answer) return;
      holder.remove();
      resolve(answer === 'yes');
    });
    document.body.append(holder);
  });
}

// ---- sandbox only: a click sent as someone else

function openForgeMenu(button) {
  const message = button.closest('[data-surface="message"]');
  const picker = regions.topbar.querySelector('[data-switch-user]');
  const viewer = document.body.dataset.viewer;
  const people = picker ? [...picker.options].filter((o) => o.value !== viewer) : [];
  forgeMenu.innerHTML = '';
  const heading = document.createElement('p');
  heading.textContent =
    'Click a button on this message as someone else. Slack would never send this; Deputy must refuse it.';
  forgeMenu.append(heading);
  for (const person of people) {
    const choice = document.createElement('button');
    choice.type = 'button';
    choice.textContent = person.textContent;
    choice.dataset.forgeAs = person.value;
    choice.dataset.forgeTs = message.dataset.ts;
    choice.dataset.forgeName = person.textContent;
    forgeMenu.append(choice);
  }
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.textContent = 'Cancel';
  cancel.dataset.forgeCancel = 'true';
  forgeMenu.append(cancel);
  const box = button.getBoundingClientRect();
  forgeMenu.style.top = `${box.bottom + window.scrollY + 4}px`;
  forgeMenu.style.left = `${Math.max(8, box.right - 320)}px`;
  forgeMenu.hidden = false;
}

function markForging() {
  for (const node of document.querySelectorAll('[data-surface="message"]')) {
    const on = forging !== null && node.dataset.ts === forging.ts;
    node.classList.toggle('ws-forging', on);
    if (on) node.dataset.forgingAs = forging.name;
  }
}

// ---- events

/** Closes the modal on top, as Slack does on Escape, a click outside it, Cancel or ×. */
async function closeModal() {
  const view = regions.modal.querySelector('[data-view-id]');
  if (view) await act({ kind: 'close', viewId: view.dataset.viewId });
}

/** Closes open pickers and menus (details elements) the click was not in. */
function closePopups(except) {
  for (const open of document.querySelectorAll('details.bk-picker[open], details.ws-more[open]'))
    if (!open.contains(except)) open.open = false;
}

/**
 * A permalink to a message of this workspace (https://TEAM.slack.com/archives/C…/p…) as the page
 * place it opens: its conversation, and the thread it starts or is in.
 */
function permalinkPlace(href) {
  let url;
  try {
    url = new URL(href);
  } catch {
    return undefined;
  }
  const found = /^\/archives\/([A-Z0-9_]+)\/p(\d{7,})$/.exec(url.pathname);
  if (!url.hostname.endsWith('.slack.com') || !found) return undefined;
  const ts = `${found[2].slice(0, -6)}.${found[2].slice(-6)}`;
  return { c: found[1], tab: 'messages', t: url.searchParams.get('thread_ts') ?? ts };
}

document.addEventListener('keydown', async (event) => {
  if (event.key !== 'Escape') return;
  const confirm = document.querySelector('.ws-confirm');
  if (confirm) {
    confirm.querySelector('[data-answer="no"]')?.click();
    return;
  }
  const popup = document.querySelector('details.bk-picker[open], details.ws-more[open]');
  if (popup) {
    popup.open = false;
    return;
  }
  if (!forgeMenu.hidden) {
    forgeMenu.hidden = true;
    return;
  }
  await closeModal();
});

document.addEventListener('click', async (event) => {
  const target = event.target;
  if (!(target instanceof Element)) return;
  closePopups(target);

  // A permalink opens its thread here, as Slack's client does, instead of a new tab.
  const link = target.closest('a[href]');
  const linked = link && permalinkPlace(link.href);
  if (linked) {
    event.preventDefault();
    Object.assign(place, linked);
    connect();
    return;
  }
  const shortcut = target.closest('[data-shortcut]');
  if (shortcut) {
    const message = shortcut.closest('[data-surface="message"]');
    shortcut.closest('details').open = false;
    await whileBusy(shortcut, () =>
      act({
        kind: 'shortcut',
        channel: message.dataset.channel,
        ts: message.dataset.ts,
        callbackId: shortcut.dataset.shortcut,
      }),
    );
    return;
  }
  // A click on the backdrop around a modal (not in it) closes it.
  if (target.matches('[data-region="modal"] .ws-backdrop')) {
    await closeModal();
    return;
  }

  const forgeChoice = target.closest('[data-forge-as], [data-forge-cancel]');
  if (forgeChoice) {
    forgeMenu.hidden = true;
    forging = forgeChoice.dataset.forgeAs
      ? {
          user: forgeChoice.dataset.forgeAs,
          ts: forgeChoice.dataset.forgeTs,
          name: forgeChoice.dataset.forgeName,
        }
      : null;
    markForging();
    if (forging) notify(`Your next click on that message is sent as ${forging.name}.`);
    return;
  }
  if (!target.closest('[data-forge-menu]')) forgeMenu.hidden = true;

  const person = target.closest('button[data-switch-user]');
  if (person) {
    await switchPerson(person.dataset.switchUser);
    return;
  }
  const nav = target.closest('[data-nav]');
  if (nav) {
    place.c = nav.dataset.nav;
    place.tab = nav.dataset.tab ?? 'messages';
    place.t = undefined;
    connect();
    return;
  }
  const thread = target.closest('[data-open-thread]');
  if (thread) {
    place.t = thread.dataset.openThread;
    connect();
    return;
  }
  if (target.closest('[data-close-thread]')) {
    place.t = undefined;
    connect();
    return;
  }
  const forge = target.closest('[data-forge]');
  if (forge) {
    openForgeMenu(forge);
    return;
  }
  if (target.closest('[data-modal-close]')) {
    await closeModal();
    return;
  }
  const button = target.closest('.bk-button[data-action-id]');
  if (button) {
    // A link button opens its page (the browser follows the link) and tells the app, as in Slack.
    if (button.tagName !== 'A') event.preventDefault();
    if (button.getAttribute('aria-busy') === 'true' || !(await confirmFirst(button))) return;
    await sendAction(button);
  }
});

document.addEventListener('change', async (event) => {
  const target = event.target;
  if (!(target instanceof Element)) return;
  if (target.matches('select[data-switch-user]')) {
    await switchPerson(target.value);
    return;
  }
  const picker = target.closest('details.bk-picker');
  if (picker) showPicked(picker);
  const dispatching = target.closest('[data-dispatch="true"]');
  if (dispatching && (await confirmFirst(dispatching))) await sendAction(dispatching);
});

document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  event.preventDefault();
  if (form.matches('[data-composer]')) {
    const input = form.querySelector('input[name="text"]');
    const text = input.value.trim();
    if (!text) return;
    const request = { kind: 'send', conversation: form.dataset.channel, text };
    if (form.dataset.thread) request.thread = form.dataset.thread;
    input.value = '';
    const result = await act(request);
    if (!result.ok) input.value = text;
    return;
  }
  if (form.matches('[data-surface="view"]')) {
    const submit = form.querySelector('button[type="submit"]');
    if (!submit) return;
    await whileBusy(submit, () =>
      act({ kind: 'submit', viewId: form.dataset.viewId, inputs: formInputs(form) }),
    );
  }
});

/** A picker's box shows what is ticked as chips, or its placeholder. */
function showPicked(picker) {
  const summary = picker.querySelector('summary');
  const ticked = [...picker.querySelectorAll('input:checked')];
  summary.replaceChildren(
    ...(ticked.length
      ? ticked.map((box) => {
          const chip = document.createElement('span');
          chip.className = 'bk-chip';
          chip.textContent = box.closest('label').textContent;
          return chip;
        })
      : [
          Object.assign(document.createElement('span'), {
            className: 'bk-placeholder',
            textContent: summary.dataset.placeholder ?? '',
          }),
        ]),
  );
}

async function switchPerson(user) {
  const result = await act({ kind: 'switch', user });
  if (!result.ok) return;
  place.c = undefined;
  place.t = undefined;
  place.tab = 'messages';
  forging = null;
  connect();
}

connect();
