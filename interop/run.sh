#!/usr/bin/env bash
# Interop checks for private_key_jwt, client_secret_jwt and DPoP (RFC 9449) with oauth4webapi + jose.
# Usage: interop/run.sh ISSUER [RESOURCE_URL]
#   e.g. interop/run.sh http://127.0.0.1:8080 http://127.0.0.1:8081
# Prints one line per check (PASS name / FAIL name: reason / SKIP name: reason), then
# "N passed, M failed" as the last line. Exit 0 only if nothing failed.
# Runs from a writable copy in ${INTEROP_WORKDIR:-${TMPDIR:-/tmp}/oidc-own-interop}, where the pinned
# npm packages are installed (npm ci) on first use and whenever package-lock.json changes.
# HARNESS_VERBOSE=1 sends diagnostics (stack traces, server answers) to stderr.
# interop/run.sh --mcp ISSUER RS_URL runs the MCP authorization checks (mcp.mjs, with the MCP
# TypeScript SDK) instead, with the same working copy, install and output contract.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCRIPT=checks.mjs
if [ "${1:-}" = "--mcp" ]; then
  shift
  SCRIPT=mcp.mjs
  if [ $# -lt 2 ] || [ -z "${1:-}" ] || [ -z "${2:-}" ]; then
    echo "usage: $0 --mcp ISSUER RS_URL" >&2
    exit 2
  fi
fi
if [ $# -lt 1 ] || [ -z "${1:-}" ]; then
  echo "usage: $0 ISSUER [RESOURCE_URL]" >&2
  exit 2
fi
ISSUER="$1"
RESOURCE_URL="${2:-}"
WORK="${INTEROP_WORKDIR:-${TMPDIR:-/tmp}/oidc-own-interop}"

harness_fail() { # name reason: the contract's output for a failure before any check could run
  echo "FAIL $1: $2"
  echo "0 passed, 1 failed"
  exit 1
}

if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  harness_fail harness.node "Node.js >= 20 is required"
fi

mkdir -p "$WORK"
# refresh the working copy; node_modules stays unless the lock file changed
for item in "$SRC"/* "$SRC"/.gitignore; do
  name="$(basename "$item")"
  [ "$name" = node_modules ] && continue
  rm -rf "${WORK:?}/$name"
  cp -r "$item" "$WORK/$name"
done
chmod -R u+w "$WORK"

STAMP="$WORK/.installed-package-lock.json"
if [ ! -d "$WORK/node_modules" ] || ! cmp -s "$WORK/package-lock.json" "$STAMP"; then
  rm -rf "${WORK:?}/node_modules" "$STAMP"
  if ! NPM_ERR="$(cd "$WORK" && npm ci --silent --no-audit --no-fund 2>&1)"; then
    [ "${HARNESS_VERBOSE:-0}" = "1" ] && printf '%s\n' "$NPM_ERR" >&2
    harness_fail harness.npm_ci "npm ci failed in $WORK: $(printf '%s' "$NPM_ERR" | tr '\n' ' ' | cut -c1-300)"
  fi
  cp "$WORK/package-lock.json" "$STAMP"
fi

if [ "${HARNESS_VERBOSE:-0}" = "1" ]; then ERR=/dev/stderr; else ERR=/dev/null; fi
ARGS=("$WORK/$SCRIPT" "$ISSUER")
[ -n "$RESOURCE_URL" ] && ARGS+=("$RESOURCE_URL")

OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT
rc=0
node "${ARGS[@]}" 2>"$ERR" | tee "$OUT" || rc=$?
# the script always ends with the summary line; if it died before that, say so in the contract's form
if ! tail -n 1 "$OUT" | grep -Eq '^[0-9]+ passed, [0-9]+ failed$'; then
  echo "FAIL harness.node: $SCRIPT exited with status $rc without a summary"
  PASSED=$(grep -c '^PASS ' "$OUT" || true)
  FAILED=$(grep -c '^FAIL ' "$OUT" || true)
  echo "$PASSED passed, $((FAILED + 1)) failed"
  exit 1
fi
exit "$rc"
