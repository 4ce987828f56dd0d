#!/usr/bin/env bash
# Swagger UI check: headless Chromium opens $CI_ISSUER/docs, Swagger UI must render every
# operation of the provider's /openapi.json (no script blocked by the page's CSP), and a
# screenshot is saved to target/browser-check/swagger-ui.png for humans to look at.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${CI_ISSUER:?CI_ISSUER must point at a running provider}"
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
FLAGS=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run
  --hide-scrollbars --user-data-dir="$WORK/swagger-ui-check/profile" --virtual-time-budget=15000)
URL="$CI_ISSUER/docs"
DOM="$WORK/swagger-ui-check/dom.html"
LOG="$WORK/swagger-ui-check/chromium.log"
"$CHROMIUM" "${FLAGS[@]}" --enable-logging=stderr --v=0 --dump-dom "$URL" >"$DOM" 2>"$LOG"
"$CHROMIUM" "${FLAGS[@]}" --window-size=1280,2200 --screenshot="$OUT/swagger-ui.png" "$URL" >/dev/null 2>&1

curl -sf "$CI_ISSUER/openapi.json" -o "$WORK/swagger-ui-check/openapi.json"
python3 - "$DOM" "$WORK/swagger-ui-check/openapi.json" "$LOG" "$OUT/swagger-ui.png" <<'PY'
import html, json, os, re, sys

dom, document, log, screenshot = sys.argv[1:5]
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
if "OpenID Connect provider" not in page:
    problems.append("the document's title is not on the page")
if 'class="btn authorize' not in page:
    problems.append("no Authorize button (security schemes missing?)")
blocked = [line.strip() for line in open(log, errors="replace")
           if "Refused to" in line or "Uncaught" in line or "Content Security Policy" in line]
if blocked:
    problems.append("browser console errors:\n  " + "\n  ".join(blocked[:10]))
if not os.path.exists(screenshot) or os.path.getsize(screenshot) < 20_000:
    problems.append(f"screenshot {screenshot} missing or blank")
print(f"swagger-ui: {len(rendered)} of {len(expected)} operations rendered; screenshot {screenshot} "
      f"({os.path.getsize(screenshot) if os.path.exists(screenshot) else 0} bytes)")
if problems:
    print("swagger-ui check FAILED:\n- " + "\n- ".join(problems), file=sys.stderr)
    sys.exit(1)
print("swagger-ui check passed")
PY
