/**
 * A small browser over fetch for connect-flow tests: a cookie jar per origin, redirects followed
 * by hand (each hop recorded) and HTML forms submitted as a person would press their buttons.
 */

export interface Cookie {
  name: string;
  value: string;
  path: string;
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'Strict' | 'Lax' | 'None';
  /** Epoch ms; undefined for a session cookie. */
  expires?: number;
}

export interface Hop {
  url: string;
  status: number;
  location?: string;
}

export interface Page {
  /** Status of the last response fetched. */
  status: number;
  /** URL of the last response fetched. */
  url: string;
  html: string;
  /** Every response fetched, in order (redirects, then the last one). */
  hops: Hop[];
  headers: Headers;
  /** Set when `stopAt` stopped the browser: the redirect target it did not fetch. */
  stoppedAt?: URL;
}

export interface NavigateOptions {
  /** Stop before fetching a redirect target for which this is true. */
  stopAt?: (url: URL) => boolean;
  /** The page the navigation starts from (for SameSite and Origin); none means typed in the address bar. */
  from?: string;
}

export interface FormChoice extends NavigateOptions {
  /** Which form: its resolved action URL, or a pattern tested against it. Default: the only form. */
  action?: string | RegExp;
  /** Fields to set or add (typed into inputs). */
  fields?: Record<string, string>;
  /** The submit button pressed: it must exist in the form. */
  button?: { name: string; value: string };
}

export interface TestBrowserOptions {
  stopAt?: (url: URL) => boolean;
  /** Epoch ms, for cookie expiry. */
  now?: () => number;
  /** At most this many redirects per navigation (default 10). */
  maxRedirects?: number;
}

interface Request {
  method: 'GET' | 'POST';
  url: URL;
  body?: URLSearchParams;
  /** The page that started the navigation (undefined: typed), then each redirect's URL. */
  chain: URL[];
}

export class TestBrowser {
  private readonly jar = new Map<string, Cookie[]>();
  private readonly now: () => number;

  constructor(private readonly options: TestBrowserOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  get(url: string | URL, options: NavigateOptions = {}): Promise<Page> {
    return this.navigate({ method: 'GET', url: new URL(url), chain: started(options.from) }, options);
  }

  post(
    url: string | URL,
    form: Record<string, string> | URLSearchParams,
    options: NavigateOptions = {},
  ): Promise<Page> {
    const body = form instanceof URLSearchParams ? form : new URLSearchParams(form);
    return this.navigate({ method: 'POST', url: new URL(url), body, chain: started(options.from) }, options);
  }

  /** Finds a `<form>` in the page and submits it: hidden and filled inputs, `fields`, the pressed button. */
  async submitForm(page: Page, choice: FormChoice = {}): Promise<Page> {
    const forms = parseForms(page.html, page.url);
    const matching = forms.filter((f) => {
      if (choice.action === undefined) return true;
      return typeof choice.action === 'string'
        ? f.action.href === new URL(choice.action, page.url).href
        : choice.action.test(f.action.href);
    });
    const form = matching[0];
    if (!form || (choice.action === undefined && matching.length > 1)) {
      const seen = forms.map((f) => `${f.method} ${f.action.href}`).join(', ') || 'none';
      throw new Error(`TestBrowser: no single matching form on ${page.url} (forms: ${seen})`);
    }
    const data = new URLSearchParams(form.fields);
    for (const [name, value] of Object.entries(choice.fields ?? {})) data.set(name, value);
    if (choice.button) {
      const { name, value } = choice.button;
      if (!form.buttons.some((b) => b.name === name && b.value === value)) {
        throw new Error(`TestBrowser: the form has no button ${name}=${value}`);
      }
      data.append(name, value);
    }
    const options = { ...choice, from: page.url };
    if (form.method === 'GET') {
      const target = new URL(form.action);
      target.search = data.toString();
      return this.get(target, options);
    }
    return this.post(form.action, data, options);
  }

  /** The cookies the jar holds for an origin (expired ones dropped). */
  cookies(origin: string | URL): Cookie[] {
    const key = new URL(origin).origin;
    const live = (this.jar.get(key) ?? []).filter((c) => c.expires === undefined || c.expires > this.now());
    this.jar.set(key, live);
    return live.map((c) => ({ ...c }));
  }

  cookie(origin: string | URL, name: string): string | undefined {
    return this.cookies(origin).find((c) => c.name === name)?.value;
  }

  /** Preloads a cookie (host-only, Path=/, HttpOnly, SameSite=Lax unless said otherwise). */
  setCookie(origin: string | URL, name: string, value: string, attributes: Partial<Cookie> = {}): void {
    this.store(new URL(origin).origin, {
      path: '/',
      httpOnly: true,
      secure: false,
      sameSite: 'Lax',
      ...attributes,
      name,
      value,
    });
  }

  clearCookies(origin?: string | URL): void {
    if (origin === undefined) this.jar.clear();
    else this.jar.delete(new URL(origin).origin);
  }

  private async navigate(first: Request, options: NavigateOptions): Promise<Page> {
    const stopAt = options.stopAt ?? this.options.stopAt;
    const max = this.options.maxRedirects ?? 10;
    const hops: Hop[] = [];
    let request = first;
    for (;;) {
      const headers: Record<string, string> = {};
      const cookie = this.cookieHeader(request);
      if (cookie) headers.cookie = cookie;
      if (request.method === 'POST') {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        const origin = request.chain.at(-1)?.origin;
        if (origin) headers.origin = origin;
      }
      const response = await fetch(request.url, {
        method: request.method,
        headers,
        redirect: 'manual',
        ...(request.body ? { body: request.body.toString() } : {}),
      });
      for (const line of response.headers.getSetCookie()) this.receive(request.url, line);
      const location = response.headers.get('location') ?? undefined;
      hops.push({ url: request.url.href, status: response.status, ...(location ? { location } : {}) });
      const redirect = location !== undefined && response.status >= 300 && response.status < 400;
      if (!redirect) {
        return {
          status: response.status,
          url: request.url.href,
          html: await response.text(),
          hops,
          headers: response.headers,
        };
      }
      const next = new URL(location, request.url);
      if (stopAt?.(next)) {
        return {
          status: response.status,
          url: request.url.href,
          html: await response.text(),
          hops,
          headers: response.headers,
          stoppedAt: next,
        };
      }
      await response.body?.cancel();
      if (hops.length > max)
        throw new Error(`TestBrowser: more than ${max} redirects from ${first.url.href}`);
      const keepsMethod = response.status === 307 || response.status === 308;
      const chain = [...request.chain, request.url];
      request = keepsMethod ? { ...request, url: next, chain } : { method: 'GET', url: next, chain };
    }
  }

  private cookieHeader(request: Request): string | undefined {
    const { url } = request;
    // Cross-site when the page that started it, or any hop of the redirect chain, is another site.
    const crossSite = request.chain.some((hop) => !sameSite(hop, url));
    const sendable = this.cookies(url.origin).filter((c) => {
      if (!pathMatches(url.pathname, c.path)) return false;
      if (c.secure && !secureContext(url)) return false;
      if (!crossSite) return true;
      if (c.sameSite === 'Strict') return false;
      if (c.sameSite === 'Lax') return request.method === 'GET';
      return c.secure;
    });
    sendable.sort((a, b) => b.path.length - a.path.length);
    return sendable.length > 0 ? sendable.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  /** Reads one Set-Cookie line; cookies are host-only (any Domain attribute is ignored). */
  private receive(url: URL, line: string): void {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const cookie: Cookie = {
      name: pair.slice(0, eq).trim(),
      value: pair.slice(eq + 1).trim(),
      path: defaultPath(url),
      httpOnly: false,
      secure: false,
      sameSite: 'Lax',
    };
    let hasDomain = false;
    let maxAge: number | undefined;
    for (const attribute of attributes) {
      const [rawName = '', ...rest] = attribute.split('=');
      const name = rawName.trim().toLowerCase();
      const value = rest.join('=').trim();
      if (name === 'path' && value.startsWith('/')) cookie.path = value;
      else if (name === 'httponly') cookie.httpOnly = true;
      else if (name === 'secure') cookie.secure = true;
      else if (name === 'domain') hasDomain = value !== '';
      else if (name === 'samesite') {
        const v = value.toLowerCase();
        cookie.sameSite = v === 'strict' ? 'Strict' : v === 'none' ? 'None' : 'Lax';
      } else if (name === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value);
      else if (name === 'expires' && !Number.isNaN(Date.parse(value))) cookie.expires = Date.parse(value);
    }
    if (maxAge !== undefined) cookie.expires = this.now() + maxAge * 1000;
    if (cookie.secure && !secureContext(url)) return;
    if (cookie.sameSite === 'None' && !cookie.secure) return;
    if (cookie.name.startsWith('__Secure-') && !cookie.secure) return;
    if (cookie.name.startsWith('__Host-') && (!cookie.secure || hasDomain || cookie.path !== '/')) return;
    this.store(url.origin, cookie);
  }

  private store(origin: string, cookie: Cookie): void {
    const others = (this.jar.get(origin) ?? []).filter(
      (c) => !(c.name === cookie.name && c.path === cookie.path),
    );
    const expired = cookie.expires !== undefined && cookie.expires <= this.now();
    this.jar.set(origin, expired ? others : [...others, cookie]);
  }
}

function started(from: string | undefined): URL[] {
  return from === undefined ? [] : [new URL(from)];
}

/** Loopback http counts as secure, as browsers treat localhost. */
function secureContext(url: URL): boolean {
  return url.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

/** Same scheme and host (ports do not matter to sites; registrable domains are not worked out). */
function sameSite(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.hostname === b.hostname;
}

function defaultPath(url: URL): string {
  const last = url.pathname.lastIndexOf('/');
  return last <= 0 ? '/' : url.pathname.slice(0, last);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

// ---- forms

interface ParsedForm {
  method: 'GET' | 'POST';
  action: URL;
  /** Inputs submitted whatever is pressed (hidden, text, checked boxes, textareas). */
  fields: [string, string][];
  buttons: { name: string; value: string }[];
}

function parseForms(html: string, pageUrl: string): ParsedForm[] {
  const forms: ParsedForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(match[1] ?? '');
    const inner = match[2] ?? '';
    const fields: [string, string][] = [];
    const buttons: { name: string; value: string }[] = [];
    for (const input of inner.matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributes(input[1] ?? '');
      const type = (a.type ?? 'text').toLowerCase();
      if (a.name === undefined || 'disabled' in a) continue;
      if (type === 'submit' || type === 'image') buttons.push({ name: a.name, value: a.value ?? '' });
      else if (type === 'checkbox' || type === 'radio') {
        if ('checked' in a) fields.push([a.name, a.value ?? 'on']);
      } else if (type !== 'button' && type !== 'reset' && type !== 'file')
        fields.push([a.name, a.value ?? '']);
    }
    for (const area of inner.matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/gi)) {
      const a = attributes(area[1] ?? '');
      if (a.name !== undefined) fields.push([a.name, decodeEntities(area[2] ?? '')]);
    }
    for (const button of inner.matchAll(/<button\b([^>]*)>/gi)) {
      const a = attributes(button[1] ?? '');
      const type = (a.type ?? 'submit').toLowerCase();
      if (type === 'submit' && a.name !== undefined) buttons.push({ name: a.name, value: a.value ?? '' });
    }
    forms.push({
      method: (attrs.method ?? 'get').toUpperCase() === 'POST' ? 'POST' : 'GET',
      action: new URL(attrs.action ?? '', pageUrl),
      fields,
      buttons,
    });
  }
  return forms;
}

/** Attributes of a tag, values entity-decoded; a bare attribute maps to ''. */
function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    const name = (m[1] ?? '').toLowerCase();
    out[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] === '#') {
      const code =
        entity[1]?.toLowerCase() === 'x' ? Number.parseInt(entity.slice(2), 16) : Number(entity.slice(1));
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    return NAMED[entity.toLowerCase()] ?? whole;
  });
}
