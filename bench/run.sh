#!/usr/bin/env bash
# The whole performance report in one run: every goal of the performance issue measured side by
# side on this machine, written to target/bench-report.md (goal, measured ratio, met or not).
#
#   bench/run.sh            # ~20 min on 2 cores after the release build
#
# What it does:
#   1. builds the release binaries (provider, resource) and the kit's ceiling server and raw
#      signing bench (../shared/bench/limit);
#   2. starts the node-oidc-provider peer, the ceiling, `provider dev` on a fresh SQLite file
#      (--trusted-proxies 127.0.0.1/32, so the flood below can come from many addresses), and
#      two demo APIs (RS256 for the notes API, ES256 for urn:demo:api:es256);
#   3. ../shared/bench/side-by-side.sh over discovery, JWKS, client_credentials RS256 and
#      ES256, and the resource servers' /api/me (RS256 and ES256), against the peer and the
#      ceiling, interleaved;
#   4. the raw RS256 signing rate per core (aws-lc-rs, key parsed once), for the minting goal;
#   5. the code flow (authorize + code exchange: ID, access and refresh token, SQLite writes)
#      against client_credentials RS256 measured right before it;
#   6. a login flood (bench/wrk-login-flood.lua: wrong passwords, a new address and user name
#      per request, so every request costs a bcrypt) with /jwks and ES256 client_credentials
#      measured quiet and under the flood, alternating;
#   7. the resident memory of every process after all of that;
#   8. with SCALING=1 (default), the refresh grant on an empty store and on one seeded with
#      1M refresh tokens, 1M access-token records and 100k users (half of the tokens expired,
#      so the purge at start deletes 1M rows while the refresh grant is measured), on SQLite,
#      and on PostgreSQL when it answers at $POSTGRES.
#
# Environment (defaults in brackets):
#   SHARED_DIR [../shared]  ROUNDS [3]  DURATION [8s]  CONNS [64]  FLOOD_CONNS [32]
#   FLOW_USERS [16]  FLOW_SECONDS [10]  SCALING [1]  SEED_TOKENS [1000000]  SEED_USERS [100000]
#   POSTGRES [postgres://root@127.0.0.1:5432/test]  (a schema per run, dropped afterwards)
#   REPORT [target/bench-report.md] (raw rows beside it in bench-raw/)  SKIP_BUILD [0]
# Needs: wrk, node 20+, python3, curl (psql for the PostgreSQL scaling rows).
# Optional in CI, never a gate: these machines are shared and noisy; the report says so.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
SHARED="$(cd "${SHARED_DIR:-$ROOT/../shared}" && pwd)"
KIT="$SHARED/bench"
ROUNDS="${ROUNDS:-3}"
export DURATION="${DURATION:-8s}" CONNS="${CONNS:-64}"
FLOOD_CONNS="${FLOOD_CONNS:-32}"
FLOW_USERS="${FLOW_USERS:-16}"
FLOW_SECONDS="${FLOW_SECONDS:-10}"
SCALING="${SCALING:-1}"
SEED_TOKENS="${SEED_TOKENS:-1000000}"
SEED_USERS="${SEED_USERS:-100000}"
POSTGRES="${POSTGRES:-postgres://root@127.0.0.1:5432/test}"
REPORT="${REPORT:-target/bench-report.md}"
for tool in wrk node python3 curl; do
  command -v "$tool" >/dev/null || { echo "bench/run.sh needs $tool" >&2; exit 2; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/bench-run.XXXXXX")"
PIDS=()
SCHEMAS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for schema in "${SCHEMAS[@]:-}"; do
    [ -n "$schema" ] && psql "$POSTGRES" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
# shellcheck source=bench/lib.sh
. bench/lib.sh

# 1. Binaries.
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building release binaries"
  cargo build --release --quiet -p provider --bin provider
  cargo build --release --quiet -p resource --features demo --bin resource
fi
LIMIT_TARGET="${PERF_LIMIT_TARGET:-${TMPDIR:-/tmp}/perf-limit/target}"
log "building the kit's ceiling and raw signing bench"
(cd "$KIT/limit" && CARGO_TARGET_DIR="$LIMIT_TARGET" cargo build --release --quiet --locked)
PROVIDER="$ROOT/target/release/provider"
RESOURCE="$ROOT/target/release/resource"
CEILING="$LIMIT_TARGET/release/ceiling"
RAW="$LIMIT_TARGET/release/perf-limit"

rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# 2. Servers.
log "starting the peer, the ceiling, the provider and two demo APIs"
PEER="$("$KIT/peers/node-oidc-provider/start.sh")"
PIDS+=("$PEER")
CEIL_PORT="$(free_port)"
BIND="127.0.0.1:$CEIL_PORT" "$CEILING" >"$WORK/ceiling.log" 2>&1 &
CEIL=$!; PIDS+=("$CEIL")
PROV_PORT="$(free_port)"
P="http://127.0.0.1:$PROV_PORT"
"$PROVIDER" dev --bind "127.0.0.1:$PROV_PORT" --database "sqlite://$WORK/provider.db" \
  --trusted-proxies 127.0.0.1/32 >"$WORK/provider.log" 2>&1 &
PROV=$!; PIDS+=("$PROV")
wait_ready "$P/readyz" "$WORK/provider.log"
RS_PORT="$(free_port)"
"$RESOURCE" --bind "127.0.0.1:$RS_PORT" --issuer "$P" --audience http://127.0.0.1:8081 \
  --algorithm RS256 >"$WORK/rs.log" 2>&1 &
RS=$!; PIDS+=("$RS")
RSE_PORT="$(free_port)"
"$RESOURCE" --bind "127.0.0.1:$RSE_PORT" --issuer "$P" --audience urn:demo:api:es256 \
  --algorithm ES256 >"$WORK/rs-es256.log" 2>&1 &
RSE=$!; PIDS+=("$RSE")
wait_ready "http://127.0.0.1:$RS_PORT/readyz" "$WORK/rs.log"
wait_ready "http://127.0.0.1:$RSE_PORT/readyz" "$WORK/rs-es256.log"
wait_ready "http://127.0.0.1:$CEIL_PORT/.well-known/openid-configuration" "$WORK/ceiling.log"
C="http://127.0.0.1:$CEIL_PORT"
NODE="http://127.0.0.1:3000"

# 3. Side by side.
log "side by side: $ROUNDS rounds of $DURATION per endpoint"
RUST_RS256_PARAMS="resource=http://127.0.0.1:8081" RUST_ES256_PARAMS="resource=urn:demo:api:es256" \
  NODE_RS256_PARAMS="resource=urn:demo:api" RUST_RS_URL="http://127.0.0.1:$RS_PORT/api/me" \
  CEILING_RS_URL="$C/api/me" ENDPOINTS="discovery jwks token_rs256 token_es256 rs_rs256" \
  OUT="$WORK/side.txt" "$KIT/side-by-side.sh" -r "$ROUNDS" \
  "rust=$P@$PROV" "node=$NODE@$PEER" "ceiling=$C@$CEIL" >"$WORK/side-summary.md"
RUST_ES256_PARAMS="resource=urn:demo:api:es256" RUST_RS_URL="http://127.0.0.1:$RSE_PORT/api/me" \
  CEILING_RS_URL="$C/api/me" ENDPOINTS="rs_es256" OUT="$WORK/side-rs-es256.txt" \
  "$KIT/side-by-side.sh" -r "$ROUNDS" "rust=$P@$PROV" "ceiling=$C@$CEIL" >"$WORK/side-rs-es256-summary.md"

# 4. Raw signing per core, key parsed once (the minting goal's denominator).
log "raw signing rate"
FILTER="aws-lc-rs" ROUNDS=5 "$RAW" >"$WORK/raw.md" 2>/dev/null || true

# 5. Code flow vs client_credentials RS256, back to back.
log "code flow vs client_credentials"
BASIC="Basic $(printf 'demo-service:demo-service-secret' | base64 -w0)"
for round in $(seq 1 "$ROUNDS"); do
  WRK_METHOD=POST WRK_BODY="grant_type=client_credentials&scope=api%3Aread&resource=http%3A%2F%2F127.0.0.1%3A8081" \
    WRK_AUTH="$BASIC" wrk -t1 -c "$CONNS" -d "${FLOW_SECONDS}s" -s "$KIT/wrk-oidc.lua" "$P/token" \
    | awk '/^RESULT/{print "cc", $2, $3, $4, $6 + $7}' >>"$WORK/flow.txt"
  node bench/code-flow-load.mjs --nodes "$P" --users "$FLOW_USERS" --seconds "$FLOW_SECONDS" --forwarded-for \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); print("flow", d["flows_per_s"], d["p50_ms"], d["p99_ms"], d["errors"])' \
    >>"$WORK/flow.txt" || echo "flow 0 0 0 1" >>"$WORK/flow.txt"
done

# 6. Login flood.
log "login flood"
new_interaction() { # -> writes $WORK/flood.env (csrf, cookie, action)
  local jar="$WORK/flood.jar" page location
  rm -f "$jar"
  location="$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' \
    "$P/authorize?response_type=code&client_id=demo-web&redirect_uri=http%3A%2F%2F127.0.0.1%3A8082%2Fcallback&scope=openid&state=flood-state&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")"
  page="$(curl -s -c "$jar" -b "$jar" "$location")"
  python3 - "$page" "$jar" "$P" >"$WORK/flood.env" <<'PY'
import re, sys
page, jar, base = sys.argv[1:4]
csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
action = re.search(r'<form[^>]*action="([^"]+)"', page).group(1).replace("&amp;", "&")
cookies = []
for line in open(jar):
    line = line.strip()
    if line.startswith("#HttpOnly_"):
        line = line[len("#HttpOnly_"):]
    elif not line or line.startswith("#"):
        continue
    fields = line.split("\t")
    if len(fields) == 7:
        cookies.append(f"{fields[5]}={fields[6]}")
print(f"FLOOD_CSRF={csrf}")
print(f"FLOOD_COOKIE='{'; '.join(cookies)}'")
print(f"FLOOD_ACTION={base}{action}")
PY
}
failures() { curl -s "$P/metrics" | awk '/^oidc_sign_ins_total\{.*result="failure"/{s+=$2} END{print s+0}'; }
FLOOD_SECONDS=$(( 2 * (${DURATION%s} + 2) + 8 ))
for round in $(seq 1 "$ROUNDS"); do
  ENDPOINTS="jwks token_es256" LABEL=quiet SERVER_PID="$PROV" "$KIT/run-peer-bench.sh" "$P" \
    | sed "s/^/r$round /" >>"$WORK/flood.txt"
  new_interaction
  # shellcheck disable=SC1091
  . "$WORK/flood.env"
  before="$(failures)"
  FLOOD_CSRF="$FLOOD_CSRF" FLOOD_COOKIE="$FLOOD_COOKIE" wrk -t1 -c "$FLOOD_CONNS" \
    -d "${FLOOD_SECONDS}s" --timeout 20s -s bench/wrk-login-flood.lua "$FLOOD_ACTION" \
    >"$WORK/flood-wrk.txt" 2>&1 &
  flood=$!
  sleep 2
  ENDPOINTS="jwks token_es256" LABEL=flood SERVER_PID="$PROV" "$KIT/run-peer-bench.sh" "$P" \
    | sed "s/^/r$round /" >>"$WORK/flood.txt"
  wait "$flood" || true
  after="$(failures)"
  awk -v r="$round" -v checked="$((after - before))" '/^RESULT/{print "r" r " storm", $2, $3, $4, $6 + $7, "bcrypt_checked=" checked}' \
    "$WORK/flood-wrk.txt" >>"$WORK/flood.txt"
done

# 7. Memory after everything above.
{
  echo "provider $(rss_kb "$PROV") $(hwm_kb "$PROV")"
  echo "resource-rs256 $(rss_kb "$RS") $(hwm_kb "$RS")"
  echo "resource-es256 $(rss_kb "$RSE") $(hwm_kb "$RSE")"
  echo "ceiling $(rss_kb "$CEIL") $(hwm_kb "$CEIL")"
  peer_total=0
  for pid in "$PEER" $(ps -o pid= --ppid "$PEER" 2>/dev/null); do peer_total=$((peer_total + $(rss_kb "$pid"))); done
  echo "node-oidc-provider $peer_total 0"
} >"$WORK/memory.txt"
kill "$PEER" "$CEIL" "$RS" "$RSE" "$PROV" 2>/dev/null || true

# 8. Cost against data size.
: >"$WORK/scaling.txt"
if [ "$SCALING" = 1 ]; then
  scaling_run() { # label database-url
    local port log pid
    port="$(free_port)"; log="$WORK/scaling-$1.log"
    "$PROVIDER" dev --bind "127.0.0.1:$port" --database "$2" --log-format json \
      >"$log" 2>&1 &
    pid=$!; PIDS+=("$pid")
    wait_ready "http://127.0.0.1:$port/readyz" "$log"
    local started; started="$(date +%s.%N)"
    node bench/code-flow-load.mjs --mode refresh --nodes "http://127.0.0.1:$port" \
      --users "$FLOW_USERS" --seconds "$FLOW_SECONDS" \
      | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sys.argv[1], d["flows_per_s"], d["p50_ms"], d["p99_ms"], d["errors"])' "$1" \
      >>"$WORK/scaling.txt" || echo "$1 0 0 0 1" >>"$WORK/scaling.txt"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    python3 bench/purge-window.py "$1" "$log" "$started" >>"$WORK/scaling.txt"
  }
  log "scaling on SQLite: empty store"
  DB="$WORK/scaling.db"
  scaling_run sqlite-empty "sqlite://$DB"
  log "scaling on SQLite: seeding $SEED_TOKENS refresh tokens, $SEED_TOKENS access-token records, $SEED_USERS users"
  python3 bench/seed-store.py sqlite "$DB" "$SEED_TOKENS" "$SEED_USERS" >>"$WORK/seed.txt"
  scaling_run sqlite-seeded "sqlite://$DB"
  if command -v psql >/dev/null && psql "$POSTGRES" -qc "SELECT 1" >/dev/null 2>&1; then
    SCHEMA="bench_$(date +%s)_$$"
    SCHEMAS+=("$SCHEMA")
    psql "$POSTGRES" -qc "CREATE SCHEMA $SCHEMA" >/dev/null
    case "$POSTGRES" in *\?*) SEP='&' ;; *) SEP='?' ;; esac
    PG_URL="${POSTGRES}${SEP}options=-c%20search_path%3D${SCHEMA}"
    export OIDC_KEY_ENCRYPTION_KEY
    OIDC_KEY_ENCRYPTION_KEY="$("$PROVIDER" keys new-kek)"
    log "scaling on PostgreSQL: empty store"
    scaling_run postgres-empty "$PG_URL"
    log "scaling on PostgreSQL: seeding"
    python3 bench/seed-store.py postgres "$POSTGRES" "$SEED_TOKENS" "$SEED_USERS" "$SCHEMA" >>"$WORK/seed.txt"
    scaling_run postgres-seeded "$PG_URL"
  else
    echo "# PostgreSQL at $POSTGRES did not answer: no PostgreSQL scaling rows" >>"$WORK/seed.txt"
  fi
fi

# The report, and the raw rows it was made from next to it.
RAW_DIR="$(dirname "$REPORT")/bench-raw"
rm -rf "$RAW_DIR"; mkdir -p "$RAW_DIR"
cp "$WORK"/*.txt "$WORK"/*.md "$RAW_DIR"/ 2>/dev/null || true
python3 bench/report.py "$RAW_DIR" >"$REPORT"
log "report written to $REPORT"
cat "$REPORT"
