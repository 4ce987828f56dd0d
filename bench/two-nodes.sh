#!/usr/bin/env bash
# Two provider nodes on one PostgreSQL and one Redis, driven round-robin: a benchmark, not a
# test (numbers depend on the machine). Prints client_credentials and code-flow throughput per
# node and combined, with the error count, which must be 0.
#
#   bench/two-nodes.sh
#
# Environment (defaults in brackets):
#   DATABASE [postgres://root@127.0.0.1:5432/test]  a fresh schema is made and dropped
#   REDIS [redis://127.0.0.1:6379]                  keys live under a per-run issuer namespace
#   SECONDS_EACH [15]  CONNS [32] (per node, client_credentials)  USERS [16] (code flow)
#   PROVIDER [target/release/provider]              built with cargo when missing
#   SHARED_DIR [../shared]                          the kit's wrk script (bench/wrk-oidc.lua)
# Needs: wrk, node (20+), psql, redis-cli, curl.
# The nodes run `provider dev` (demo clients and users, lab rate limits: one load generator on
# one address would otherwise be rate-limited as an attacker would be) on the shared stores.
set -euo pipefail
cd "$(dirname "$0")/.."
DATABASE="${DATABASE:-postgres://root@127.0.0.1:5432/test}"
REDIS="${REDIS:-redis://127.0.0.1:6379}"
SECONDS_EACH="${SECONDS_EACH:-15}"
CONNS="${CONNS:-32}"
USERS="${USERS:-16}"
PROVIDER="${PROVIDER:-target/release/provider}"
SHARED="${SHARED_DIR:-../shared}"   # the benchmark kit's wrk script
for tool in wrk node psql redis-cli curl; do
  command -v "$tool" >/dev/null || { echo "two-nodes.sh needs $tool" >&2; exit 2; }
done
[ -x "$PROVIDER" ] || cargo build --release -p provider --bin provider

RUN="bench_$(date +%s)_$$"
SCHEMA="$RUN"
ISSUER="http://oidc-$RUN.bench.test"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/two-nodes.XXXXXX")"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$DATABASE" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
  # The nodes' Redis keys are namespaced by the issuer; they expire by themselves, but go now.
  redis-cli -u "$REDIS" --scan --pattern "oidc:*" 2>/dev/null | grep -F "$RUN" | xargs -r redis-cli -u "$REDIS" del >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

psql "$DATABASE" -qc "CREATE SCHEMA $SCHEMA" >/dev/null
case "$DATABASE" in *\?*) SEP='&' ;; *) SEP='?' ;; esac
NODE_DATABASE="${DATABASE}${SEP}options=-c%20search_path%3D${SCHEMA}"
export OIDC_KEY_ENCRYPTION_KEY
OIDC_KEY_ENCRYPTION_KEY="$("$PROVIDER" keys new-kek)"

# shellcheck source=bench/lib.sh
. bench/lib.sh
start_node() { # name port
  "$PROVIDER" dev --bind "127.0.0.1:$2" --issuer "$ISSUER" --database "$NODE_DATABASE" \
    --redis "$REDIS" >"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  wait_ready "http://127.0.0.1:$2/readyz" "$WORK/$1.log"
}
PORT_A="$(free_port)"; start_node a "$PORT_A"   # the first node creates the schema and keys
PORT_B="$(free_port)"; start_node b "$PORT_B"
A="http://127.0.0.1:$PORT_A"; B="http://127.0.0.1:$PORT_B"
echo "# two nodes: $A and $B, issuer $ISSUER, PostgreSQL schema $SCHEMA, Redis $REDIS"
echo "# $(nproc) cores; load generators run on the same machine"

# client_credentials: one wrk per node at the same time (a round-robin balancer's split).
BASIC="Basic $(printf 'demo-service:demo-service-secret' | base64 -w0)"
BODY="grant_type=client_credentials&scope=api%3Aread"
check=$(curl -s -u demo-service:demo-service-secret -d "$BODY" "$B/token")
case "$check" in *'"access_token"'*) ;; *) echo "client_credentials does not work: $check" >&2; exit 1 ;; esac
wrk_node() { # url out
  WRK_METHOD=POST WRK_BODY="$BODY" WRK_AUTH="$BASIC" wrk -t1 -c "$CONNS" -d "${SECONDS_EACH}s" \
    -s "$SHARED/bench/wrk-oidc.lua" "$1/token" | grep '^RESULT' >"$2"
}
wrk_node "$A" "$WORK/cc-a" & W1=$!
wrk_node "$B" "$WORK/cc-b" & W2=$!
wait "$W1" "$W2"
read -r _ RPS_A P50_A P99_A N_A BAD_A SOCK_A <"$WORK/cc-a"
read -r _ RPS_B P50_B P99_B N_B BAD_B SOCK_B <"$WORK/cc-b"
CC_ERRORS=$((BAD_A + SOCK_A + BAD_B + SOCK_B))
printf 'client_credentials  node a %8.1f req/s p50 %s ms p99 %s ms | node b %8.1f req/s p50 %s ms p99 %s ms | combined %8.1f req/s  errors %d\n' \
  "$RPS_A" "$P50_A" "$P99_A" "$RPS_B" "$P50_B" "$P99_B" "$(python3 -c "print($RPS_A + $RPS_B)")" "$CC_ERRORS"

# Code flow: SSO'd users, /authorize on one node and /token on the other, alternating.
FLOW=$(node bench/code-flow-load.mjs --nodes "$A,$B" --users "$USERS" --seconds "$SECONDS_EACH") || true
echo "code_flow           $FLOW"
FLOW_ERRORS=$(printf '%s' "$FLOW" | python3 -c 'import json,sys; print(json.load(sys.stdin)["errors"])' 2>/dev/null || echo 1)

# The same client_credentials load on node a alone, for the ratio.
wrk_node "$A" "$WORK/cc-one"
read -r _ RPS_ONE P50_ONE P99_ONE N_ONE BAD_ONE SOCK_ONE <"$WORK/cc-one"
printf 'one node (a alone)  %8.1f req/s p50 %s ms p99 %s ms  errors %d\n' "$RPS_ONE" "$P50_ONE" "$P99_ONE" "$((BAD_ONE + SOCK_ONE))"

if [ "$CC_ERRORS" -ne 0 ] || [ "$FLOW_ERRORS" != "0" ] || [ "$((BAD_ONE + SOCK_ONE))" -ne 0 ]; then
  echo "errors: see above" >&2
  exit 1
fi
echo "# zero errors"
