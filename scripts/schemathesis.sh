#!/usr/bin/env bash
# API contract test: schemathesis (PyPI) against the live server's OpenAPI document.
#
# Starts `concord demo` on a fresh SQLite database (the demo accounts and data of the README),
# mints a read-write API token for the admin of Quinnehtuk Valley Health, and runs
# `schemathesis run …/api/v1/openapi.json` with a bounded number of examples per operation and a
# fixed seed. Every generated request, valid or not, must pass these checks:
#   not_a_server_error           no 5xx
#   status_code_conformance      the status is one the operation documents
#   content_type_conformance     the content type is the one documented for that status
#   response_schema_conformance  the body matches the documented schema
# Exits non-zero on any failure. Writes (archive, transitions, deletions, …) are expected: the
# database is created for this run and thrown away after it.
#
# `POST /tokens/{id}/revoke` would revoke the run's own token (ids are small integers) and
# `POST /partnerships/{id}/archive` would freeze the partnerships the other operations work on, so
# both are tested last, in a run of their own with a second token.
#
# Settings (environment):
#   SCHEMATHESIS_MAX_EXAMPLES  examples per operation (fuzzing, stateful); the coverage phase
#                              adds its boundary and negative cases (default 100)
#   SCHEMATHESIS_SEED          the seed (default 20269)
#   SCHEMATHESIS_PHASES        phases (default examples,coverage,fuzzing,stateful)
#   SCHEMATHESIS_WORKERS       concurrent workers (default 2)
#   SCHEMATHESIS_CHECKS        the checks (default: the four above)
#   SCHEMATHESIS_ARGS          extra arguments for `schemathesis run` (e.g. --include-path-regex,
#                              --report json,har --report-dir DIR)
#   SCHEMATHESIS_VENV          the Python virtual environment (default target/schemathesis-venv)
#   CONCORD_BIN                the server binary (default: `cargo build --bin concord`, debug)
#   CARGO_TARGET_DIR           where cargo builds (default target/)
#   RUST_LOG                   server log filter (default warn); the log is printed on failure
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-100}"
SEED="${SCHEMATHESIS_SEED:-20269}"
PHASES="${SCHEMATHESIS_PHASES:-examples,coverage,fuzzing,stateful}"
WORKERS="${SCHEMATHESIS_WORKERS:-2}"
VENV="${SCHEMATHESIS_VENV:-$ROOT/target/schemathesis-venv}"
EMAIL=admin@quinnehtuk-valley-health.example
ORG="Quinnehtuk Valley Health"

phase() { printf '\n==> %s\n' "$*"; }

# --- schemathesis in a virtual environment ---------------------------------------------------
apt_install() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
  echo "installing $* with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "$@" >/dev/null
}

phase "schemathesis $SCHEMATHESIS_VERSION in $VENV"
if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null || true)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
  # Debian's python3 has no ensurepip (so no venv) without the python3-venv package.
  python3 -m venv --clear "$VENV" 2>/dev/null || { apt_install python3-venv && python3 -m venv --clear "$VENV"; }
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$VENV/bin/schemathesis" --version

# --- the server on a fresh demo database -----------------------------------------------------
if [ -z "${CONCORD_BIN:-}" ]; then
  phase "cargo build --bin concord"
  cargo build -q --bin concord
  CONCORD_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/concord"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/concord-schemathesis.XXXXXX")"
DB="sqlite://$WORK/demo.db"
LOG="$WORK/server.log"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

phase "concord demo on $BASE ($DB)"
RUST_LOG="${RUST_LOG:-warn}" "$CONCORD_BIN" demo --bind "127.0.0.1:$PORT" --database-url "$DB" \
  >"$LOG" 2>&1 &
SERVER_PID=$!
answers() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$1" 2>/dev/null
}
for _ in $(seq 1 240); do
  if answers "$BASE/healthz"; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    cat "$LOG"
    echo "the server exited before it answered" >&2
    exit 1
  fi
  sleep 0.5
done
answers "$BASE/readyz" || { cat "$LOG"; echo "the server did not become ready" >&2; exit 1; }

token() {
  "$CONCORD_BIN" token create --database-url "$DB" --email "$EMAIL" --org "$ORG" \
    --scope read-write --name "$1" 2>/dev/null | head -n 1
}

# --- where the records are --------------------------------------------------------------------
# Random ids almost never name a record, so most requests would stop at a 404. The config binds
# the `{id}` of partnership and journey routes to the acting organization's own partnerships and
# journeys, and the ids below them (metric, meeting, round, …) to small numbers, each with a
# probability: the rest of the time schemathesis still generates any value.
CONFIG="$WORK/schemathesis.toml"
MAIN_TOKEN="$(token schemathesis)"
BASE="$BASE" TOKEN="$MAIN_TOKEN" python3 - >"$CONFIG" <<'PY'
import json, os, urllib.request

def get(path):
    req = urllib.request.Request(os.environ["BASE"] + "/api/v1" + path,
                                 headers={"Authorization": "Bearer " + os.environ["TOKEN"]})
    with urllib.request.urlopen(req) as r:
        return json.load(r)

partnerships = [p["id"] for p in get("/partnerships?archived=true&per_page=100")["items"]]
journeys = [j["id"] for p in partnerships for j in get(f"/partnerships/{p}/journeys")]
small = ["metric", "seq", "commitment", "meeting", "action", "number", "risk", "round",
         "stakeholder", "task", "stage", "handoff", "assumption", "feedback"]
print("[dictionaries]")
print(f"partnerships = {{ values = {partnerships} }}")
print(f"journeys = {{ values = {journeys or [1]} }}")
print("small = { values = [1, 2, 3, 4, 5, 6] }")
print("\n[parameters]")
for name in small:
    print(f'"path.{name}" = {{ dictionary = "small", probability = 0.6 }}')
for prefix, dictionary in [("partnerships", "partnerships"), ("journeys", "journeys")]:
    print("\n[[operations]]")
    print(f"include-path-regex = '^/api/v1/{prefix}/\\{{id\\}}'")
    print(f'parameters = {{ "path.id" = {{ dictionary = "{dictionary}", probability = 0.8 }} }}')
PY
cat "$CONFIG"

# --- the contract ----------------------------------------------------------------------------
status=0
run() {
  local name="$1" token="$2"
  shift 2
  phase "schemathesis ($name): $MAX_EXAMPLES examples per operation, seed $SEED, phases $PHASES"
  local start=$SECONDS
  # From the scratch directory: schemathesis keeps a cache of failures in ./.schemathesis.
  (cd "$WORK" && "$VENV/bin/schemathesis" --config-file "$CONFIG" run "$BASE/api/v1/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks "${SCHEMATHESIS_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance}" \
    --max-examples "$MAX_EXAMPLES" --seed "$SEED" --phases "$PHASES" --workers "$WORKERS" \
    --generation-database none --no-color \
    "$@" ${SCHEMATHESIS_ARGS:-}) || status=1
  echo "schemathesis ($name) took $((SECONDS - start))s"
}

LAST='/tokens/\{id\}/revoke$|/partnerships/\{id\}/archive$'
run "every operation but revoking tokens and archiving" "$MAIN_TOKEN" --exclude-path-regex "$LAST"
run "revoking tokens and archiving" "$(token schemathesis-last)" --include-path-regex "$LAST"

if [ "$status" -ne 0 ]; then
  phase "server log (last 100 lines)"
  tail -n 100 "$LOG"
  phase "API contract FAILED"
else
  phase "API contract held: no 5xx, every response as documented"
fi
exit "$status"
