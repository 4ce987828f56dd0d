// MCP authorization (spec 2025-11-25) end to end, driven by the official MCP TypeScript SDK
// (@modelcontextprotocol/sdk, client/auth.js): a 401 challenge at the demo API, RFC 9728 protected
// resource metadata, RFC 8414 authorization server metadata, then the SDK's auth() with a Client ID
// Metadata Document (client_id = an https/loopback URL) and, separately, with dynamic registration
// (RFC 7591); the authorization request (PKCE S256, RFC 8707 resource, state) is answered by a
// headless user agent (cookies, login form, consent form), the code is exchanged by auth() and the
// access token is used at the API.
// Usage: node mcp.mjs ISSUER RS_URL          (see README.md; normally through run.sh --mcp)
// stdout: one line per check (PASS name | FAIL name: reason | SKIP name: reason), then
// "N passed, M failed" as the last line. Exit 0 only when nothing failed.
// stderr: diagnostics (stack traces, HTTP exchanges) only with HARNESS_VERBOSE=1.
import * as crypto from 'node:crypto';
import * as http from 'node:http';

import {
  auth,
  discoverOAuthProtectedResourceMetadata,
  discoverOAuthServerInfo,
  extractWWWAuthenticateParams,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { InvalidClientMetadataError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import * as jose from 'jose';

import { Browser } from './browser.mjs';
import { assert, check, emit, finish, log, onFinish, oneLine } from './runner.mjs';

const servers = [];
onFinish(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections?.();
    s.close();
  }
});


// ---------------------------------------------------------------------------------------------
// arguments and settings
// ---------------------------------------------------------------------------------------------
const [ISSUER_ARG, RS_ARG] = process.argv.slice(2);
if (!ISSUER_ARG || !RS_ARG) {
  process.stderr.write('usage: mcp.mjs ISSUER RS_URL\n');
  process.exit(2);
}
const ISSUER = ISSUER_ARG; // compared exactly, as RFC 8414 §3.3 and RFC 9207 want
const RS_URL = RS_ARG.replace(/\/+$/, '');
const RS_PATH = process.env.HARNESS_RS_PATH || '/api/me';
const USERNAME = process.env.HARNESS_USER || 'alice';
const PASSWORD = process.env.HARNESS_PASSWORD || 'alice-password-2026';
// the dev seed's subject for alice (provider/src/seed.rs)
const EXPECTED_SUB = process.env.HARNESS_USER_SUB || '6c2f5e0a-8c1e-4d8f-9a51-2f1f2a8b7c01';
const HTTP_TIMEOUT_MS = Number(process.env.HARNESS_HTTP_TIMEOUT_MS || 15000);
const FLOW_TIMEOUT_MS = Math.max(45000, Number(process.env.HARNESS_CHECK_TIMEOUT_MS || 30000));
const LOOPBACK = '127.0.0.1';

const S = {}; // state shared between checks
const randomId = () => crypto.randomBytes(24).toString('base64url');
const squash = (s, n = 300) => oneLine(s || '(empty body)').slice(0, n);
const sameEndpoint = (a, b) => {
  const x = new URL(a); const y = new URL(b);
  return x.origin === y.origin && x.pathname === y.pathname;
};

/** The fetch handed to the SDK (fetchFn): the global fetch with a timeout and a trace in verbose mode. */
const sdkFetch = async (url, init = {}) => {
  const res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  log(`  sdk: ${init.method || 'GET'} ${url} -> ${res.status}`);
  return res;
};

// ---------------------------------------------------------------------------------------------
// loopback servers: the Client ID Metadata Document and the redirect_uri listener
// ---------------------------------------------------------------------------------------------
function listen(handler) {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handler);
    server.on('error', reject);
    server.listen(0, LOOPBACK, () => {
      servers.push(server);
      resolve(server.address().port);
    });
  });
}

/** redirect_uri listener: the user agent stops at the redirect and never calls it, but the port is ours. */
async function callbackUrl() {
  if (!S.callbackUrl) {
    const port = await listen((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('authorization finished; this window may be closed\n');
    });
    S.callbackUrl = `http://${LOOPBACK}:${port}/callback`;
  }
  return S.callbackUrl;
}

/** Serves GET /client.json (draft-ietf-oauth-client-id-metadata-document) and records who fetched it. */
async function serveClientMetadataDocument(redirectUri) {
  S.cimdFetches = [];
  let doc;
  const port = await listen((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    S.cimdFetches.push(`${req.method} ${req.url} (user-agent: ${req.headers['user-agent'] || '-'})`);
    log(`  client metadata document server: ${req.method} ${req.url}`);
    if (path !== '/client.json' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    const body = JSON.stringify(doc);
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  const url = `http://${LOOPBACK}:${port}/client.json`;
  doc = {
    client_id: url,
    client_name: 'MCP interop client (CIMD)',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
  return { url, doc };
}

// ---------------------------------------------------------------------------------------------
// the SDK's OAuthClientProvider, in memory, whose redirectToAuthorization is the user agent
// ---------------------------------------------------------------------------------------------
class HarnessOAuthClientProvider {
  constructor({ redirectUrl, clientMetadata, clientMetadataUrl }) {
    this._redirectUrl = redirectUrl;
    this._clientMetadata = clientMetadata;
    if (clientMetadataUrl) this.clientMetadataUrl = clientMetadataUrl;
    this.saved = []; // every saveClientInformation() call, for the checks
  }

  get redirectUrl() { return this._redirectUrl; }

  get clientMetadata() { return this._clientMetadata; }

  state() {
    this._state = randomId();
    return this._state;
  }

  clientInformation() { return this._clientInformation; }

  saveClientInformation(info) {
    this._clientInformation = info;
    this.saved.push(info);
  }

  tokens() { return this._tokens; }

  saveTokens(tokens) { this._tokens = tokens; }

  saveCodeVerifier(v) { this._codeVerifier = v; }

  codeVerifier() {
    assert(this._codeVerifier, 'no code verifier saved');
    return this._codeVerifier;
  }

  async redirectToAuthorization(url) {
    this.authorizationUrl = url;
    log(`  authorization URL built by the SDK: ${url}`);
    const browser = new Browser(new URL(ISSUER).origin, { username: USERNAME, password: PASSWORD, timeoutMs: HTTP_TIMEOUT_MS });
    this.callback = await browser.authorize(url, this._redirectUrl);
    log(`  callback: ${this.callback}`);
  }
}

/** Checks the SDK's authorization request and the callback; returns the code. */
function verifyFrontChannel(provider, expectedClientId) {
  const a = provider.authorizationUrl;
  assert(a, 'the SDK never called redirectToAuthorization()');
  const p = a.searchParams;
  const problems = [];
  const want = (name, value) => { if (p.get(name) !== value) problems.push(`${name}=${JSON.stringify(p.get(name))} (expected ${JSON.stringify(value)})`); };
  want('response_type', 'code');
  want('client_id', expectedClientId);
  want('code_challenge_method', 'S256');
  want('redirect_uri', provider.redirectUrl);
  want('resource', RS_URL);
  want('state', provider._state);
  if (!/^[A-Za-z0-9_-]{43}$/.test(p.get('code_challenge') || '')) problems.push(`code_challenge=${JSON.stringify(p.get('code_challenge'))} is not a base64url SHA-256`);
  assert(sameEndpoint(a, S.asMeta.authorization_endpoint), `authorization request sent to ${a.origin}${a.pathname}, not to ${S.asMeta.authorization_endpoint}`);
  assert(!problems.length, `the SDK's authorization request: ${problems.join('; ')}`);

  const cb = provider.callback.searchParams;
  assert(!cb.get('error'), `the provider answered error=${cb.get('error')} (${cb.get('error_description') || ''}) at the callback`);
  assert(cb.get('state') === provider._state, `callback state=${JSON.stringify(cb.get('state'))} (expected the request's state)`);
  assert(cb.get('iss') === ISSUER, `callback iss=${JSON.stringify(cb.get('iss'))} (RFC 9207: expected ${JSON.stringify(ISSUER)})`);
  const code = cb.get('code');
  assert(code, `callback without code: ${provider.callback}`);
  return code;
}

/** What the SDK's transports pass to auth() (StreamableHTTPClientTransport.finishAuth and its 401 handling). */
const authOptions = (extra = {}) => ({
  serverUrl: RS_URL,
  resourceMetadataUrl: S.challenge.resourceMetadataUrl,
  scope: S.challenge.scope,
  fetchFn: sdkFetch,
  ...extra,
});

/** auth() → REDIRECT (user agent inside), then auth({authorizationCode}) → AUTHORIZED. */
async function authorizationCodeFlow(provider, expectedClientId) {
  const first = await auth(provider, authOptions());
  assert(first === 'REDIRECT', `auth() returned ${first} (expected REDIRECT)`);
  const code = verifyFrontChannel(provider, expectedClientId());
  const second = await auth(provider, authOptions({ authorizationCode: code }));
  assert(second === 'AUTHORIZED', `auth() with the code returned ${second} (expected AUTHORIZED)`);
  const tokens = provider.tokens();
  assert(typeof tokens?.access_token === 'string' && tokens.access_token, 'no access token saved');
  assert(String(tokens.token_type).toLowerCase() === 'bearer', `token_type ${tokens.token_type} (expected Bearer)`);
  try {
    const c = jose.decodeJwt(tokens.access_token);
    log(`  access token: aud=${JSON.stringify(c.aud)} client_id=${c.client_id} sub=${c.sub} scope=${JSON.stringify(c.scope)}`);
  } catch { log('  access token is not a JWT'); }
  return tokens;
}

/** GET RS_URL/api/me with the saved token; 200 with alice's sub and the flow's client_id. */
async function apiCall(tokens, clientId) {
  const res = await fetch(`${RS_URL}${RS_PATH}`, {
    headers: { accept: 'application/json', authorization: `Bearer ${tokens.access_token}` },
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const text = await res.text();
  log(`  resource ${res.status}: ${squash(text)} www-authenticate=${JSON.stringify(res.headers.get('www-authenticate'))}`);
  assert(res.status === 200, `GET ${RS_PATH} with the token: status ${res.status}, WWW-Authenticate ${JSON.stringify(res.headers.get('www-authenticate'))}: ${squash(text)}`);
  let body;
  try { body = JSON.parse(text); } catch { throw new Error(`GET ${RS_PATH}: not JSON: ${squash(text)}`); }
  assert(body.sub === EXPECTED_SUB, `sub=${JSON.stringify(body.sub)} (expected ${USERNAME}'s ${EXPECTED_SUB})`);
  if (body.client_id !== undefined) {
    assert(body.client_id === clientId, `client_id=${JSON.stringify(body.client_id)} (expected ${JSON.stringify(clientId)})`);
  }
}

// ---------------------------------------------------------------------------------------------
// 1. the challenge, 2. discovery
// ---------------------------------------------------------------------------------------------
await check('mcp.unauthorized_challenge', [], async () => {
  const res = await fetch(`${RS_URL}${RS_PATH}`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  const www = res.headers.get('www-authenticate') || '';
  log(`  resource ${res.status} www-authenticate=${JSON.stringify(www)}`);
  await res.arrayBuffer().catch(() => {});
  assert(res.status === 401, `GET ${RS_PATH} without a token: status ${res.status} (expected 401)`);
  assert(/^\s*Bearer\b/i.test(www), `WWW-Authenticate ${JSON.stringify(www)} does not start with Bearer`);
  const params = extractWWWAuthenticateParams(res);
  const expected = `${RS_URL}/.well-known/oauth-protected-resource`;
  assert(params.resourceMetadataUrl, `the SDK found no resource_metadata in WWW-Authenticate ${JSON.stringify(www)}`);
  assert(params.resourceMetadataUrl.href === expected, `resource_metadata=${params.resourceMetadataUrl.href} (expected ${expected})`);
  S.challenge = params;
});

await check('mcp.resource_metadata', ['mcp.unauthorized_challenge'], async () => {
  const prm = await discoverOAuthProtectedResourceMetadata(RS_URL, { resourceMetadataUrl: S.challenge.resourceMetadataUrl }, sdkFetch);
  log(`  protected resource metadata: ${JSON.stringify(prm)}`);
  assert(prm.resource === RS_URL, `resource=${JSON.stringify(prm.resource)} (expected ${JSON.stringify(RS_URL)})`);
  const as = prm.authorization_servers;
  assert(Array.isArray(as) && as.length === 1 && as[0] === ISSUER, `authorization_servers=${JSON.stringify(as ?? null)} (expected ${JSON.stringify([ISSUER])})`);
  S.prm = prm;
});

await check('mcp.authorization_server_metadata', ['mcp.resource_metadata'], async () => {
  // what auth() does: RFC 9728 first, then RFC 8414 / OIDC discovery at authorization_servers[0]
  const info = await discoverOAuthServerInfo(RS_URL, { resourceMetadataUrl: S.challenge.resourceMetadataUrl, fetchFn: sdkFetch });
  assert(info.authorizationServerUrl === ISSUER, `the SDK chose authorization server ${info.authorizationServerUrl} (expected ${ISSUER})`);
  const m = info.authorizationServerMetadata;
  assert(m, `the SDK found no authorization server metadata at ${ISSUER} (RFC 8414 or OpenID discovery)`);
  log(`  authorization server metadata: client_id_metadata_document_supported=${JSON.stringify(m.client_id_metadata_document_supported)} registration_endpoint=${m.registration_endpoint}`);
  const problems = [];
  if (m.issuer !== ISSUER) problems.push(`issuer=${JSON.stringify(m.issuer)} (expected ${JSON.stringify(ISSUER)})`);
  if (!m.response_types_supported?.includes('code')) problems.push(`response_types_supported=${JSON.stringify(m.response_types_supported)} lacks code`);
  // MCP 2025-11-25: clients MUST refuse to proceed without code_challenge_methods_supported
  if (!m.code_challenge_methods_supported?.includes('S256')) problems.push(`code_challenge_methods_supported=${JSON.stringify(m.code_challenge_methods_supported ?? null)} lacks S256`);
  if (!m.token_endpoint_auth_methods_supported?.includes('none')) problems.push(`token_endpoint_auth_methods_supported=${JSON.stringify(m.token_endpoint_auth_methods_supported ?? null)} lacks none (public MCP clients)`);
  assert(!problems.length, problems.join('; '));
  S.asMeta = m;
});

// ---------------------------------------------------------------------------------------------
// 3a. Client ID Metadata Document
// ---------------------------------------------------------------------------------------------
await check('mcp.cimd_flow', ['mcp.authorization_server_metadata'], async () => {
  const flag = S.asMeta.client_id_metadata_document_supported;
  assert(flag === true, `the provider does not advertise client_id_metadata_document_supported: true (value: ${JSON.stringify(flag ?? null)}); the SDK would fall back to dynamic registration`);
  const redirectUrl = await callbackUrl();
  const { url, doc } = await serveClientMetadataDocument(redirectUrl);
  const provider = new HarnessOAuthClientProvider({ redirectUrl, clientMetadata: doc, clientMetadataUrl: url });
  const sdkPath = async () => authorizationCodeFlow(provider, () => url);
  let tokens;
  try {
    tokens = await sdkPath();
    S.cimdMode = 'sdk';
  } catch (err) {
    // SDK 1.x accepts only an https clientMetadataUrl with a path (isHttpsUrl, as the MCP spec wants);
    // the provider's dev mode accepts a loopback http one. auth() throws before any registration:
    // give it the client information its CIMD branch would have stored, { client_id: URL, issuer }.
    if (!(err instanceof InvalidClientMetadataError && /clientMetadataUrl must be a valid HTTPS URL/.test(err.message))) throw err;
    log(`  the SDK refused the http clientMetadataUrl (${err.message}); continuing with its client information preset to { client_id: ${url} }`);
    S.cimdMode = 'preset';
    delete provider.clientMetadataUrl;
    provider.saveClientInformation({ client_id: url, issuer: S.prm.authorization_servers[0] });
    tokens = await sdkPath();
  }
  const info = provider.clientInformation();
  assert(info?.client_id === url, `the SDK used client_id ${JSON.stringify(info?.client_id)} (expected the document URL ${url}); did it register instead?`);
  assert(S.cimdFetches.some((f) => f.startsWith('GET /client.json')), `the provider never fetched ${url} (requests seen: ${S.cimdFetches.join('; ') || 'none'})`);
  log(`  CIMD path: ${S.cimdMode}; document fetched ${S.cimdFetches.length} time(s)`);
  S.cimd = { clientId: url, tokens };
}, FLOW_TIMEOUT_MS);

await check('mcp.cimd_api_call', ['mcp.cimd_flow'], async () => {
  await apiCall(S.cimd.tokens, S.cimd.clientId);
});

// ---------------------------------------------------------------------------------------------
// 3b. dynamic client registration (no clientMetadataUrl)
// ---------------------------------------------------------------------------------------------
await check('mcp.dcr_flow', ['mcp.authorization_server_metadata'], async () => {
  assert(S.asMeta.registration_endpoint, 'the authorization server metadata has no registration_endpoint');
  const redirectUrl = await callbackUrl();
  const provider = new HarnessOAuthClientProvider({
    redirectUrl,
    clientMetadata: {
      client_name: 'MCP interop client (DCR)',
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
  });
  const tokens = await authorizationCodeFlow(provider, () => provider.clientInformation()?.client_id);
  const reg = provider.saved[0];
  assert(reg?.client_id, 'the SDK saved no registered client');
  log(`  registered client ${reg.client_id} token_endpoint_auth_method=${reg.token_endpoint_auth_method} redirect_uris=${JSON.stringify(reg.redirect_uris)}`);
  assert(!reg.client_secret || reg.token_endpoint_auth_method !== 'none', 'a client_secret was issued to a token_endpoint_auth_method=none client');
  S.dcr = { clientId: reg.client_id, tokens };
}, FLOW_TIMEOUT_MS);

await check('mcp.dcr_api_call', ['mcp.dcr_flow'], async () => {
  await apiCall(S.dcr.tokens, S.dcr.clientId);
});

finish();
