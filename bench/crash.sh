#!/usr/bin/env bash
# Crash safety (issue 9): SIGKILL the server at random moments while it takes writes, restart it,
# and prove that every acknowledged write survived, every ledger chain verifies and the database
# passes an integrity check.
#
#   bench/crash.sh                  # SQLite
#   bench/crash.sh sqlite postgres  # both, one after the other
#   bench/crash.sh postgres         # PostgreSQL only (the database server stays up; only Concord
#                                   # is killed)
#
# For each backend: a fresh database (SQLite file under bench/out/crash-<UTC>/, or the PostgreSQL
# database `concord_crash`, dropped and recreated), seeded with `examples/seed_bench --hub
# --charters N --ledger N` (N partnerships of the hub organization, each with an effective
# charter of 20 monthly metrics and a few values), an alliance manager of the hub with a
# read-write API token. Then CRASH_KILLS times:
#   1. start `bench/crash_driver.py drive`: CRASH_WRITERS threads for each kind of write — metric
#      values (POST …/metrics/{m}/values), charter draft edits (PUT …/charter/draft), meetings
#      with decisions and an action item (POST …/meetings) and internal notes (POST …/notes) —
#      each journalling a write before sending it and, once acknowledged (2xx), the id / ledger
#      sequence and hash / charter version and content hash the server returned (fsync'd);
#   2. after a random delay (CRASH_MIN_DELAY..CRASH_MAX_DELAY s) `kill -9` the server;
#   3. with the server down: the integrity check (SQLite: `PRAGMA integrity_check` and `PRAGMA
#      foreign_key_check`; PostgreSQL: amcheck's `bt_index_check(index, heapallindexed)` on every
#      B-tree index of the database's own schema) and `concord verify` (every ledger chain);
#   4. restart `concord serve` on the same database, wait for /readyz, and run
#      `crash_driver.py check`: every acknowledged write of every cycle so far must be there with
#      the acknowledged content; writes in flight at the kill (sent, never acknowledged) are
#      counted, and how many of them turned out present; the ledgers written to must verify;
#   5. `concord doctor` too, when the build has it.
# Exits non-zero on any missing acknowledged write or failed check. Everything goes under
# bench/out/crash-<UTC>/ (summary.md, the journals, the server logs).
#
# Settings (environment):
#   CRASH_KILLS              kills per backend (default 20)
#   CRASH_MIN_DELAY, CRASH_MAX_DELAY   seconds of writes before each kill (0.3, 3)
#   CRASH_WRITERS            threads per kind of write (default 2: 8 concurrent writers)
#   CRASH_PARTNERSHIPS       partnerships seeded (default 40; 3 x as many organizations)
#   BENCH_POSTGRES_URL       PostgreSQL server without a database name
#                            (default postgres://postgres@127.0.0.1:5432)
#   BENCH_TARGET_DIR         where the release binaries are built (default $CARGO_TARGET_DIR or
#                            target/); BENCH_SKIP_BUILD=1 uses them as they are
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

KILLS="${CRASH_KILLS:-20}"
MIN_DELAY="${CRASH_MIN_DELAY:-0.3}"
MAX_DELAY="${CRASH_MAX_DELAY:-3}"
WRITERS="${CRASH_WRITERS:-2}"
PARTNERSHIPS="${CRASH_PARTNERSHIPS:-40}"
PG_DB=concord_crash

backends=()
for a in "$@"; do
    case "$a" in
        sqlite | postgres) backends+=("$a") ;;
        all | both) backends+=(sqlite postgres) ;;
        -h | --help)
            sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "unknown argument: $a (expected sqlite, postgres or both)" >&2
            exit 2
            ;;
    esac
done
[ ${#backends[@]} -gt 0 ] || backends=(sqlite)
need curl "apt-get install curl"
need python3 "apt-get install python3"
for b in "${backends[@]}"; do
    case "$b" in
        sqlite) need sqlite3 "apt-get install sqlite3" ;;
        postgres) need psql "apt-get install postgresql-client" ;;
    esac
done

RUN_DIR="$ROOT/bench/out/crash-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"
echo "output: ${RUN_DIR#"$ROOT"/}"
bench_build

DRIVER_PID=""
cleanup() {
    [ -z "$DRIVER_PID" ] || kill "$DRIVER_PID" 2>/dev/null || true
    stop_server
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Whether `concord doctor` is implemented in this build (it printed "not built yet" before).
DOCTOR=0
SUMMARY="$RUN_DIR/summary.md"
{
    echo "# Concord crash safety, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "- machine: $(machine_line)"
    echo "- $KILLS kills per backend, each after ${MIN_DELAY}–${MAX_DELAY} s of writes by $((WRITERS * 4)) concurrent writers ($WRITERS each for values, charter edits, meetings, notes)"
    echo "- data: $((PARTNERSHIPS * 3)) organizations, $PARTNERSHIPS partnerships of the hub with an effective charter of 20 monthly metrics (seed_bench --hub --charters $PARTNERSHIPS --ledger $PARTNERSHIPS --ledger-periods 2)"
    echo
} >"$SUMMARY"
FAILED=0

run_backend() {
    local backend="$1" url state="$RUN_DIR/$1" log="$RUN_DIR/$1-server.log"
    echo
    echo "==================== $backend"
    mkdir -p "$state"
    url=$(fresh_db "$backend" "$([ "$backend" = sqlite ] && echo crash || echo $PG_DB)")
    local manifest="$state/manifest.tsv"
    "$SEEDER" --database-url "$url" --orgs $((PARTNERSHIPS * 3)) --partnerships "$PARTNERSHIPS" --seed 9 --hub \
        --charters "$PARTNERSHIPS" --ledger "$PARTNERSHIPS" --ledger-periods 2 --ledger-from 2001-01 \
        --ledger-manifest "$manifest" >"$state/seed.log" 2>&1 || { cat "$state/seed.log" >&2; exit 1; }
    local hub token
    hub=$(sed -n 's/^hub organization: \([0-9]*\) .*/\1/p' "$state/seed.log")
    token=$(make_user "$url" crash-bench@concord.test "$(bench_password)" \
        "$hub" alliance_manager read-write)
    [ -n "$token" ] || { echo "could not create the API token" >&2; exit 1; }
    if [ "$backend" = postgres ]; then
        psql "$url" -v ON_ERROR_STOP=1 -q -c "CREATE EXTENSION IF NOT EXISTS amcheck" >/dev/null
    fi

    local port base
    port=$(free_port)
    base="http://127.0.0.1:$port"
    start_server "$url" "$port" "$log"
    local drv=(python3 "$ROOT/bench/crash_driver.py")
    "${drv[@]}" setup --base "$base" --token "$token" --hub "$hub" --manifest "$manifest" --state "$state"
    if "$CONCORD" --database-url "$url" doctor 2>&1 | grep -q "not built yet"; then
        DOCTOR=0
    else
        DOCTOR=1
    fi

    local kill_no delay drive_out restart_ms integrity verify_ok check_json doctor_res
    local kills_done=0 integrity_failures=0 verify_failures=0 doctor_failures=0 check_failures=0
    local table="$state/kills.md"
    echo "| kill | writes for | acknowledged this cycle (value / charter / meeting / note) | in flight at the kill | integrity | verify | restart to ready | check |" >"$table"
    echo "| ---: | ---: | --- | ---: | --- | --- | ---: | --- |" >>"$table"
    for kill_no in $(seq 1 "$KILLS"); do
        delay=$(python3 -c "import random; print(round(random.uniform($MIN_DELAY, $MAX_DELAY), 2))")
        "${drv[@]}" drive --base "$base" --token "$token" --state "$state" --cycle "$kill_no" \
            --writers "$WRITERS" --seconds 600 >"$state/drive-$kill_no.json" 2>"$state/drive-$kill_no.err" &
        DRIVER_PID=$!
        sleep "$delay"
        kill -KILL "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
        kills_done=$((kills_done + 1))
        # The writers notice the dead server at their next request and stop.
        wait "$DRIVER_PID" || { echo "the driver failed: $(cat "$state/drive-$kill_no.err")" >&2; exit 1; }
        DRIVER_PID=""
        drive_out=$(cat "$state/drive-$kill_no.json")

        # Integrity, with the server down, on the database as the kill left it.
        if [ "$backend" = sqlite ]; then
            integrity=$(sqlite3 "${url#sqlite://}" "PRAGMA integrity_check; PRAGMA foreign_key_check;" 2>&1 | tr '\n' ' ' | sed 's/ $//')
        else
            integrity=$(psql "$url" -v ON_ERROR_STOP=1 -qtA -c "
                SELECT count(*) || ' indexes ok'
                FROM (SELECT bt_index_check(c.oid, true)
                      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                      JOIN pg_am am ON am.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE am.amname = 'btree' AND n.nspname = 'public' AND c.relpersistence <> 't') s" 2>&1 | tr '\n' ' ' | sed 's/ $//')
        fi
        if [ "$integrity" != ok ] && [[ "$integrity" != *" indexes ok" ]]; then
            integrity_failures=$((integrity_failures + 1))
            echo "kill $kill_no: integrity check FAILED: $integrity" >&2
        fi
        if "$CONCORD" --database-url "$url" verify >"$state/verify-$kill_no.txt" 2>&1; then
            verify_ok="ok ($(tail -1 "$state/verify-$kill_no.txt" | sed 's/ ledger(s) checked.*//') chains)"
        else
            verify_ok="FAILED"
            verify_failures=$((verify_failures + 1))
            echo "kill $kill_no: concord verify FAILED: $(tail -3 "$state/verify-$kill_no.txt")" >&2
        fi

        local t0 t1
        t0=$(date +%s%N)
        start_server "$url" "$port" "$log" || exit 1
        t1=$(date +%s%N)
        restart_ms=$(((t1 - t0) / 1000000))
        if check_json=$("${drv[@]}" check --base "$base" --token "$token" --state "$state" 2>"$state/check-$kill_no.err"); then
            :
        else
            check_failures=$((check_failures + 1))
            echo "kill $kill_no: check FAILED: $check_json $(cat "$state/check-$kill_no.err")" >&2
        fi
        echo "$check_json" >"$state/check-$kill_no.json"
        doctor_res=""
        if [ "$DOCTOR" = 1 ]; then
            if "$CONCORD" --database-url "$url" doctor >"$state/doctor-$kill_no.txt" 2>&1; then
                doctor_res="; doctor ok"
            else
                doctor_res="; doctor FAILED"
                doctor_failures=$((doctor_failures + 1))
                echo "kill $kill_no: concord doctor FAILED: $(tail -5 "$state/doctor-$kill_no.txt")" >&2
            fi
        fi
        python3 - "$kill_no" "$delay" "$drive_out" "$integrity" "$verify_ok" "$restart_ms" "$check_json" "$doctor_res" >>"$table" <<'EOF'
import json, sys
k, delay, drive, integ, verify, restart, check, doctor = sys.argv[1:]
d = json.loads(drive)
try:
    c = json.loads(check)
    cs = f"{c['missing']} missing of {sum(c['acked'].values())} acknowledged so far{doctor}"
except ValueError:
    cs = "FAILED " + check[:100]
print(f"| {k} | {delay} s | {d['ack_value']} / {d['ack_charter']} / {d['ack_meeting']} / {d['ack_note']}"
      f" | {d['lost_connection']} | {integ} | {verify} | {restart} ms | {cs} |")
EOF
        tail -1 "$table"
    done
    stop_server

    local last="$state/check-$KILLS.json"
    python3 - "$backend" "$last" "$kills_done" "$integrity_failures" "$verify_failures" "$check_failures" \
        "$DOCTOR" "$doctor_failures" "$state" >>"$SUMMARY" <<'EOF'
import glob, json, os, sys
backend, last, kills, integ_f, verify_f, check_f, doctor, doctor_f, state = sys.argv[1:]
c = json.load(open(last))
refused = sum(json.load(open(p))["refused"] for p in glob.glob(os.path.join(state, "drive-*.json")))
a = c["acked"]
print(f"## {backend}\n")
print(f"- kills (SIGKILL): **{kills}**")
print(f"- acknowledged writes: **{sum(a.values())}** — {a['value']} metric values, {a['charter']} charter draft edits, "
      f"{a['meeting']} meetings, {a['note']} notes")
print(f"- writes in flight at a kill (sent, not acknowledged): {c['in_flight']}, of which present after the restart: "
      f"{c['in_flight_present']} (a charter edit counts only when it is the draft's current content)")
print(f"- refused writes (a 4xx/5xx answer): {refused}")
print(f"- **missing or altered acknowledged writes: {c['missing']}**")
print(f"- integrity check after each kill: {int(kills) - int(integ_f)} of {kills} passed; `concord verify` (every chain): "
      f"{int(kills) - int(verify_f)} of {kills} passed; acknowledged-writes check: {int(kills) - int(check_f)} of {kills} passed; "
      f"chains written to, verified through the API at the end: {c['ledgers_verified']} valid, {c['ledgers_invalid']} invalid")
if doctor == "1":
    print(f"- `concord doctor` after each restart: {int(kills) - int(doctor_f)} of {kills} passed")
else:
    print("- `concord doctor`: not built in this binary, not run")
for p in c["problems"]:
    print(f"  - problem: {p}")
print()
EOF
    {
        echo "Per kill:"
        echo
        cat "$table"
        echo
    } >>"$SUMMARY"
    if [ "$integrity_failures" != 0 ] || [ "$verify_failures" != 0 ] || [ "$check_failures" != 0 ] ||
        [ "$doctor_failures" != 0 ] || [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["missing"])' "$last")" != 0 ]; then
        FAILED=1
    fi
}

for b in "${backends[@]}"; do
    run_backend "$b"
done

echo
echo "==================== summary (also in ${SUMMARY#"$ROOT"/})"
cat "$SUMMARY"
if [ "$FAILED" != 0 ]; then
    echo "FAILED: a write was lost or a check failed" >&2
    exit 1
fi
