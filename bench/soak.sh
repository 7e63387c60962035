#!/usr/bin/env bash
# Load soak (issue 9): mixed traffic at a fixed request rate for SOAK_DURATION, with latency over
# time and the server's memory at the start and the end.
#
#   bench/soak.sh                      # SQLite, SOAK_RATE req/s for 600 s
#   bench/soak.sh postgres             # PostgreSQL (database concord_soak, dropped and recreated)
#   SOAK_FIND_RATE=1 bench/soak.sh     # first find the highest rate with p99 < 100 ms and no
#                                      # errors (steps of SOAK_STEP_SECONDS at rising rates),
#                                      # then soak at that rate
#
# Data: `examples/seed_bench --hub --charters N --ledger N` (SOAK_PARTNERSHIPS = N partnerships,
# 3N organizations; the hub organization is in every partnership, each with an effective charter
# of 20 monthly metrics and 24 monthly values per metric from 2024-11), and a contributor of the
# hub with a read-write API token.
#
# The load generator is `crates/concord-web/examples/soak.rs` (tokio + reqwest, one thread): an
# open loop that starts requests at fixed intervals and measures each latency from the moment
# the request was due (no coordinated omission). The mix, per thousand requests: 80 portfolio
# dashboards (`GET /`), 200 partnership pages, 70 metrics pages (session cookie), 205
# `GET /api/v1/partnerships`, 100 `GET /api/v1/partnerships/{id}`, 50 `GET /api/v1/portfolio`,
# 100 `GET …/{id}/metrics` (bearer token), 100 metric values and 90 notes written through the
# API, and 5 sign-ins through the form (Argon2id). After a warm-up (SOAK_WARMUP s at the same
# rate, not counted), a row every SOAK_WINDOW s: requests, errors, p50, p99, server RSS. At the
# end the totals per request kind, overall p50/p99, RSS after the warm-up and at the end. Exits
# non-zero when there were errors (any answer but the expected 200/201/303, or none within 10 s),
# p99 >= 100 ms, or RSS grew by 10 % or more. Output under bench/out/soak-<UTC>/.
#
# Settings (environment):
#   SOAK_RATE           requests per second (default 200)
#   SOAK_DURATION       measured seconds (default 600); SOAK_WARMUP (30); SOAK_WINDOW (30)
#   SOAK_FIND_RATE=1    calibrate first: SOAK_START_RATE (50) x1.25 per step of
#                       SOAK_STEP_SECONDS (20 s) until p99 >= 100 ms or an error; the server is
#                       restarted before the soak itself
#   SOAK_PARTNERSHIPS   partnerships seeded (default 300)
#   BENCH_POSTGRES_URL  PostgreSQL server without a database name
#   BENCH_TARGET_DIR    where the release binaries are built (default $CARGO_TARGET_DIR or
#                       target/); BENCH_SKIP_BUILD=1 uses them as they are
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

RATE="${SOAK_RATE:-200}"
DURATION="${SOAK_DURATION:-600}"
WARMUP="${SOAK_WARMUP:-30}"
WINDOW="${SOAK_WINDOW:-30}"
PARTNERSHIPS="${SOAK_PARTNERSHIPS:-300}"
P99_MS=100

backend="${1:-sqlite}"
case "$backend" in
    sqlite) need sqlite3 "apt-get install sqlite3" ;;
    postgres) need psql "apt-get install postgresql-client" ;;
    -h | --help)
        sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "unknown argument: $backend (expected sqlite or postgres)" >&2
        exit 2
        ;;
esac
need curl "apt-get install curl"
need python3 "apt-get install python3"

RUN_DIR="$ROOT/bench/out/soak-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"
echo "output: ${RUN_DIR#"$ROOT"/}"
bench_build -p concord-web --example soak
SOAK="$BENCH_TARGET_DIR/release/examples/soak"
trap stop_server EXIT
trap 'exit 130' INT TERM

url=$(fresh_db "$backend" "$([ "$backend" = sqlite ] && echo soak || echo concord_soak)")
manifest="$RUN_DIR/manifest.tsv"
echo "== seeding $PARTNERSHIPS partnerships"
t0=$(date +%s)
"$SEEDER" --database-url "$url" --orgs $((PARTNERSHIPS * 3)) --partnerships "$PARTNERSHIPS" --seed 42 --hub \
    --charters "$PARTNERSHIPS" --ledger "$PARTNERSHIPS" --ledger-periods 24 --ledger-from 2024-11 \
    --ledger-manifest "$manifest" >"$RUN_DIR/seed.log" 2>&1 || { cat "$RUN_DIR/seed.log" >&2; exit 1; }
[ "$backend" = sqlite ] || psql "$url" -q -c "VACUUM ANALYZE"
hub=$(sed -n 's/^hub organization: \([0-9]*\) .*/\1/p' "$RUN_DIR/seed.log")
entries=$(sed -n 's/^ledger: \([0-9]*\) entries.*/\1/p' "$RUN_DIR/seed.log")
echo "seeded $entries ledger entries in $(($(date +%s) - t0)) s"
# Value writes go to the (partnership, metric) pairs the hub owns, ordered so that consecutive
# writes go to different partnerships.
pairs="$RUN_DIR/pairs.txt"
awk -F'\t' -v hub="$hub" '$1 == "ledger" && $4 == hub {r = ++rank[$2]; print r, $2, $3}' "$manifest" |
    sort -k1,1n -k2,2n | awk '{print $2, $3}' >"$pairs"
email=soak-bench@concord.test
password="$(bench_password)"
token=$(make_user "$url" "$email" "$password" "$hub" contributor read-write)
[ -n "$token" ] || { echo "could not create the API token" >&2; exit 1; }

port=$(free_port)
base="http://127.0.0.1:$port"
serve() {
    start_server "$url" "$port" "$RUN_DIR/server.log" || exit 1
    # The first dashboard computes every partnership's health; it is not part of the soak.
    local session
    session=$(sign_in "$base" "$email" "$password")
    curl -sS -o /dev/null --max-time 600 -H "Cookie: concord_session=$session" "$base/"
}
gen=("$SOAK" --base "$base" --token "$token" --email "$email" --password "$password"
    --partnerships "$PARTNERSHIPS" --pairs "$pairs" --window "$WINDOW" --p99-ms "$P99_MS")

serve
if [ "${SOAK_FIND_RATE:-0}" = 1 ]; then
    echo "== calibration: steps of ${SOAK_STEP_SECONDS:-20} s from ${SOAK_START_RATE:-50} req/s"
    # Values from 2010-12 backwards here, from 2024-10 backwards in the soak: never the same period.
    "${gen[@]}" --server-pid "$SERVER_PID" --value-from 2010-12 --find-rate \
        --start-rate "${SOAK_START_RATE:-50}" --step-seconds "${SOAK_STEP_SECONDS:-20}" | tee "$RUN_DIR/calibration.md"
    RATE=$(sed -n 's/^CHOSEN_RATE \([0-9]*\).*/\1/p' "$RUN_DIR/calibration.md")
    [ "${RATE:-0}" -gt 0 ] || { echo "no rate met p99 < $P99_MS ms with no errors" >&2; exit 1; }
    echo "chosen rate: $RATE req/s; restarting the server for the soak"
    stop_server
    serve
fi

echo "== soak: $DURATION s at $RATE req/s after a $WARMUP s warm-up (server pid $SERVER_PID)"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
status=0
"${gen[@]}" --server-pid "$SERVER_PID" --value-from 2024-10 --rate "$RATE" --duration "$DURATION" \
    --warmup "$WARMUP" 2>"$RUN_DIR/soak.err" | tee "$RUN_DIR/soak.md" || status=$?
result=$(grep '^SOAK_RESULT' "$RUN_DIR/soak.md" || true)
{
    echo "# Concord load soak, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "- machine: $(machine_line); load before the soak: $load_before"
    echo "- backend: $backend; data: $((PARTNERSHIPS * 3)) organizations, $PARTNERSHIPS partnerships of the hub with effective charters of 20 monthly metrics, $entries ledger entries (seed 42)"
    echo "- command: SOAK_RATE=$RATE SOAK_DURATION=$DURATION SOAK_WARMUP=$WARMUP bench/soak.sh $backend$([ "${SOAK_FIND_RATE:-0}" = 1 ] && echo " (rate chosen by SOAK_FIND_RATE=1, see calibration.md)")"
    echo
    cat "$RUN_DIR/soak.md"
    if [ -s "$RUN_DIR/soak.err" ]; then
        echo
        echo "First errors:"
        echo
        sed 's/^/    /' "$RUN_DIR/soak.err" | head -20
    fi
} >"$RUN_DIR/summary.md"
echo
echo "summary: ${RUN_DIR#"$ROOT"/}/summary.md"
echo "$result"
[ "$status" = 0 ] || echo "FAILED: errors, p99 >= $P99_MS ms or RSS growth >= 10 % (see above)" >&2
exit "$status"
