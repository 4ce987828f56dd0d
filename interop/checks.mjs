// Interop checks for JWT client authentication (private_key_jwt, client_secret_jwt), DPoP
// (RFC 9449), signed request objects (RFC 9101) and encrypted ID tokens and UserInfo (OIDC Core
// §10.2), driven by oauth4webapi (v3) and jose (v6).
// Usage: node checks.mjs ISSUER [RESOURCE_URL]          (see README.md; normally through run.sh)
// stdout: one line per check (PASS name | FAIL name: reason | SKIP name: reason), then
// "N passed, M failed" as the last line. Exit 0 only when nothing failed.
// stderr: diagnostics (stack traces, server answers) only with HARNESS_VERBOSE=1.
import * as crypto from 'node:crypto';

import * as oauth from 'oauth4webapi';
import * as jose from 'jose';

import { Browser } from './browser.mjs';
import { assert, check as runCheck, emit, finish, log, oneLine } from './runner.mjs';

/** oauth4webapi's WWWAuthenticateChallengeError leaves the body unread: add it to the reason. */
async function enrich(err) {
  if (err instanceof oauth.WWWAuthenticateChallengeError && err.response && !err.detail) {
    try {
      const text = await err.response.clone().text();
      if (text) err.detail = `body: ${text.slice(0, 300)}`;
    } catch { /* ignore */ }
  }
  return err;
}

const check = (name, deps, fn) => runCheck(name, deps, fn, undefined, enrich);

// ---------------------------------------------------------------------------------------------
// arguments and shared helpers
// ---------------------------------------------------------------------------------------------
const [ISSUER_ARG, RESOURCE_ARG] = process.argv.slice(2);
if (!ISSUER_ARG) {
  process.stderr.write('usage: checks.mjs ISSUER [RESOURCE_URL]\n');
  process.exit(2);
}
const ISSUER = ISSUER_ARG;
const RESOURCE_URL = RESOURCE_ARG ? RESOURCE_ARG.replace(/\/+$/, '') : undefined;
const SCOPE = process.env.HARNESS_CC_SCOPE || 'api:read';
const RS_PATH = process.env.HARNESS_RS_PATH || '/api/me';

const issuerUrl = new URL(ISSUER);
const insecure = issuerUrl.protocol === 'http:';
const o4w = insecure ? { [oauth.allowInsecureRequests]: true } : {};
const S = {}; // state shared between checks

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const timeout = () => AbortSignal.timeout(10000);
const randomId = () => crypto.randomBytes(24).toString('base64url');
const b64uSha256 = (s) => crypto.createHash('sha256').update(s).digest('base64url');

async function readBody(res) {
  const text = await res.text().catch(() => '');
  let json;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { text, json };
}
const short = (text) => oneLine(text || '(empty body)').slice(0, 300);

/** RFC 7591 registration, no initial access token (dev mode). 201 + client_id expected. */
async function register(metadata) {
  const url = S.as.registration_endpoint || new URL('/register', `${ISSUER.replace(/\/+$/, '')}/`).href;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(metadata),
    signal: timeout(),
  });
  const { text, json } = await readBody(res);
  log(`  registration ${res.status}: ${short(text)}`);
  assert(res.status === 201, `registration answered ${res.status} (expected 201): ${short(text)}`);
  assert(json && typeof json.client_id === 'string', `registration response has no client_id: ${short(text)}`);
  return json;
}

/** A token request with a hand-made client assertion (plain fetch, form body). */
async function postAssertion(assertion) {
  const body = new URLSearchParams({
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: assertion,
    grant_type: 'client_credentials',
    scope: SCOPE,
  });
  const res = await fetch(S.as.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body,
    signal: timeout(),
  });
  const { text, json } = await readBody(res);
  log(`  token endpoint ${res.status}: ${short(text)}`);
  return { status: res.status, text, json };
}

function expectIssued(r, what) {
  assert(r.status === 200, `${what}: status ${r.status}: ${short(r.text)}`);
  assert(typeof r.json?.access_token === 'string', `${what}: no access_token: ${short(r.text)}`);
}

function expectInvalidClient(r, what) {
  assert(r.status !== 200, `${what} was accepted (200, a token was issued)`);
  assert(r.status === 401 || r.status === 400, `${what}: status ${r.status} (expected 401 or 400): ${short(r.text)}`);
  assert(r.json?.error === 'invalid_client', `${what}: error=${r.json?.error} (expected invalid_client): ${short(r.text)}`);
}

/** Client assertion built by hand with jose (RFC 7523 §3). */
async function makeAssertion({ clientId, key, kid, aud = S.as.token_endpoint, alg = 'ES256' }) {
  return new jose.SignJWT({})
    .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(aud)
    .setJti(randomId())
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(key);
}

/** client_credentials through oauth4webapi; retried once on a DPoP nonce challenge (RFC 9449 §8). */
async function o4wClientCredentials(client, auth, options = {}) {
  const params = new URLSearchParams({ scope: SCOPE });
  const attempt = async () => {
    const resp = await oauth.clientCredentialsGrantRequest(S.as, client, auth, params, { ...o4w, ...options });
    return oauth.processClientCredentialsResponse(S.as, client, resp);
  };
  try {
    return await attempt();
  } catch (err) {
    if (options.DPoP && oauth.isDPoPNonceError(err)) {
      log('  token endpoint demanded a DPoP nonce; retrying once');
      S.asNonceDemanded = true;
      return attempt();
    }
    throw err;
  }
}

/** Parameters of the DPoP challenge in a WWW-Authenticate header (rough parse, enough for error=). */
function dpopChallenge(header) {
  const m = /(?:^|,)\s*DPoP\b([^]*)/i.exec(header || '');
  if (!m) return undefined;
  const params = {};
  for (const p of m[1].matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) params[p[1].toLowerCase()] = p[2] ?? p[3];
  return params;
}

/** A plain request to the resource server. */
async function rsFetch(headers) {
  const res = await fetch(`${RESOURCE_URL}${RS_PATH}`, { headers: { accept: 'application/json', ...headers }, signal: timeout() });
  const { text } = await readBody(res);
  const www = res.headers.get('www-authenticate') || '';
  const nonce = res.headers.get('dpop-nonce');
  if (nonce) S.rsNonce = nonce;
  log(`  resource ${res.status} www-authenticate=${JSON.stringify(www)}${nonce ? ` dpop-nonce=${nonce}` : ''}`);
  return { status: res.status, www, text, nonce };
}

/** A DPoP proof built by hand with jose for GET RESOURCE_URL/api/me (RFC 9449 §4.2, §7). */
async function makeProof({ keyPair, token, nonce }) {
  const jwk = await jose.exportJWK(keyPair.publicKey);
  return new jose.SignJWT({
    htm: 'GET',
    htu: `${RESOURCE_URL}${RS_PATH}`,
    ath: b64uSha256(token),
    ...(nonce ? { nonce } : {}),
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
    .setJti(randomId())
    .setIssuedAt()
    .sign(keyPair.privateKey);
}

/** Send a fresh hand-made proof; if the resource server asks for a (new) nonce, once more with it. */
async function rsWithProof(keyPair, token) {
  let proof = await makeProof({ keyPair, token, nonce: S.rsNonce });
  let r = await rsFetch({ authorization: `DPoP ${token}`, dpop: proof });
  if (r.status === 401 && dpopChallenge(r.www)?.error === 'use_dpop_nonce' && r.nonce) {
    log('  resource server demanded a DPoP nonce; retrying once');
    proof = await makeProof({ keyPair, token, nonce: r.nonce });
    r = await rsFetch({ authorization: `DPoP ${token}`, dpop: proof });
  }
  return { ...r, proof };
}

const newEs256 = () => jose.generateKeyPair('ES256', { extractable: true });

// ---------------------------------------------------------------------------------------------
// discovery
// ---------------------------------------------------------------------------------------------
await check('discovery', [], async () => {
  const resp = await oauth.discoveryRequest(issuerUrl, { ...o4w, algorithm: 'oidc' });
  S.as = await oauth.processDiscoveryResponse(issuerUrl, resp);
  assert(S.as.token_endpoint, 'no token_endpoint');
});

await check('discovery.advertises_jwt_auth_and_dpop', ['discovery'], async () => {
  const m = S.as;
  const problems = [];
  const lacks = (field, values) => {
    const have = Array.isArray(m[field]) ? m[field] : [];
    const missing = values.filter((v) => !have.includes(v));
    if (missing.length) problems.push(`${field} lacks ${missing.join(', ')} (has ${JSON.stringify(m[field] ?? null)})`);
  };
  lacks('token_endpoint_auth_methods_supported', ['private_key_jwt', 'client_secret_jwt']);
  lacks('token_endpoint_auth_signing_alg_values_supported', ['RS256', 'ES256', 'EdDSA', 'HS256']);
  lacks('dpop_signing_alg_values_supported', ['ES256', 'RS256', 'EdDSA']);
  for (const f of ['token_endpoint_auth_signing_alg_values_supported', 'dpop_signing_alg_values_supported']) {
    if (Array.isArray(m[f]) && m[f].includes('none')) problems.push(`${f} advertises "none"`);
  }
  if (Array.isArray(m.dpop_signing_alg_values_supported) && m.dpop_signing_alg_values_supported.includes('HS256')) {
    problems.push('dpop_signing_alg_values_supported advertises a symmetric algorithm');
  }
  assert(!problems.length, problems.join('; '));
});

// ---------------------------------------------------------------------------------------------
// private_key_jwt (RFC 7523 §2.2, OIDC Core §9)
// ---------------------------------------------------------------------------------------------
await check('pkjwt.register', ['discovery'], async () => {
  const { publicKey, privateKey } = await newEs256();
  const jwk = await jose.exportJWK(publicKey);
  const kid = await jose.calculateJwkThumbprint(jwk);
  const reg = await register({
    client_name: 'interop pkjwt',
    grant_types: ['client_credentials'],
    scope: SCOPE,
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [{ ...jwk, kid, alg: 'ES256' }] },
  });
  assert(!reg.client_secret, 'a client_secret was issued to a private_key_jwt client');
  if (reg.token_endpoint_auth_method !== undefined) {
    assert(reg.token_endpoint_auth_method === 'private_key_jwt', `registered token_endpoint_auth_method=${reg.token_endpoint_auth_method}`);
  }
  S.pk = { clientId: reg.client_id, privateKey, publicKey, kid };
});

await check('pkjwt.client_credentials', ['pkjwt.register'], async () => {
  const client = { client_id: S.pk.clientId };
  const tok = await o4wClientCredentials(client, oauth.PrivateKeyJwt({ key: S.pk.privateKey, kid: S.pk.kid }));
  assert(tok.access_token, 'no access_token');
  const claims = jose.decodeJwt(tok.access_token);
  assert(claims.client_id === S.pk.clientId, `access token client_id ${claims.client_id} != ${S.pk.clientId}`);
});

await check('pkjwt.replayed_assertion_refused', ['pkjwt.register'], async () => {
  const assertion = await makeAssertion({ clientId: S.pk.clientId, key: S.pk.privateKey, kid: S.pk.kid });
  expectIssued(await postAssertion(assertion), 'first use of the assertion');
  expectInvalidClient(await postAssertion(assertion), 'second use of the same assertion (same jti)');
});

await check('pkjwt.wrong_key_refused', ['pkjwt.register'], async () => {
  const other = await newEs256();
  // the registered kid in the header, so the server must really verify the signature
  const assertion = await makeAssertion({ clientId: S.pk.clientId, key: other.privateKey, kid: S.pk.kid });
  expectInvalidClient(await postAssertion(assertion), 'an assertion signed with an unregistered key');
});

await check('pkjwt.wrong_audience_refused', ['pkjwt.register'], async () => {
  const assertion = await makeAssertion({ clientId: S.pk.clientId, key: S.pk.privateKey, kid: S.pk.kid, aud: 'https://evil.example' });
  expectInvalidClient(await postAssertion(assertion), 'an assertion for aud https://evil.example');
});

// ---------------------------------------------------------------------------------------------
// client_secret_jwt (RFC 7523 §2.2, OIDC Core §9)
// ---------------------------------------------------------------------------------------------
await check('csjwt.register', ['discovery'], async () => {
  const reg = await register({
    client_name: 'interop csjwt',
    grant_types: ['client_credentials'],
    scope: SCOPE,
    token_endpoint_auth_method: 'client_secret_jwt',
  });
  assert(typeof reg.client_secret === 'string' && reg.client_secret, 'no client_secret for a client_secret_jwt client');
  if (reg.token_endpoint_auth_method !== undefined) {
    assert(reg.token_endpoint_auth_method === 'client_secret_jwt', `registered token_endpoint_auth_method=${reg.token_endpoint_auth_method}`);
  }
  S.cs = { clientId: reg.client_id, secret: reg.client_secret };
});

await check('csjwt.client_credentials', ['csjwt.register'], async () => {
  const client = { client_id: S.cs.clientId };
  const tok = await o4wClientCredentials(client, oauth.ClientSecretJwt(S.cs.secret));
  assert(tok.access_token, 'no access_token');
  const claims = jose.decodeJwt(tok.access_token);
  assert(claims.client_id === S.cs.clientId, `access token client_id ${claims.client_id} != ${S.cs.clientId}`);
});

await check('csjwt.wrong_secret_refused', ['csjwt.register'], async () => {
  const key = new TextEncoder().encode(`${S.cs.secret}-wrong`);
  const assertion = await makeAssertion({ clientId: S.cs.clientId, key, alg: 'HS256' });
  expectInvalidClient(await postAssertion(assertion), 'an HS256 assertion made with a wrong secret');
});

// ---------------------------------------------------------------------------------------------
// DPoP (RFC 9449) at the token endpoint
// ---------------------------------------------------------------------------------------------
await check('dpop.register', ['discovery'], async () => {
  const reg = await register({ client_name: 'interop dpop', grant_types: ['client_credentials'], scope: SCOPE });
  assert(typeof reg.client_secret === 'string' && reg.client_secret, 'no client_secret for a client_secret_basic client');
  S.dp = { client: { client_id: reg.client_id }, secret: reg.client_secret, keyPair: await newEs256() };
});

await check('dpop.token_bound', ['dpop.register'], async () => {
  const DPoP = oauth.DPoP(S.dp.client, S.dp.keyPair);
  S.dp.handle = DPoP;
  const tok = await o4wClientCredentials(S.dp.client, oauth.ClientSecretBasic(S.dp.secret), { DPoP });
  assert(String(tok.token_type).toLowerCase() === 'dpop', `token_type ${tok.token_type} (expected DPoP)`);
  const jkt = await jose.calculateJwkThumbprint(await jose.exportJWK(S.dp.keyPair.publicKey));
  assert(jkt === await DPoP.calculateThumbprint(), 'jose and oauth4webapi disagree on the thumbprint (harness bug)');
  let claims;
  try { claims = jose.decodeJwt(tok.access_token); } catch (e) { throw new Error(`access token is not a JWT: ${e.message}`); }
  assert(claims.cnf?.jkt === jkt, `access token cnf=${JSON.stringify(claims.cnf ?? null)}, expected cnf.jkt=${jkt}`);
  S.dp.token = tok.access_token;
  log(`  DPoP-bound token issued${S.asNonceDemanded ? ' (after a nonce challenge)' : ''}; cnf.jkt=${jkt}`);
});

// ---------------------------------------------------------------------------------------------
// DPoP at the resource server (RFC 9449 §7)
// ---------------------------------------------------------------------------------------------
const RS_CHECKS = ['dpop.resource_accepts_proof', 'dpop.bearer_use_refused', 'dpop.token_without_proof_refused',
  'dpop.replayed_proof_refused', 'dpop.other_key_refused'];

if (!RESOURCE_URL) {
  for (const n of RS_CHECKS) emit('skip', n, 'no RESOURCE_URL');
} else {
  const dep = ['dpop.token_bound'];

  await check('dpop.resource_accepts_proof', dep, async () => {
    const url = new URL(`${RESOURCE_URL}${RS_PATH}`);
    const call = () => oauth.protectedResourceRequest(S.dp.token, 'GET', url, new Headers({ accept: 'application/json' }), null,
      { ...o4w, DPoP: S.dp.handle });
    let res;
    try {
      res = await call();
    } catch (err) {
      if (!oauth.isDPoPNonceError(err)) throw err;
      const nonce = err.response?.headers.get('dpop-nonce');
      if (nonce) S.rsNonce = nonce;
      log('  resource server demanded a DPoP nonce; retrying once');
      res = await call();
    }
    const nonce = res.headers.get('dpop-nonce');
    if (nonce) S.rsNonce = nonce;
    const { text } = await readBody(res);
    assert(res.status === 200, `status ${res.status}: ${short(text)}`);
  });

  await check('dpop.bearer_use_refused', dep, async () => {
    const r = await rsFetch({ authorization: `Bearer ${S.dp.token}` });
    assert(r.status === 401, `a DPoP-bound token was accepted as a Bearer token (status ${r.status}, expected 401)`);
  });

  await check('dpop.token_without_proof_refused', dep, async () => {
    const r = await rsFetch({ authorization: `DPoP ${S.dp.token}` });
    assert(r.status === 401, `status ${r.status} without a DPoP proof (expected 401)`);
    assert(/^\s*DPoP\b/i.test(r.www), `WWW-Authenticate ${JSON.stringify(r.www)} does not start with DPoP`);
  });

  await check('dpop.replayed_proof_refused', dep, async () => {
    const first = await rsWithProof(S.dp.keyPair, S.dp.token);
    assert(first.status === 200, `first use of a hand-made proof: status ${first.status}, WWW-Authenticate ${JSON.stringify(first.www)}: ${short(first.text)}`);
    const again = await rsFetch({ authorization: `DPoP ${S.dp.token}`, dpop: first.proof });
    assert(again.status === 401, `the same proof (same jti) was accepted twice (status ${again.status}, expected 401)`);
    const error = dpopChallenge(again.www)?.error;
    // a server that rotates nonces on every response may refuse the replay as use_dpop_nonce: still a refusal
    log(`  replay refused with error=${error}${error === 'use_dpop_nonce' ? ' (stale nonce; jti check not isolated)' : ''}`);
  });

  await check('dpop.other_key_refused', dep, async () => {
    const other = await newEs256();
    const r = await rsWithProof(other, S.dp.token);
    assert(r.status === 401, `a proof signed with a key other than cnf.jkt was accepted (status ${r.status}, expected 401)`);
    assert(dpopChallenge(r.www)?.error !== 'use_dpop_nonce', `refused only for the nonce: ${JSON.stringify(r.www)}`);
  });
}

// ---------------------------------------------------------------------------------------------
// signed request objects (RFC 9101), made by oauth4webapi's issueRequestObject
// ---------------------------------------------------------------------------------------------
const USERNAME = process.env.HARNESS_USER || 'alice';
const PASSWORD = process.env.HARNESS_PASSWORD || 'alice-password-2026';
const REDIRECT = 'https://rp.example.com/callback'; // never fetched: the user agent stops there
const browser = () => new Browser(issuerUrl.origin, { username: USERNAME, password: PASSWORD });

/** PKCE, state and nonce for one authorization request. */
async function freshRequest() {
  const verifier = oauth.generateRandomCodeVerifier();
  return {
    verifier,
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    params: (extra = {}) => ({ response_type: 'code', redirect_uri: REDIRECT, scope: 'openid profile email', ...extra }),
    challenge: await oauth.calculatePKCECodeChallenge(verifier),
  };
}

/** The user agent from an authorization URL to the callback; then oauth4webapi's code exchange. */
async function codeFlow(client, auth, url, request) {
  const callback = await browser().authorize(url, REDIRECT);
  const params = oauth.validateAuthResponse(S.as, client, callback, request.state);
  const resp = await oauth.authorizationCodeGrantRequest(S.as, client, auth, params, REDIRECT, request.verifier, o4w);
  return oauth.processAuthorizationCodeResponse(S.as, client, resp, { expectedNonce: request.nonce, requireIdToken: true });
}

await check('jar.register', ['discovery'], async () => {
  assert(S.as.request_parameter_supported === true, `request_parameter_supported=${S.as.request_parameter_supported}`);
  const algs = S.as.request_object_signing_alg_values_supported || [];
  assert(algs.includes('ES256') && !algs.includes('none'), `request_object_signing_alg_values_supported=${JSON.stringify(algs)}`);
  const { publicKey, privateKey } = await newEs256();
  const jwk = await jose.exportJWK(publicKey);
  const kid = await jose.calculateJwkThumbprint(jwk);
  const reg = await register({
    client_name: 'interop jar',
    redirect_uris: [REDIRECT],
    scope: 'openid profile email',
    jwks: { keys: [{ ...jwk, kid, alg: 'ES256', use: 'sig' }] },
    request_object_signing_alg: 'ES256',
    require_signed_request_object: true,
  });
  assert(reg.require_signed_request_object === true, `require_signed_request_object=${reg.require_signed_request_object}`);
  S.jar = {
    client: { client_id: reg.client_id, request_object_signing_alg: 'ES256' },
    auth: oauth.ClientSecretBasic(reg.client_secret),
    key: { key: privateKey, kid },
  };
});

await check('jar.pushed_request_object', ['jar.register'], async () => {
  const request = await freshRequest();
  const jwt = await oauth.issueRequestObject(S.as, S.jar.client, new URLSearchParams(request.params({
    state: request.state, nonce: request.nonce, code_challenge: request.challenge, code_challenge_method: 'S256',
  })), S.jar.key);
  const resp = await oauth.pushedAuthorizationRequest(S.as, S.jar.client, S.jar.auth, new URLSearchParams({ request: jwt }), o4w);
  const par = await oauth.processPushedAuthorizationResponse(S.as, S.jar.client, resp);
  const url = new URL(S.as.authorization_endpoint);
  url.searchParams.set('client_id', S.jar.client.client_id);
  url.searchParams.set('request_uri', par.request_uri);
  const tokens = await codeFlow(S.jar.client, S.jar.auth, url, request);
  assert(oauth.getValidatedIdTokenClaims(tokens).nonce === request.nonce, 'the ID token carries the nonce from the request object');
});

await check('jar.request_object_by_value', ['jar.register'], async () => {
  const request = await freshRequest();
  const jwt = await oauth.issueRequestObject(S.as, S.jar.client, new URLSearchParams(request.params({
    state: request.state, nonce: request.nonce, code_challenge: request.challenge, code_challenge_method: 'S256',
  })), S.jar.key);
  const url = new URL(S.as.authorization_endpoint);
  url.searchParams.set('client_id', S.jar.client.client_id);
  url.searchParams.set('request', jwt);
  const tokens = await codeFlow(S.jar.client, S.jar.auth, url, request);
  assert(typeof tokens.access_token === 'string', 'no access token');
});

/** GET /authorize without following: the status and where it points. */
async function authorizeOnce(query) {
  const url = new URL(S.as.authorization_endpoint);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  const res = await fetch(url, { redirect: 'manual', signal: timeout() });
  const { text } = await readBody(res);
  return { status: res.status, location: res.headers.get('location'), text };
}

await check('jar.plain_parameters_refused', ['jar.register'], async () => {
  const request = await freshRequest();
  const r = await authorizeOnce({ client_id: S.jar.client.client_id, ...request.params({ state: request.state, code_challenge: request.challenge, code_challenge_method: 'S256' }) });
  assert(r.status === 400, `a plain request of a client that must sign: status ${r.status} (expected 400)${r.location ? `, location ${r.location}` : ''}`);
});

await check('jar.tampered_request_object_refused', ['jar.register'], async () => {
  const request = await freshRequest();
  const jwt = await oauth.issueRequestObject(S.as, S.jar.client, new URLSearchParams(request.params({
    state: request.state, code_challenge: request.challenge, code_challenge_method: 'S256',
  })), S.jar.key);
  const [header, payload, signature] = jwt.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  claims.redirect_uri = 'https://evil.example/callback';
  const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
  const r = await authorizeOnce({ client_id: S.jar.client.client_id, request: forged });
  assert(r.status === 400, `a tampered request object: status ${r.status} (expected 400)${r.location ? `, location ${r.location}` : ''}`);
  assert(/invalid_request_object/.test(r.text), `the page does not say invalid_request_object: ${short(r.text)}`);
});

// ---------------------------------------------------------------------------------------------
// encrypted ID tokens and signed + encrypted UserInfo (OIDC Core §5.3.2, §10.2), opened by jose
// ---------------------------------------------------------------------------------------------
await check('jwe.register', ['discovery'], async () => {
  const has = (field, value) => (S.as[field] || []).includes(value);
  assert(has('id_token_encryption_alg_values_supported', 'RSA-OAEP-256') && has('userinfo_encryption_alg_values_supported', 'ECDH-ES'),
    `encryption algorithms not advertised: ${JSON.stringify(S.as.id_token_encryption_alg_values_supported ?? null)}`);
  const rsa = await jose.generateKeyPair('RSA-OAEP-256', { extractable: true });
  const ec = await jose.generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
  const rsaJwk = { ...await jose.exportJWK(rsa.publicKey), kid: 'enc-rsa', use: 'enc', alg: 'RSA-OAEP-256' };
  const ecJwk = { ...await jose.exportJWK(ec.publicKey), kid: 'enc-ec', use: 'enc', alg: 'ECDH-ES' };
  const reg = await register({
    client_name: 'interop jwe',
    redirect_uris: [REDIRECT],
    scope: 'openid profile email',
    jwks: { keys: [rsaJwk, ecJwk] },
    id_token_encrypted_response_alg: 'RSA-OAEP-256',
    id_token_encrypted_response_enc: 'A256GCM',
    userinfo_signed_response_alg: 'ES256',
    userinfo_encrypted_response_alg: 'ECDH-ES',
    userinfo_encrypted_response_enc: 'A128GCM',
  });
  assert(reg.id_token_encrypted_response_alg === 'RSA-OAEP-256', `registered ${JSON.stringify(reg)}`);
  S.jwe = { clientId: reg.client_id, secret: reg.client_secret, rsa, ec };
  S.providerKeys = jose.createRemoteJWKSet(new URL(S.as.jwks_uri));
});

await check('jwe.id_token_and_userinfo', ['jwe.register'], async () => {
  const request = await freshRequest();
  const url = new URL(S.as.authorization_endpoint);
  for (const [name, value] of Object.entries(request.params({
    client_id: S.jwe.clientId, state: request.state, nonce: request.nonce, code_challenge: request.challenge, code_challenge_method: 'S256',
  }))) url.searchParams.set(name, value);
  const callback = await browser().authorize(url, REDIRECT);
  assert(callback.searchParams.get('state') === request.state, 'state');
  const res = await fetch(S.as.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${encodeURIComponent(S.jwe.clientId)}:${encodeURIComponent(S.jwe.secret)}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code'), redirect_uri: REDIRECT, code_verifier: request.verifier }),
    signal: timeout(),
  });
  const { text, json } = await readBody(res);
  assert(res.status === 200, `token endpoint ${res.status}: ${short(text)}`);
  // The ID token: a JWE (RSA-OAEP-256, A256GCM) nesting the provider's signed ID token.
  const idToken = await jose.compactDecrypt(json.id_token, S.jwe.rsa.privateKey);
  assert(idToken.protectedHeader.enc === 'A256GCM' && idToken.protectedHeader.cty === 'JWT', `JWE header ${JSON.stringify(idToken.protectedHeader)}`);
  const { payload: claims } = await jose.jwtVerify(new TextDecoder().decode(idToken.plaintext), S.providerKeys, { issuer: S.as.issuer, audience: S.jwe.clientId });
  assert(claims.nonce === request.nonce, `nonce ${claims.nonce}`);
  // UserInfo: application/jwt, a JWE (ECDH-ES, A128GCM) nesting a JWS with iss and aud.
  const ui = await fetch(S.as.userinfo_endpoint, { headers: { authorization: `Bearer ${json.access_token}` }, signal: timeout() });
  const body = await ui.text();
  assert(ui.status === 200 && (ui.headers.get('content-type') || '').startsWith('application/jwt'), `userinfo ${ui.status} ${ui.headers.get('content-type')}: ${short(body)}`);
  const userinfo = await jose.compactDecrypt(body.trim(), S.jwe.ec.privateKey);
  assert(userinfo.protectedHeader.alg === 'ECDH-ES' && userinfo.protectedHeader.enc === 'A128GCM', `JWE header ${JSON.stringify(userinfo.protectedHeader)}`);
  const { payload: released, protectedHeader } = await jose.jwtVerify(new TextDecoder().decode(userinfo.plaintext), S.providerKeys, { issuer: S.as.issuer, audience: S.jwe.clientId });
  assert(protectedHeader.alg === 'ES256', `UserInfo signed ${protectedHeader.alg}`);
  assert(released.sub === claims.sub && typeof released.email === 'string', `UserInfo claims ${JSON.stringify(released)}`);
});

finish();
