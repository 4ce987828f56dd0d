#!/usr/bin/env bash
# A real sign-in in headless Chromium: provider (dev), resource demo and `client web` run from
# already-built binaries on free loopback ports; Chromium (driven over the DevTools protocol by
# a small Node script using only Node's built-in fetch and WebSocket) opens the client, signs
# in as alice through the provider's login and consent pages, calls the API, and saves
# screenshots of the timeline page: target/browser-check/timeline.png (the sequence diagram
# and the first exchanges) and timeline-full.png (the whole page), plus home.png (the
# signed-in home page). Then it signs out at the provider's own page (provider-logout.png) and
# checks that the client's session ended over the back channel (home-after-logout.png,
# timeline-logout.png).
#
# Exits non-zero when the timeline page does not list the expected steps.
#
# Usage: .ci/browser-check.sh [PROVIDER_BIN RESOURCE_BIN CLIENT_BIN]
#   or set PROVIDER_BIN, RESOURCE_BIN, CLIENT_BIN. Default: target/release/NAME when it exists,
#   else target/debug/NAME (build them first: cargo build -p provider -p resource -p client).
#
# The provider registers demo-web with http://127.0.0.1:8082/callback. The client listens on a
# free port with --public-url http://127.0.0.1:8082, and Chromium's --host-resolver-rules maps
# 127.0.0.1:8082 to that port (like a reverse proxy would), so the registered URLs work unchanged.
# BROWSER_CHECK_DEBUG=1 prints the browser's network and console events.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"

pick_binary() {
    local name="$1" given="$2"
    if [[ -n "$given" ]]; then
        echo "$given"
    elif [[ -x "$target/release/$name" ]]; then
        echo "$target/release/$name"
    else
        echo "$target/debug/$name"
    fi
}
provider_bin="$(pick_binary provider "${PROVIDER_BIN:-${1:-}}")"
resource_bin="$(pick_binary resource "${RESOURCE_BIN:-${2:-}}")"
client_bin="$(pick_binary client "${CLIENT_BIN:-${3:-}}")"
for binary in "$provider_bin" "$resource_bin" "$client_bin"; do
    if [[ ! -x "$binary" ]]; then
        echo "browser-check: $binary is missing; build it first (cargo build -p provider -p resource -p client)" >&2
        exit 2
    fi
done

if ! command -v chromium >/dev/null 2>&1; then
    echo "browser-check: installing chromium (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null 2>&1; then
    echo "browser-check: node is required (Node 20+)" >&2
    exit 2
fi

out_dir="$target/browser-check"
mkdir -p "$out_dir"
work="$(mktemp -d)"
pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    # Chromium's helper processes (zygote, renderer) are not our children: stop everything
    # that uses the temporary profile before removing it.
    pkill -f -- "$work" 2>/dev/null || true
    wait 2>/dev/null || true
    if [[ $status -ne 0 ]]; then
        for log in "$work"/*.log; do
            [[ -f "$log" ]] || continue
            echo "----- $(basename "$log") (last 30 lines)" >&2
            tail -n 30 "$log" >&2
        done
    fi
    # A straggler may still hold a file for a moment; a failed clean-up must not fail the check.
    for _ in 1 2 3 4 5; do
        rm -rf "$work" 2>/dev/null && break
        sleep 0.2
    done
    exit $status
}
trap cleanup EXIT

free_port() {
    node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
provider_port="$(free_port)"
resource_port="$(free_port)"
client_port="$(free_port)"
devtools_port="$(free_port)"
issuer="http://127.0.0.1:$provider_port"

RUST_LOG="${RUST_LOG:-info}" "$provider_bin" dev --bind "127.0.0.1:$provider_port" \
    --database "sqlite://$work/provider.db" >"$work/provider.log" 2>&1 &
pids+=($!)
RUST_LOG="${RUST_LOG:-info}" "$resource_bin" --bind "127.0.0.1:$resource_port" --issuer "$issuer" \
    >"$work/resource.log" 2>&1 &
pids+=($!)
# A client registered for this run, whose backchannel_logout_uri is the client's real address
# (the provider calls it server to server, without Chromium's mapping).
for _ in $(seq 1 300); do
    curl -fsS "$issuer/.well-known/openid-configuration" >/dev/null 2>&1 && break
    sleep 0.1
done
registration="$(curl -fsS -X POST "$issuer/register" -H 'content-type: application/json' -d "{
    \"client_name\": \"Demo web app (browser check)\",
    \"redirect_uris\": [\"http://127.0.0.1:8082/callback\"],
    \"post_logout_redirect_uris\": [\"http://127.0.0.1:8082/\"],
    \"grant_types\": [\"authorization_code\", \"refresh_token\"],
    \"scope\": \"openid profile email offline_access api:read api:write\",
    \"backchannel_logout_uri\": \"http://127.0.0.1:$client_port/backchannel-logout\",
    \"backchannel_logout_session_required\": true}")"
client_id="$(node -e 'console.log(JSON.parse(process.argv[1]).client_id)' "$registration")"
client_secret="$(node -e 'console.log(JSON.parse(process.argv[1]).client_secret)' "$registration")"
RUST_LOG="${RUST_LOG:-info}" CLIENT_CLIENT_SECRET="$client_secret" "$client_bin" web --bind "127.0.0.1:$client_port" \
    --public-url "http://127.0.0.1:8082" --client-id "$client_id" \
    --issuer "$issuer" --resource "http://127.0.0.1:$resource_port" >"$work/client.log" 2>&1 &
pids+=($!)

# --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$work/profile" --remote-debugging-address=127.0.0.1 --remote-debugging-port="$devtools_port" \
    --host-resolver-rules="MAP 127.0.0.1:8082 127.0.0.1:$client_port" \
    --window-size=1280,900 about:blank >"$work/chromium.log" 2>&1 &
pids+=($!)

cat >"$work/drive.mjs" <<'NODE'
// Drives Chromium over the DevTools protocol with Node's built-in fetch and WebSocket.
import { writeFileSync } from "node:fs";

const [devtoolsPort, issuer, resource, clientPort, screenshotPath] = process.argv.slice(2);
const publicOrigin = "http://127.0.0.1:8082";
const realOrigin = `http://127.0.0.1:${clientPort}`;
const expectedSteps = [
  "Discovery", "JWKS", "Sign in clicked", "Prepare the sign-in", "Authorization request",
  "Authorization response (callback)", "Check the authorization response", "Token request: code → tokens",
  "Validate the ID token", "UserInfo", "Call GET /api/me",
];

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForHttp(url, what) {
  for (let attempt = 0; attempt < 300; attempt++) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch { /* not up yet */ }
    await delay(100);
  }
  throw new Error(`${what} did not come up at ${url}`);
}

await waitForHttp(`${issuer}/.well-known/openid-configuration`, "the provider");
await waitForHttp(`${resource}/healthz`, "the resource server");
await waitForHttp(`${realOrigin}/healthz`, "the client");
await waitForHttp(`http://127.0.0.1:${devtoolsPort}/json/version`, "chromium");

const targets = await (await fetch(`http://127.0.0.1:${devtoolsPort}/json/list`)).json();
const page = targets.find((target) => target.type === "page");
const socket = new WebSocket(page.webSocketDebuggerUrl);
await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = reject; });

let nextId = 1;
const pending = new Map();
socket.onmessage = async (message) => {
  const data = JSON.parse(message.data);
  if (data.id && pending.has(data.id)) {
    const { resolve, reject } = pending.get(data.id);
    pending.delete(data.id);
    data.error ? reject(new Error(JSON.stringify(data.error))) : resolve(data.result);
  } else if (process.env.BROWSER_CHECK_DEBUG && data.method) {
    const params = data.params;
    const detail = [params.request?.method, params.request?.url ?? params.response?.url, params.response?.status,
      params.entry?.text, params.errorText].filter((part) => part !== undefined).join(" ");
    if (detail) console.log(`  [cdp] ${data.method} ${detail}`);
  }
};
function send(method, params = {}) {
  const id = nextId++;
  socket.send(JSON.stringify({ id, method, params }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}
async function evaluate(expression) {
  const result = await send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
  if (result.exceptionDetails) throw new Error(`${expression}: ${result.exceptionDetails.text}`);
  return result.result.value;
}
async function waitFor(expression, what) {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      if (await evaluate(expression)) return;
    } catch { /* page navigating */ }
    await delay(100);
  }
  const location = await evaluate("location.href").catch(() => "?");
  const text = await evaluate("document.body && document.body.innerText.slice(0, 500)").catch(() => "?");
  throw new Error(`timed out waiting for ${what} (at ${location}): ${text}`);
}

async function screenshot(path, height) {
  const width = await evaluate("document.documentElement.scrollWidth");
  const shot = await send("Page.captureScreenshot", {
    format: "png",
    captureBeyondViewport: true,
    clip: { x: 0, y: 0, width, height: Math.min(height, 16000), scale: 1 },
  });
  writeFileSync(path, Buffer.from(shot.data, "base64"));
  console.log(`browser-check: screenshot saved to ${path} (${width}x${Math.min(height, 16000)})`);
}
await send("Page.enable");
if (process.env.BROWSER_CHECK_DEBUG) {
  // Network and console events, for when a step times out.
  await send("Network.enable");
  await send("Log.enable");
}
await send("Runtime.enable");
await send("Emulation.setDeviceMetricsOverride", { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false });

console.log("browser-check: opening the client");
await send("Page.navigate", { url: `${publicOrigin}/` });
await waitFor(`!!document.querySelector('form[action="/login"] button')`, "the Sign in button");
await evaluate(`document.querySelector('form[action="/login"] button').click()`);

console.log("browser-check: signing in at the provider as alice");
await waitFor(`location.href.startsWith(${JSON.stringify(issuer)}) && !!document.querySelector('input[name=password]')`, "the provider's login page");
await evaluate(`(() => {
  document.querySelector('input[name=username]').value = 'alice';
  document.querySelector('input[name=password]').value = 'alice-password-2026';
  document.querySelector('form button[type=submit]').click();
  return true;
})()`);
await waitFor(`!!document.querySelector('button[value=allow]')`, "the consent page");
await evaluate(`document.querySelector('button[value=allow]').click()`);

console.log("browser-check: back at the client");
await waitFor(`location.href.startsWith(${JSON.stringify(publicOrigin)}) && document.body.innerText.includes('Hello, Alice')`, "the signed-in home page");
await evaluate(`document.querySelector('form[action="/actions/me"] button').click()`);
await waitFor(`document.body.innerText.includes('GET /api/me → 200')`, "the /api/me result");
await screenshot(screenshotPath.replace(/timeline\.png$/, "home.png"), await evaluate("document.documentElement.scrollHeight"));

console.log("browser-check: opening the timeline");
await send("Page.navigate", { url: `${publicOrigin}/timeline` });
await waitFor(`document.readyState === 'complete' && !!document.querySelector('svg')`, "the timeline page");
const text = await evaluate("document.body.innerText");
const missing = expectedSteps.filter((step) => !text.includes(step));

// timeline.png: the sequence diagram and the first exchanges; timeline-full.png: the whole page.
const diagramBottom = await evaluate("Math.ceil(document.querySelector('.diagram').getBoundingClientRect().bottom + window.scrollY)");
await screenshot(screenshotPath, diagramBottom + 700);
await screenshot(screenshotPath.replace(/\.png$/, "-full.png"), await evaluate("document.documentElement.scrollHeight"));
if (missing.length > 0) {
  console.error(`browser-check: the timeline page lacks: ${missing.join(", ")}`);
  process.exit(1);
}
console.log(`browser-check: the timeline lists all ${expectedSteps.length} expected steps`);

// Back-channel logout: the user signs out at the provider itself; the provider tells the
// client server to server, and the client's session ends without the browser visiting it.
console.log("browser-check: signing out at the provider's own page");
await send("Page.navigate", { url: `${issuer}/end_session` });
await waitFor(`!!document.querySelector('button[value=logout]')`, "the provider's sign-out page");
await screenshot(screenshotPath.replace(/timeline\.png$/, "provider-logout.png"), 900);
await evaluate(`document.querySelector('button[value=logout]').click()`);
await waitFor(`document.body.innerText.includes('You are signed out of the provider')`, "the provider's signed-out page");
console.log("browser-check: the client hears of it over the back channel");
let told = false;
for (let attempt = 0; attempt < 30 && !told; attempt++) {
  await send("Page.navigate", { url: `${publicOrigin}/` });
  await waitFor(`document.readyState === 'complete'`, "the client's home page");
  told = await evaluate(`document.body.innerText.includes('Signed out by the provider')`);
  if (!told) await delay(500);
}
if (!told) {
  console.error("browser-check: the client's session did not end after the provider's logout (no back-channel logout)");
  process.exit(1);
}
await screenshot(screenshotPath.replace(/timeline\.png$/, "home-after-logout.png"), await evaluate("document.documentElement.scrollHeight"));
await send("Page.navigate", { url: `${publicOrigin}/timeline` });
await waitFor(`document.readyState === 'complete' && !!document.querySelector('svg')`, "the timeline page");
const after = await evaluate("document.body.innerText");
await screenshot(screenshotPath.replace(/timeline\.png$/, "timeline-logout.png"), await evaluate("document.documentElement.scrollHeight"));
socket.close();
if (!after.includes("Back-channel logout") || !after.includes("Logout token (Back-Channel Logout")) {
  console.error("browser-check: the timeline does not show the back-channel logout");
  process.exit(1);
}
console.log("browser-check: back-channel logout ended the client's session and the timeline shows it");
process.exit(0);
NODE

# Node 22+ has a global WebSocket; Node 20 needs the flag.
node_flags=(--no-warnings)
if [[ "$(node -e 'console.log(typeof WebSocket)')" != "function" ]]; then
    node_flags+=(--experimental-websocket)
fi
node "${node_flags[@]}" "$work/drive.mjs" "$devtools_port" "$issuer" \
    "http://127.0.0.1:$resource_port" "$client_port" "$out_dir/timeline.png"
