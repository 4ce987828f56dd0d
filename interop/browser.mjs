// A headless user agent for the provider's pages, shared by checks.mjs and mcp.mjs: cookies,
// the login form and the consent form, following redirects by hand until the client's
// redirect_uri (never fetched).
import * as cheerio from 'cheerio';
import { CookieJar } from 'tough-cookie';

import { assert, log, oneLine } from './runner.mjs';

const squash = (s, n = 300) => oneLine(s || '(empty body)').slice(0, n);
const sameEndpoint = (a, b) => {
  const x = new URL(a); const y = new URL(b);
  return x.origin === y.origin && x.pathname === y.pathname;
};

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class Browser {
  constructor(origin, { username, password, timeoutMs = 15000 }) {
    this.origin = origin; // never leaves the provider
    this.username = username;
    this.password = password;
    this.timeoutMs = timeoutMs;
    this.jar = new CookieJar();
    this.trail = [];
  }

  async request(method, url, body) {
    const headers = { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8', 'user-agent': 'interop-ua/1' };
    const cookie = await this.jar.getCookieString(url);
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
    for (const c of res.headers.getSetCookie()) await this.jar.setCookie(c, url, { ignoreError: true });
    this.trail.push(`${method} ${new URL(url).pathname} -> ${res.status}`);
    log(`  ua: ${method} ${url} -> ${res.status}${res.headers.get('location') ? ` (location: ${res.headers.get('location')})` : ''}`);
    return res;
  }

  describe() {
    return `[trail: ${this.trail.slice(-8).join(' | ')}]`;
  }

  /** From the authorization URL to the redirect to `stopAt` (not fetched); returns that URL. */
  async authorize(startUrl, stopAt) {
    let req = { method: 'GET', url: String(startUrl), body: undefined };
    let logins = 0;
    let consents = 0;
    for (let step = 0; step < 15; step += 1) {
      if (sameEndpoint(req.url, stopAt)) return new URL(req.url);
      if (new URL(req.url).origin !== this.origin) {
        throw new Error(`the user agent was sent off the provider, to ${new URL(req.url).origin}${new URL(req.url).pathname} ${this.describe()}`);
      }
      const res = await this.request(req.method, req.url, req.body);
      if (REDIRECTS.has(res.status)) {
        const loc = res.headers.get('location');
        await res.arrayBuffer().catch(() => {});
        assert(loc, `${res.status} without Location at ${req.url} ${this.describe()}`);
        const next = new URL(loc, req.url).href;
        req = (res.status === 307 || res.status === 308) ? { ...req, url: next } : { method: 'GET', url: next, body: undefined };
        continue;
      }
      const html = await res.text();
      const $ = cheerio.load(html);
      const title = squash($('title').first().text() || $('h1').first().text(), 80);
      const text = squash($('body').text() || html, 300);
      if (res.status >= 400) throw new Error(`the provider answered ${res.status} at ${new URL(req.url).pathname}: "${title}" ${text} ${this.describe()}`);

      const loginForm = $('form').filter((_, f) => $(f).find('input[type="password"]').length > 0).first();
      if (loginForm.length) {
        assert(logins === 0, `the login form came back after signing in as ${this.username}: "${title}" ${text} ${this.describe()}`);
        logins += 1;
        const fields = formFields($, loginForm);
        if (!fields.has('csrf_token')) log('  ua: note: the login form has no csrf_token field');
        fields.set('username', this.username);
        fields.set('password', this.password);
        req = submission($, loginForm, fields, req.url);
        continue;
      }
      const allow = $('button[name="decision"][value="allow"], input[type="submit"][name="decision"][value="allow"]').first();
      if (allow.length) {
        assert(consents === 0, `the consent page came back after allowing ${this.describe()}`);
        consents += 1;
        const formId = allow.attr('form');
        const form = formId ? $('form').filter((_, f) => $(f).attr('id') === formId).first() : allow.closest('form');
        assert(form.length, `the allow button is outside any form at ${req.url}`);
        const fields = formFields($, form);
        fields.set('decision', 'allow');
        req = submission($, form, fields, req.url);
        continue;
      }
      throw new Error(`unexpected page ${res.status} at ${new URL(req.url).pathname} (neither a login form nor a consent form): "${title}" ${text} ${this.describe()}`);
    }
    throw new Error(`no redirect to ${stopAt} after 15 steps ${this.describe()}`);
  }
}

/** The form's hidden inputs (csrf_token and the like), in document order. */
function formFields($, form) {
  const fields = new Map();
  form.find('input[type="hidden"][name]').each((_, el) => { fields.set($(el).attr('name'), $(el).attr('value') ?? ''); });
  return fields;
}

function submission($, form, fields, pageUrl) {
  const action = new URL(form.attr('action') || pageUrl, pageUrl);
  const body = new URLSearchParams([...fields]).toString();
  if ((form.attr('method') || 'get').toLowerCase() === 'post') return { method: 'POST', url: action.href, body };
  action.search = body;
  return { method: 'GET', url: action.href, body: undefined };
}

