// Code-flow load against one or more provider nodes (the two-node benchmark's driver).
//
//   node bench/code-flow-load.mjs --nodes http://127.0.0.1:8080,http://127.0.0.1:8081 \
//     --users 16 --seconds 20 [--client demo-web:demo-web-secret]
//     [--redirect-uri http://127.0.0.1:8082/callback] [--login alice:alice-password-2026]
//     [--mode flows|refresh] [--forwarded-for]
//
// Each virtual user signs in once (on the first node), then loops: /authorize on one node
// (the SSO session answers with a code at once), the code redeemed at /token on the next
// node, round-robin, so every code crosses nodes. Every step is checked (status, state, iss,
// a JWT access token); anything else is an error. With `--mode refresh` each virtual user gets
// one refresh token from its warm-up flow and then only rotates it (grant_type=refresh_token,
// the old token swapped for the new one), so the latencies are the refresh grant's alone.
// `--forwarded-for` gives each virtual user an address of its own (X-Forwarded-For, for a
// provider started with --trusted-proxies 127.0.0.1/32), as real users behind a proxy have, so
// the per-address rate limits count each user and not the load generator. Prints one JSON line:
//   {"flows":N,"flows_per_s":R,"requests":M,"errors":E,"p50_ms":..,"p99_ms":..,"by_node":{..}}
// Node 20+ (built-in fetch and crypto), no dependencies.
import { createHash, randomBytes } from "node:crypto";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, index, all) => {
    if (arg.startsWith("--")) pairs.push([arg.slice(2), all[index + 1]]);
    return pairs;
  }, []),
);
const nodes = (args.nodes ?? "http://127.0.0.1:8080").split(",");
const users = Number(args.users ?? 16);
const seconds = Number(args.seconds ?? 20);
const [clientId, clientSecret] = (args.client ?? "demo-web:demo-web-secret").split(":");
const redirectUri = args["redirect-uri"] ?? "http://127.0.0.1:8082/callback";
const [username, password] = (args.login ?? "alice:alice-password-2026").split(":");
const mode = args.mode ?? "flows";
const forwardedFor = process.argv.includes("--forwarded-for");
if (mode !== "flows" && mode !== "refresh") throw new Error(`--mode flows|refresh, not ${mode}`);
const basic = "Basic " + Buffer.from(`${clientId}:${clientSecret}`).toString("base64");

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const latencies = [];
const byNode = Object.fromEntries(nodes.map((node) => [node, 0]));
let requests = 0;
let errors = 0;
const errorSamples = [];

function fail(message) {
  errors += 1;
  if (errorSamples.length < 5) errorSamples.push(message);
}

// A minimal cookie jar: name=value pairs from Set-Cookie, sent back to every node (they share
// one issuer, as behind a load balancer).
class Browser {
  constructor(id) {
    this.cookies = new Map();
    this.address = forwardedFor ? `10.77.${Math.floor(id / 250)}.${(id % 250) + 1}` : undefined;
  }
  extra() { return this.address ? { "x-forwarded-for": this.address } : {}; }
  header() { return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; "); }
  keep(response) {
    for (const line of response.headers.getSetCookie?.() ?? []) {
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      this.cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
  }
  async fetch(url, options = {}) {
    requests += 1;
    const response = await fetch(url, {
      ...options,
      redirect: "manual",
      headers: { ...(options.headers ?? {}), ...this.extra(), cookie: this.header() },
    });
    this.keep(response);
    return response;
  }
}

function authorizeUrl(node, pkce, state) {
  const params = new URLSearchParams({
    response_type: "code", client_id: clientId, redirect_uri: redirectUri,
    scope: mode === "refresh" ? "openid profile offline_access" : "openid profile", state, nonce: b64url(randomBytes(12)),
    code_challenge: pkce.challenge, code_challenge_method: "S256",
  });
  return `${node}/authorize?${params}`;
}

function newPkce() {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

// Follows the provider's own redirects until one leaves for the client; signs in on the way.
async function toCallback(browser, node, url) {
  for (let hop = 0; hop < 8; hop += 1) {
    const response = await browser.fetch(url);
    if (response.status === 200) {
      const html = await response.text();
      const action = html.match(/<form[^>]*action="([^"]+)"/)?.[1]?.replaceAll("&amp;", "&");
      const csrf = html.match(/name="csrf_token" value="([^"]+)"/)?.[1];
      if (!action || !csrf) throw new Error(`a page without a form at ${url}`);
      // The login form, or the consent page (offline_access is always asked for): allow.
      const body = html.includes('name="decision"')
        ? new URLSearchParams({ csrf_token: csrf, decision: "allow" })
        : new URLSearchParams({ csrf_token: csrf, username, password });
      const posted = await browser.fetch(new URL(action, node).toString(), {
        method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      if (posted.status !== 303) throw new Error(`the form answered ${posted.status}`);
      url = new URL(posted.headers.get("location"), node).toString();
      if (url.startsWith(redirectUri)) return new URL(url);
      continue;
    }
    if (response.status !== 303 && response.status !== 302) {
      throw new Error(`${url} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
    }
    const location = new URL(response.headers.get("location"), node).toString();
    if (location.startsWith(redirectUri)) return new URL(location);
    url = location;
  }
  throw new Error("too many redirects");
}

async function flow(browser, index) {
  const front = nodes[index % nodes.length];
  const back = nodes[(index + 1) % nodes.length];
  const pkce = newPkce();
  const state = b64url(randomBytes(12));
  const started = performance.now();
  const callback = await toCallback(browser, front, authorizeUrl(front, pkce, state));
  if (callback.searchParams.get("state") !== state) throw new Error("state mismatch");
  const code = callback.searchParams.get("code");
  if (!code) throw new Error(`no code: ${callback}`);
  requests += 1;
  const token = await fetch(`${back}/token`, {
    method: "POST",
    headers: { ...browser.extra(), authorization: basic, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code, redirect_uri: redirectUri,
      code_verifier: pkce.verifier,
    }),
  });
  const json = await token.json();
  if (token.status !== 200 || json.access_token?.split(".").length !== 3 || !json.id_token) {
    throw new Error(`token on ${back}: ${token.status} ${JSON.stringify(json).slice(0, 200)}`);
  }
  latencies.push(performance.now() - started);
  byNode[front] += 1;
  browser.refreshToken = json.refresh_token;
}

// One refresh grant: the browser's refresh token is spent and replaced by the new one.
async function refresh(browser, index) {
  const node = nodes[index % nodes.length];
  if (!browser.refreshToken) {
    // Lost after an error: a new flow (not measured) gets another, instead of spinning.
    await flow(browser, index);
    latencies.pop();
    byNode[nodes[index % nodes.length]] -= 1;
    return;
  }
  const started = performance.now();
  requests += 1;
  const token = await fetch(`${node}/token`, {
    method: "POST",
    headers: { ...browser.extra(), authorization: basic, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: browser.refreshToken }),
  });
  const json = await token.json();
  if (token.status !== 200 || json.access_token?.split(".").length !== 3 || !json.refresh_token) {
    browser.refreshToken = undefined;
    throw new Error(`refresh on ${node}: ${token.status} ${JSON.stringify(json).slice(0, 200)}`);
  }
  browser.refreshToken = json.refresh_token;
  latencies.push(performance.now() - started);
  byNode[node] += 1;
}

async function user(browser, id, deadline) {
  let index = id;
  while (performance.now() < deadline) {
    try {
      if (mode === "refresh") await refresh(browser, index);
      else await flow(browser, index);
    } catch (error) {
      fail(String(error.message ?? error));
    }
    index += 1;
  }
}

// Warm-up: every virtual user signs in with one flow (bcrypt is the cost of a sign-in, not of
// the flows measured after it). Its errors count; its flows and requests do not.
const browsers = Array.from({ length: users }, (_, id) => new Browser(id));
await Promise.all(browsers.map((browser, id) => flow(browser, id).catch((error) => fail(String(error.message ?? error)))));
latencies.length = 0;
requests = 0;
for (const node of nodes) byNode[node] = 0;
const started = performance.now();
const deadline = started + seconds * 1000;
await Promise.all(browsers.map((browser, id) => user(browser, id, deadline)));
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pick = (q) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : 0;
console.log(JSON.stringify({
  flows: latencies.length,
  flows_per_s: Number((latencies.length / elapsed).toFixed(1)),
  requests,
  errors,
  p50_ms: Number(pick(0.5).toFixed(1)),
  p99_ms: Number(pick(0.99).toFixed(1)),
  by_node: byNode,
  error_samples: errorSamples,
}));
process.exit(errors === 0 && latencies.length > 0 ? 0 : 1);
