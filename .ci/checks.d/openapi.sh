#!/usr/bin/env bash
# OpenAPI check: (1) the committed openapi/openapi.json and the live /openapi.json of the
# provider and of the demo resource server are valid OpenAPI 3.1; (2) Schemathesis fuzzes the
# live provider (dev mode, demo data) and the live resource server, each from its own document:
# no 5xx, and every response matches a documented status code, content type, headers and
# schema. Findings are fixed in the code or the document, never by relaxing this.
#
# Needs: CI_ISSUER (a provider started with `provider dev`), CI_RESOURCE (the `resource` demo
# trusting CI_ISSUER, with its default audience), CI_WORK (scratch dir; a temp dir otherwise).
# Installs its Python tools (pinned) into a venv under CI_WORK.
# Knobs: OPENAPI_MAX_EXAMPLES (default 100), OPENAPI_SEED (default 20261127). A run takes about
# 30 s for the provider (some 2,700 requests) and 10 s for the resource server on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
: "${CI_ISSUER:?CI_ISSUER must point at a running provider (dev mode)}"
: "${CI_RESOURCE:?CI_RESOURCE must point at the running resource demo (trusting CI_ISSUER)}"
WORK="${CI_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/openapi-check.XXXXXX")}"
OUT="$WORK/openapi-check"
mkdir -p "$OUT"

# Pinned tool versions (PyPI).
SCHEMATHESIS_VERSION=4.32.5
VALIDATOR_VERSION=0.9.0
VENV="$WORK/openapi-venv"
if [ ! -x "$VENV/bin/schemathesis" ] || ! "$VENV/bin/schemathesis" --version | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$VALIDATOR_VERSION"
fi
echo "tools: $("$VENV/bin/schemathesis" --version), openapi-spec-validator $VALIDATOR_VERSION"

echo "-- validating OpenAPI 3.1 documents"
curl -sf "$CI_ISSUER/openapi.json" -o "$OUT/live-openapi.json"
curl -sf "$CI_RESOURCE/openapi.json" -o "$OUT/live-resource-openapi.json"
"$VENV/bin/openapi-spec-validator" --schema 3.1 --validation-errors all \
  "$ROOT/openapi/openapi.json" "$OUT/live-openapi.json" "$OUT/live-resource-openapi.json"
"$VENV/bin/python" - "$ROOT/openapi/openapi.json" "$OUT/live-openapi.json" "$OUT/live-resource-openapi.json" <<'PY'
import json, sys
for name, path in zip(("openapi/openapi.json", "provider /openapi.json", "resource /openapi.json"), sys.argv[1:]):
    document = json.load(open(path))
    assert document["openapi"].startswith("3.1."), document["openapi"]
    operations = sum(1 for item in document["paths"].values() for method in item
                     if method in ("get", "put", "post", "delete", "patch", "options", "head", "trace"))
    print(f"{name}: OpenAPI {document['openapi']}, {len(document['paths'])} paths, {operations} operations")
PY

echo "-- signing in as alice through the swagger-ui client (code flow + PKCE) for a user token"
# The same flow Swagger UI's Authorize button runs, which also proves the seeded client works.
USER_TOKEN="$("$VENV/bin/python" - "$CI_ISSUER" <<'PY'
import base64, hashlib, http.cookiejar, json, os, re, secrets, sys, urllib.parse, urllib.request

issuer = sys.argv[1].rstrip("/")
redirect_uri = f"{issuer}/docs/oauth2-redirect.html"

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)

def call(url, form=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        response = opener.open(urllib.request.Request(url, data=data), timeout=30)
    except urllib.error.HTTPError as error:  # 3xx and 4xx arrive here without redirects
        response = error
    return response.status, response.headers, response.read().decode()

def absolute(location):
    return urllib.parse.urljoin(issuer + "/", location)

verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
query = urllib.parse.urlencode({
    "response_type": "code", "client_id": "swagger-ui", "redirect_uri": redirect_uri,
    "scope": "openid profile email", "state": "openapi-check", "code_challenge": challenge,
    "code_challenge_method": "S256",
})
status, headers, _ = call(f"{issuer}/authorize?{query}")
assert status == 303, f"/authorize answered {status}"
page = absolute(headers["Location"])
code = None
for _ in range(4):
    status, headers, body = call(page)
    if status == 303:
        location = absolute(headers["Location"])
        if location.startswith(redirect_uri):
            code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]
            break
        page = location
        continue
    assert status == 200, f"{page} answered {status}"
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)
    action = absolute(re.search(r'<form method="post" action="([^"]+)"', body).group(1))
    if 'name="password"' in body:
        form = {"csrf_token": csrf, "username": "alice",
                "password": os.environ.get("OIDC_DEMO_PASSWORD", "alice-password-2026")}
    else:
        form = {"csrf_token": csrf, "decision": "allow"}
    status, headers, _ = call(action, form)
    assert status == 303, f"{action} answered {status}"
    location = absolute(headers["Location"])
    if location.startswith(redirect_uri):
        code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]
        break
    page = location
assert code, "no authorization code"
status, _, body = call(f"{issuer}/token", {
    "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
    "code_verifier": verifier, "client_id": "swagger-ui",
})
assert status == 200, f"/token answered {status}: {body}"
print(json.loads(body)["access_token"])
PY
)"
echo "got a user access token (${#USER_TOKEN} characters)"

echo "-- registering two clients for the RFC 7592 management operations"
register() {
  curl -sf -X POST "$CI_ISSUER/register" -H 'Content-Type: application/json' \
    -d '{"client_name":"openapi check","redirect_uris":["http://127.0.0.1:8082/callback"]}'
}
field() { "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
KEPT="$(register)"
DELETED="$(register)"
export OPENAPI_CHECK_USER_TOKEN="$USER_TOKEN"
export OPENAPI_CHECK_KEPT_ID="$(field client_id <<<"$KEPT")"
export OPENAPI_CHECK_KEPT_TOKEN="$(field registration_access_token <<<"$KEPT")"
export OPENAPI_CHECK_DELETED_ID="$(field client_id <<<"$DELETED")"
export OPENAPI_CHECK_DELETED_TOKEN="$(field registration_access_token <<<"$DELETED")"

# Credentials: the user's access token for the access_token scheme (/userinfo); HTTP Basic for
# demo-service at the token, introspection and revocation endpoints (deeper than failing client
# authentication); none at /par and /device_authorization, whose examples authenticate in the
# body (demo-web, demo-device); the registration access token of a real client at
# /register/{client_id}, where DELETE gets its own client so that GET and PUT keep theirs.
cat >"$OUT/schemathesis.toml" <<'TOML'
[auth.openapi.access_token]
bearer = "${OPENAPI_CHECK_USER_TOKEN}"

[[operations]]
include-operation-id = ["post_token", "post_introspect", "post_revoke"]
auth = { basic = { username = "demo-service", password = "demo-service-secret" } }

[[operations]]
include-operation-id = ["get_client", "put_client"]
parameters = { "path.client_id" = "${OPENAPI_CHECK_KEPT_ID}" }
headers = { Authorization = "Bearer ${OPENAPI_CHECK_KEPT_TOKEN}" }

[[operations]]
include-operation-id = "delete_client"
parameters = { "path.client_id" = "${OPENAPI_CHECK_DELETED_ID}" }
headers = { Authorization = "Bearer ${OPENAPI_CHECK_DELETED_TOKEN}" }
TOML

# Status codes per documented operation (from the HAR of every request sent) and the JUnit
# totals of one Schemathesis run.
summarise() {
  "$VENV/bin/python" - "$1" "$2" <<'PY'
import collections, glob, json, re, sys, xml.etree.ElementTree as ET
report, document = sys.argv[1], json.load(open(sys.argv[2]))
templates = [(method.upper(), path, re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"))
             for path, item in document["paths"].items() for method in item
             if method in ("get", "put", "post", "delete", "patch")]
codes = collections.defaultdict(collections.Counter)
for har in glob.glob(f"{report}/**/har-*.json", recursive=True):
    for entry in json.load(open(har))["log"]["entries"]:
        method = entry["request"]["method"]
        path = re.sub(r"^https?://[^/]+", "", entry["request"]["url"]).split("?")[0]
        for template_method, template, pattern in templates:
            if method == template_method and pattern.match(path):
                codes[f"{method} {template}"][entry["response"]["status"]] += 1
                break
print("status codes per operation:")
for name in sorted(codes):
    print(f"  {name:45} " + " ".join(f"{code}x{count}" for code, count in sorted(codes[name].items())))
runs = tests = failures = 0
for junit in glob.glob(f"{report}/**/junit-*.xml", recursive=True):
    root = ET.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    runs += 1
    tests += sum(int(suite.get("tests", 0)) for suite in suites)
    failures += sum(int(suite.get("failures", 0)) + int(suite.get("errors", 0)) for suite in suites)
print(f"summary: {runs} run(s), {tests} operations tested, {failures} with failures, "
      f"{sum(sum(counter.values()) for counter in codes.values())} requests to documented operations")
PY
}

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
# One Schemathesis run: fuzz <name> <document URL> <config file> [run options...]; reports
# under $OUT/<name>.
fuzz() {
  local name="$1" url="$2" config="$3"
  shift 3
  rm -rf "${OUT:?}/$name"
  mkdir -p "$(dirname "$OUT/$name")"
  set +e
  "$VENV/bin/schemathesis" --config-file "$config" --no-color run "$url" "$@" \
    --checks "$CHECKS" \
    --phases examples,coverage,fuzzing \
    --max-examples "${OPENAPI_MAX_EXAMPLES:-100}" \
    --seed "${OPENAPI_SEED:-20261127}" \
    --request-timeout 10 \
    --max-redirects 0 \
    --workers 2 \
    --report junit,har --report-dir "$OUT/$name" \
    2>&1 | tee "$OUT/$name.txt"
  FUZZ_STATUS=${PIPESTATUS[0]}
  set -e
}

echo "-- schemathesis against $CI_ISSUER/openapi.json"
fuzz report "$CI_ISSUER/openapi.json" "$OUT/schemathesis.toml"
PROVIDER_STATUS=$FUZZ_STATUS
summarise "$OUT/report" "$OUT/live-openapi.json"

echo "-- resource server: access tokens for demo-service (client_credentials, HTTP Basic)"
# The tokens name the demo API's default audience, which the resource server requires.
service_token() {
  curl -sf -u demo-service:demo-service-secret -d grant_type=client_credentials \
    --data-urlencode "scope=$1" "$CI_ISSUER/token" | field access_token
}
RESOURCE_TOKEN="$(service_token 'api:read api:write')"
READ_ONLY_TOKEN="$(service_token 'api:read')"
echo "got service access tokens (${#RESOURCE_TOKEN} and ${#READ_ONLY_TOKEN} characters)"
# The resource server must accept the token, or the fuzzing below would only see 401s.
ANSWER="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $RESOURCE_TOKEN" \
  "$CI_RESOURCE/api/notes")"
[ "$ANSWER" = 200 ] || { echo "the resource server refused the token ($ANSWER)" >&2; exit 1; }

# The main run sends the token with every scope on every request (a header option), so the
# notes API itself is fuzzed. Three short runs then check the documented refusals: a read-only
# token (POST answers 403 insufficient_scope), no token (401 without an error code) and a
# malformed Authorization header (400 invalid_request).
# An empty config file for the main run: the provider's operation settings do not apply here.
# The refusal runs expect every protected operation to refuse, so the warnings about that
# (missing_auth, validation_mismatch) would be noise there; every other warning stays.
: >"$OUT/schemathesis-resource.toml"
cat >"$OUT/schemathesis-refusals.toml" <<'TOML'
[warnings]
display = ["missing_test_data", "base_url_mismatch", "missing_deserializer", "unused_openapi_auth",
  "unsupported_regex", "method_not_allowed", "constants_extraction", "unmatched_filter",
  "unresolvable_reference", "low_valid_rate", "rate_limited", "dictionary_mismatch", "timeout_units"]
TOML
RESOURCE_STATUS=0
rm -rf "$OUT/report-resource"
for run in full read-only no-token malformed; do
  case "$run" in
    full) credentials=(--header "Authorization: Bearer $RESOURCE_TOKEN") ;;
    read-only) credentials=(--header "Authorization: Bearer $READ_ONLY_TOKEN") ;;
    no-token) credentials=() ;;
    malformed) credentials=(--header "Authorization: Bearer two tokens") ;;
  esac
  config="$OUT/schemathesis-refusals.toml"
  [ "$run" = full ] && config="$OUT/schemathesis-resource.toml"
  echo "-- schemathesis against $CI_RESOURCE/openapi.json ($run)"
  fuzz "report-resource/$run" "$CI_RESOURCE/openapi.json" "$config" "${credentials[@]}"
  [ "$FUZZ_STATUS" -eq 0 ] || RESOURCE_STATUS=$FUZZ_STATUS
done
summarise "$OUT/report-resource" "$OUT/live-resource-openapi.json"

if [ "$PROVIDER_STATUS" -ne 0 ] || [ "$RESOURCE_STATUS" -ne 0 ]; then
  echo "schemathesis found problems (provider exit $PROVIDER_STATUS, resource server exit $RESOURCE_STATUS); reports in $OUT" >&2
  exit 1
fi
echo "openapi check passed"
