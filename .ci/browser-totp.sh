#!/usr/bin/env bash
# Two-step verification in headless Chromium, through the provider's real pages: alice signs in
# to /account, sets up an authenticator app (the QR code page; the code is computed here from
# the manual key, RFC 6238), keeps her recovery codes, signs out, and signs in again with her
# password and a code. Screenshots in target/browser-check/: account.png, totp-setup.png,
# recovery-codes.png, second-factor.png, account-mfa.png.
#
# Usage: .ci/browser-totp.sh [PROVIDER_BIN]  (default target/debug/provider)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
provider_bin="${1:-$target/debug/provider}"
[[ -x "$provider_bin" ]] || { echo "browser-totp: $provider_bin is missing; build it first" >&2; exit 2; }
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
out_dir="$target/browser-check"
mkdir -p "$out_dir"
work="$(mktemp -d)"
pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    pkill -f -- "$work" 2>/dev/null || true
    wait 2>/dev/null || true
    if [[ $status -ne 0 ]]; then
        for log in "$work"/*.log; do
            [[ -f "$log" ]] || continue
            echo "----- $(basename "$log") (last 30 lines)" >&2
            tail -n 30 "$log" >&2
        done
    fi
    for _ in 1 2 3 4 5; do rm -rf "$work" 2>/dev/null && break; sleep 0.2; done
    exit $status
}
trap cleanup EXIT

free_port() {
    node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
provider_port="$(free_port)"
devtools_port="$(free_port)"
issuer="http://127.0.0.1:$provider_port"
RUST_LOG="${RUST_LOG:-info}" "$provider_bin" dev --bind "127.0.0.1:$provider_port" \
    --database "sqlite://$work/provider.db" >"$work/provider.log" 2>&1 &
pids+=($!)
chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$work/profile" --remote-debugging-address=127.0.0.1 --remote-debugging-port="$devtools_port" \
    --window-size=1280,900 about:blank >"$work/chromium.log" 2>&1 &
pids+=($!)

cat >"$work/drive.mjs" <<'NODE'
import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";

const [devtoolsPort, issuer, outDir] = process.argv.slice(2);
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// RFC 6238 with SHA-1, 6 digits, 30 s; the key as the page shows it (base32, in groups).
function totp(key, at) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of key.replace(/\s+/g, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = Buffer.from(bits.match(/.{8}/g).map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30)));
  const mac = createHmac("sha1", bytes).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, "0");
}

async function waitForHttp(url, what) {
  for (let attempt = 0; attempt < 300; attempt++) {
    try { if ((await fetch(url)).ok) return; } catch { /* not up yet */ }
    await delay(100);
  }
  throw new Error(`${what} did not come up at ${url}`);
}
await waitForHttp(`${issuer}/.well-known/openid-configuration`, "the provider");
await waitForHttp(`http://127.0.0.1:${devtoolsPort}/json/version`, "chromium");

const targets = await (await fetch(`http://127.0.0.1:${devtoolsPort}/json/list`)).json();
const socket = new WebSocket(targets.find((target) => target.type === "page").webSocketDebuggerUrl);
await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = reject; });
let nextId = 1;
const pending = new Map();
socket.onmessage = (message) => {
  const data = JSON.parse(message.data);
  if (data.id && pending.has(data.id)) {
    const { resolve, reject } = pending.get(data.id);
    pending.delete(data.id);
    data.error ? reject(new Error(JSON.stringify(data.error))) : resolve(data.result);
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
    try { if (await evaluate(expression)) return; } catch { /* navigating */ }
    await delay(100);
  }
  const text = await evaluate("document.body && document.body.innerText.slice(0, 400)").catch(() => "?");
  throw new Error(`timed out waiting for ${what}: ${text}`);
}
async function screenshot(name) {
  const height = await evaluate("document.documentElement.scrollHeight");
  const shot = await send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true,
    clip: { x: 0, y: 0, width: 1280, height: Math.max(height, 900), scale: 1 } });
  writeFileSync(`${outDir}/${name}`, Buffer.from(shot.data, "base64"));
  console.log(`browser-totp: screenshot ${outDir}/${name}`);
}
const fill = (selector, value) => evaluate(`(() => { const input = document.querySelector(${JSON.stringify(selector)}); input.value = ${JSON.stringify(value)}; return true; })()`);
const click = (selector) => evaluate(`(() => { document.querySelector(${JSON.stringify(selector)}).click(); return true; })()`);

await send("Page.enable");
await send("Runtime.enable");
await send("Emulation.setDeviceMetricsOverride", { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false });

async function signIn(withCode) {
  await send("Page.navigate", { url: `${issuer}/account` });
  await waitFor(`!!document.querySelector('input[name=password]')`, "the login page");
  await fill("input[name=username]", "alice");
  await fill("input[name=password]", "alice-password-2026");
  await click("form button[type=submit]");
  if (withCode) {
    await waitFor(`document.body.innerText.includes('Two-step verification') && !!document.querySelector('input[name=code]')`, "the second-factor page");
    await screenshot("second-factor.png");
    await fill("input[name=code]", withCode());
    await click("form button[type=submit]");
  }
  await waitFor(`document.body.innerText.includes('Your account')`, "the account page");
}

console.log("browser-totp: signing in to the account page with the password");
await signIn(null);
await screenshot("account.png");
await click("a.button.primary");
await waitFor(`!!document.querySelector('.qr svg') && !!document.querySelector('code.key')`, "the QR code page");
await screenshot("totp-setup.png");
const key = await evaluate(`document.querySelector('code.key').innerText`);
const enrolledAt = Math.floor(Date.now() / 1000);
await fill("input[name=code]", totp(key, enrolledAt));
await click("form button[type=submit]");
await waitFor(`document.querySelectorAll('.codes li').length === 10`, "the recovery codes");
await screenshot("recovery-codes.png");

console.log("browser-totp: signing out, then in again with the password and a code");
await send("Page.navigate", { url: `${issuer}/end_session` });
await waitFor(`!!document.querySelector('button[value=logout]')`, "the sign-out page");
await click("button[value=logout]");
await waitFor(`document.body.innerText.includes('signed out')`, "the signed-out page");
// The next step's code: the enrolment used this one (each code works once).
await signIn(() => totp(key, Math.max(Math.floor(Date.now() / 1000), enrolledAt + 30)));
const text = await evaluate("document.body.innerText");
await screenshot("account-mfa.png");
socket.close();
if (!text.includes("pwd otp mfa") || !text.includes("authenticator app is set up")) {
  console.error(`browser-totp: the account page does not show a two-factor session: ${text.slice(0, 400)}`);
  process.exit(1);
}
console.log("browser-totp: enrolment and a two-factor sign-in worked in Chromium");
process.exit(0);
NODE

node_flags=(--no-warnings)
if [[ "$(node -e 'console.log(typeof WebSocket)')" != "function" ]]; then
    node_flags+=(--experimental-websocket)
fi
node "${node_flags[@]}" "$work/drive.mjs" "$devtools_port" "$issuer" "$out_dir"
