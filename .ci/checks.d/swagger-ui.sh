#!/usr/bin/env bash
# Swagger UI check: headless Chromium opens $CI_ISSUER/docs and $CI_RESOURCE/docs; Swagger UI
# must render every operation of that server's /openapi.json (no script blocked by the page's
# CSP), and screenshots are saved to target/browser-check/swagger-ui.png (provider) and
# target/browser-check/swagger-ui-resource.png (resource server) for humans to look at.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${CI_ISSUER:?CI_ISSUER must point at a running provider}"
: "${CI_RESOURCE:?CI_RESOURCE must point at the running resource demo}"
WORK="${CI_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/swagger-ui-check.XXXXXX")}"
OUT="target/browser-check"
mkdir -p "$OUT" "$WORK/swagger-ui-check"

CHROMIUM="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$CHROMIUM" ]; then
  echo "installing Debian chromium"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  CHROMIUM="$(command -v chromium)"
fi
echo "browser: $("$CHROMIUM" --version 2>/dev/null | head -n 1)"

# --no-sandbox: CI runs as root in a container; the page is our own loopback server.
# check_docs <name> <server URL> <title> <screenshot>
check_docs() {
  local name="$1" server="$2" title="$3" screenshot="$4"
  local dir="$WORK/swagger-ui-check/$name"
  mkdir -p "$dir"
  local flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run
    --hide-scrollbars --user-data-dir="$dir/profile" --virtual-time-budget=15000)
  "$CHROMIUM" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "$server/docs" \
    >"$dir/dom.html" 2>"$dir/chromium.log"
  "$CHROMIUM" "${flags[@]}" --window-size=1280,2200 --screenshot="$screenshot" "$server/docs" \
    >/dev/null 2>&1
  curl -sf "$server/openapi.json" -o "$dir/openapi.json"
  python3 - "$dir/dom.html" "$dir/openapi.json" "$dir/chromium.log" "$screenshot" "$title" <<'PY'
import html, json, os, re, sys

dom, document, log, screenshot, title = sys.argv[1:6]
page = open(dom, encoding="utf-8", errors="replace").read()
spec = json.load(open(document))
methods = ("get", "put", "post", "delete", "patch")
expected = sorted((method.upper(), path) for path, item in spec["paths"].items()
                  for method in methods if method in item)
# Swagger UI renders each operation as an opblock with its method and data-path.
rendered = sorted(
    (method.upper(), html.unescape(path))
    for method, path in re.findall(
        r'opblock-summary-method">(\w+)</span>.*?data-path="([^"]+)"', page, re.S))
problems = []
missing = sorted(set(expected) - set(rendered))
if missing:
    problems.append(f"operations not rendered: {missing}")
if title not in page:
    problems.append(f"the document's title ({title}) is not on the page")
if 'class="btn authorize' not in page:
    problems.append("no Authorize button (security schemes missing?)")
blocked = [line.strip() for line in open(log, errors="replace")
           if "Refused to" in line or "Uncaught" in line or "Content Security Policy" in line]
if blocked:
    problems.append("browser console errors:\n  " + "\n  ".join(blocked[:10]))
if not os.path.exists(screenshot) or os.path.getsize(screenshot) < 20_000:
    problems.append(f"screenshot {screenshot} missing or blank")
print(f"swagger-ui ({title}): {len(rendered)} of {len(expected)} operations rendered; "
      f"screenshot {screenshot} ({os.path.getsize(screenshot) if os.path.exists(screenshot) else 0} bytes)")
if problems:
    print("swagger-ui check FAILED:\n- " + "\n- ".join(problems), file=sys.stderr)
    sys.exit(1)
PY
}

check_docs provider "$CI_ISSUER" "OpenID Connect provider" "$OUT/swagger-ui.png"
check_docs resource "$CI_RESOURCE" "Notes demo API (resource server)" "$OUT/swagger-ui-resource.png"
echo "swagger-ui check passed"
