#!/usr/bin/env bash
# Benchmark of the metric ledger (issue 5), on SQLite and/or PostgreSQL.
#
#   bench/ledger.sh                 # SQLite (plus PostgreSQL when BENCH_POSTGRES_URL is set)
#   bench/ledger.sh sqlite postgres # both
#   bench/ledger.sh postgres        # PostgreSQL only
#
# Targets (issue 5, "Speed and memory"), with 1,000 partnerships x 20 metrics x 60 periods
# (1.2 million entries): appending one value p99 < 10 ms; importing a 100,000-row CSV < 5 s;
# verifying a partnership's chain of 100,000 entries < 0.5 s; a partnership's metrics page p99
# < 50 ms at 32 concurrent clients; server memory < 200 MB throughout.
#
# For each backend: build release, create a fresh database, seed it with `examples/seed_bench
# --hub --ledger N --ledger-big K` (2,000 organizations, 1,000 partnerships with signed charters
# of 20 monthly metrics, 60 monthly values per metric in 2001-01..2005-12, and K more
# partnerships with a charter of 200 monthly metrics owned by the hub and no values), create a
# contributor of the hub organization with a read-write API token, start `concord serve`, sample
# its RSS every 0.2 s for the whole run, and measure:
#   (a) append: wrk POSTs one value per request to /api/v1/partnerships/{id}/metrics/{m}/values,
#       every request a different (partnership, metric, period) the hub owns, periods from
#       2006-01 on (no two requests collide: a 409 would count as an error);
#   (b) import: a 100,000-row CSV (200 metrics x 500 months from 1960-01) POSTed with curl to
#       /api/v1/partnerships/{big}/metrics/import, once into each of the K big partnerships;
#   (c) verify: GET /api/v1/partnerships/{big}/ledger/verify on the first big partnership
#       (100,000 entries), BENCH_VERIFY_RUNS times;
#   (d) reads at 32 clients: GET /api/v1/partnerships/{id}/metrics (JSON) and, when the build
#       has it, the metrics page GET /partnerships/{id}/metrics (session cookie), id random in
#       1..N per request.
# Then a summary with each target met or missed. Everything goes under bench/out/ledger-<UTC>/.
#
# Settings (environment):
#   BENCH_POSTGRES_URL       PostgreSQL server without a database name (default
#                            postgres://postgres@127.0.0.1:5432); database `concord_bench_ledger`
#                            on it is DROPPED and recreated.
#   BENCH_ORGS, BENCH_PARTNERSHIPS, BENCH_SEED   data size and seed (2000, 1000, 42)
#   BENCH_LEDGER             partnerships 1..N with values (default: all of them)
#   BENCH_PERIODS            monthly values per metric (default 60, from 2001-01)
#   BENCH_IMPORT_RUNS        big partnerships, one 100,000-row import into each (default 3)
#   BENCH_BIG_METRICS, BENCH_IMPORT_MONTHS   the import file: metrics x months (200 x 500)
#   BENCH_VERIFY_RUNS        verify requests (default 7)
#   BENCH_THREADS            wrk threads (default 2)
#   BENCH_APPEND_CONNECTIONS wrk connections for the append runs, one run each (default "1 8":
#                            one client alone, then the 8 concurrent clients of the target)
#   BENCH_READ_CONNECTIONS   wrk connections for the metrics API and page (default 32)
#   BENCH_DURATION, BENCH_WARMUP   per wrk run (default 20s, 5s)
#   BENCH_STEPS              which measurements, space-separated (default: append import verify
#                            metrics_api metrics_page)
#   BENCH_MAX_CONNECTIONS    the server's database pool (default: the server's own, 8)
#   BENCH_WAIT_IDLE=N        before each measurement wait up to N s for the machine to be idle
#                            (under 0.1 core busy for 3 s) and repeat one during which other
#                            processes used more than BENCH_OTHER_MAX (0.15) cores, up to
#                            BENCH_RETRIES (3) times (default 0: do not wait)
#   BENCH_SKIP_BUILD=1       use the binaries already built
#   CARGO_TARGET_DIR         where cargo builds (default target/)
#   RUST_LOG                 server log filter (default here: warn)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ORGS="${BENCH_ORGS:-2000}"
PARTNERSHIPS="${BENCH_PARTNERSHIPS:-1000}"
SEED="${BENCH_SEED:-42}"
LEDGER="${BENCH_LEDGER:-$PARTNERSHIPS}"
PERIODS="${BENCH_PERIODS:-60}"
IMPORT_RUNS="${BENCH_IMPORT_RUNS:-3}"
BIG_METRICS="${BENCH_BIG_METRICS:-200}"
IMPORT_MONTHS="${BENCH_IMPORT_MONTHS:-500}"
VERIFY_RUNS="${BENCH_VERIFY_RUNS:-7}"
THREADS="${BENCH_THREADS:-2}"
APPEND_CONNECTIONS="${BENCH_APPEND_CONNECTIONS:-1 8}"
READ_CONNECTIONS="${BENCH_READ_CONNECTIONS:-32}"
DURATION="${BENCH_DURATION:-20s}"
WARMUP="${BENCH_WARMUP:-5s}"
STEPS="${BENCH_STEPS:-append import verify metrics_api metrics_page}"
PG_SERVER="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
PG_SERVER="${PG_SERVER%/}"
PG_DB=concord_bench_ledger
SERVER_LOG_FILTER="${RUST_LOG:-warn}"
RETRIES="${BENCH_RETRIES:-3}"
OTHER_MAX="${BENCH_OTHER_MAX:-0.15}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# Targets.
APPEND_P99_MS=10
IMPORT_S=5
VERIFY_S=0.5
PAGE_P99_MS=50
RSS_TARGET_MB=200

backends=()
for a in "$@"; do
    case "$a" in
        sqlite | postgres) backends+=("$a") ;;
        all | both) backends+=(sqlite postgres) ;;
        -h | --help)
            sed -n '2,58p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "unknown argument: $a (expected sqlite, postgres or both)" >&2
            exit 2
            ;;
    esac
done
if [ ${#backends[@]} -eq 0 ]; then
    backends=(sqlite)
    if [ -n "${BENCH_POSTGRES_URL:-}" ]; then backends+=(postgres); fi
fi

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 1; }; }
if ! command -v wrk >/dev/null 2>&1; then
    echo "wrk not found; installing it from Debian (apt-get install wrk)" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >&2; else sudo apt-get install -y wrk >&2; fi
fi
need wrk "apt-get install wrk"
need curl "apt-get install curl"
need python3 "apt-get install python3"
for b in "${backends[@]}"; do
    if [ "$b" = postgres ]; then need psql "apt-get install postgresql-client"; fi
done

RUN_DIR="$ROOT/bench/out/ledger-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"
echo "output: ${RUN_DIR#"$ROOT"/}"

# ---------------------------------------------------------------------------------------------
# Build.
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    echo "== cargo build --release (target dir $TARGET_DIR)"
    CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --bin concord
    CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release -p concord-storage --example seed_bench
fi
CONCORD="$TARGET_DIR/release/concord"
SEEDER="$TARGET_DIR/release/examples/seed_bench"
[ -x "$CONCORD" ] || { echo "missing $CONCORD" >&2; exit 1; }
[ -x "$SEEDER" ] || { echo "missing $SEEDER" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# wrk scripts.
REPORT_LUA='
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.1f err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
'
cat >"$RUN_DIR/random_id.lua" <<EOF
-- Generated by bench/ledger.sh: GET <prefix><random id in 1..max><suffix> on every request.
local prefix = os.getenv("BENCH_PATH_PREFIX") or "/api/v1/partnerships/"
local suffix = os.getenv("BENCH_PATH_SUFFIX") or "/metrics"
local max_id = tonumber(os.getenv("BENCH_MAX_ID") or "1000")
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
end
init = function(args)
  math.randomseed(os.time() * 1000 + (thread_no or 0) * 7919)
end
request = function()
  return wrk.format("GET", prefix .. math.random(1, max_id) .. suffix)
end
$REPORT_LUA
EOF
# Appends: request k of thread t (of T) is combination c = k*T + t: the (partnership, metric)
# pair pairs[c mod n] and the month BLOCK*BLOCK_MONTHS + c div n after 2006-01. The pairs file is
# ordered so that consecutive requests go to different partnerships. Every wrk run (warm-up,
# measured run, repeats) uses a block of its own, so no (partnership, metric, period) is sent
# twice in a run or across runs.
cat >"$RUN_DIR/append.lua" <<EOF
-- Generated by bench/ledger.sh: POST one value per request, each to a new (partnership, metric,
-- period).
local pairs_file = os.getenv("BENCH_PAIRS")
local block = tonumber(os.getenv("BENCH_BLOCK") or "0")
local block_months = tonumber(os.getenv("BENCH_BLOCK_MONTHS") or "24")
local threads = tonumber(os.getenv("BENCH_THREADS") or "2")
local counter = 0
setup = function(thread)
  thread:set("thread_no", counter)
  counter = counter + 1
end
local pairs_list = {}
local n = 0
local k = 0
local overflow = 0
init = function(args)
  for line in io.lines(pairs_file) do
    local p, m = line:match("^(%d+)%s+(%d+)")
    if p then
      n = n + 1
      pairs_list[n] = "/api/v1/partnerships/" .. p .. "/metrics/" .. m .. "/values"
    end
  end
  wrk.headers["Content-Type"] = "application/json"
end
request = function()
  local c = k * threads + thread_no
  k = k + 1
  local month = math.floor(c / n)
  if month >= block_months then overflow = overflow + 1 end
  month = block * block_months + month
  local y = 2006 + math.floor(month / 12)
  local mo = month % 12 + 1
  local body = string.format('{"period_start":"%04d-%02d-01","value":%d.%02d,"source":"bench"}', y, mo, 100 + c % 900, c % 100)
  return wrk.format("POST", pairs_list[(c % n) + 1], nil, body)
end
$REPORT_LUA
EOF

# Appends without wrk, one request at a time on one keep-alive connection, each answer read in
# full (nothing is ever cancelled): the warm-up before the measured append run, and the probe
# that checks the server still accepts writes after it (see probe_writes). Same combination
# scheme as append.lua. Prints the count of answers per status, and the first error body.
cat >"$RUN_DIR/append_client.py" <<'EOF'
import http.client, json, os, sys, time
host, port, token, pairs_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
block, block_months, secs, count, offset = (int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]),
                                            int(sys.argv[8]), int(sys.argv[9]))
pairs = [l.split()[:2] for l in open(pairs_file) if l.strip()]
n = len(pairs)
conn = http.client.HTTPConnection(host, port, timeout=30)
codes, first_error, c = {}, None, offset
end = time.time() + secs
while (secs > 0 and time.time() < end) or (secs <= 0 and c - offset < count):
    p, m = pairs[c % n]
    month = block * block_months + c // n
    body = json.dumps({"period_start": "%04d-%02d-01" % (2006 + month // 12, month % 12 + 1),
                       "value": 100 + c % 900, "source": "bench warm-up"})
    conn.request("POST", "/api/v1/partnerships/%s/metrics/%s/values" % (p, m), body,
                 {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = conn.getresponse()
    text = r.read()
    codes[r.status] = codes.get(r.status, 0) + 1
    if r.status >= 300 and first_error is None:
        first_error = text[:300].decode("utf-8", "replace")
    c += 1
print(" ".join("%d:%d" % kv for kv in sorted(codes.items())), "|", first_error or "")
EOF

# ---------------------------------------------------------------------------------------------
# Helpers (as in bench/load.sh).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
rss_of() {
    awk '/^VmRSS:/ {r=$2} /^VmHWM:/ {h=$2} END {printf "%.1f %.1f", r/1024, h/1024}' "/proc/$1/status"
}
cpu_ticks_of() {
    awk '{print $14 + $15}' "/proc/$1/stat"
}
CLK_TCK="$(getconf CLK_TCK)"
DB_SAMPLER_PID=""
start_db_sampler() {
    (
        set +e +o pipefail
        i=0
        while :; do
            cat /proc/[0-9]*/stat 2>/dev/null | awk -v i="$i" '$2 == "(postgres)" {print i, $1, $14 + $15}'
            i=$((i + 1))
            sleep 0.5
        done
    ) >"$1" &
    DB_SAMPLER_PID=$!
}
stop_db_sampler() {
    if [ -n "$DB_SAMPLER_PID" ]; then
        kill "$DB_SAMPLER_PID" 2>/dev/null || true
        wait "$DB_SAMPLER_PID" 2>/dev/null || true
    fi
    DB_SAMPLER_PID=""
}
db_ticks_used() {
    awk '!($2 in first) {first[$2] = ($1 == 0) ? $3 : 0} {last[$2] = $3}
         END {t = 0; for (p in last) t += last[p] - first[p]; print t}' "$1"
}
busy_ticks() {
    awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat
}
CHILD_CPU=0
read_children_cpu() {
    times >"$RUN_DIR/.times"
    CHILD_CPU=$(tail -1 "$RUN_DIR/.times" | awk '{
        t = 0
        for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
        printf "%.3f", t }')
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
wait_idle() {
    local limit="${BENCH_WAIT_IDLE:-0}" waited=0 quiet=0 a b
    [ "$limit" -gt 0 ] || return 0
    while [ "$waited" -lt "$limit" ]; do
        a=$(busy_ticks)
        sleep 1
        b=$(busy_ticks)
        waited=$((waited + 1))
        if awk -v a="$a" -v b="$b" -v t="$CLK_TCK" 'BEGIN {exit !((b - a) / t < 0.1)}'; then
            quiet=$((quiet + 1))
            [ "$quiet" -ge 3 ] && return 0
        else
            quiet=0
        fi
    done
    echo "warning: the machine was still busy after ${limit}s (load $(loadavg)); measuring anyway" >&2
}

# CPU accounting around one measurement: cpu_begin, run it, cpu_end SECONDS -> CPU_LINE
# ("server / client / postgres / other", in cores) and OTHER (the last number).
cpu_begin() {
    C0=$(cpu_ticks_of "$SERVER_PID")
    start_db_sampler "$RUN_DIR/.db-ticks"
    sleep 0.2
    M0=$(busy_ticks)
    read_children_cpu
    W0=$CHILD_CPU
    LOAD_BEFORE=$(loadavg)
}
cpu_end() {
    local secs="$1" c1 m1 w1 dbt
    c1=$(cpu_ticks_of "$SERVER_PID")
    m1=$(busy_ticks)
    read_children_cpu
    w1=$CHILD_CPU
    sleep 0.6
    stop_db_sampler
    dbt=$(db_ticks_used "$RUN_DIR/.db-ticks")
    CPU_LINE=$(awk -v a="$C0" -v b="$c1" -v m0="$M0" -v m1="$m1" -v w0="$W0" -v w1="$w1" -v dbt="$dbt" -v t="$CLK_TCK" -v d="$secs" 'BEGIN {
        s = (b - a) / t / d; w = (w1 - w0) / d; m = (m1 - m0) / t / d; g = dbt / t / d
        o = m - s - w - g; if (o < 0) o = 0
        printf "%.2f / %.2f / %.2f / %.2f", s, w, g, o }')
    OTHER=${CPU_LINE##*/ }
}
# Whether to repeat a disturbed measurement (attempt number in $1).
disturbed() {
    [ "${BENCH_WAIT_IDLE:-0}" -gt 0 ] && [ "$1" -le "$RETRIES" ] &&
        awk -v o="$OTHER" -v m="$OTHER_MAX" 'BEGIN {exit !(o > m)}'
}

SERVER_PID=""
RSS_SAMPLER_PID=""
HWM_MAX=0 # the highest VmHWM of every server process of the backend so far (restarts included)
note_hwm() {
    if [ -n "$SERVER_PID" ] && [ -r "/proc/$SERVER_PID/status" ]; then
        HWM_MAX=$(awk -v m="$HWM_MAX" '/^VmHWM:/ {h = $2 / 1024} END {printf "%.1f", (h > m) ? h : m}' "/proc/$SERVER_PID/status")
    fi
}
stop_server() {
    note_hwm
    if [ -n "$RSS_SAMPLER_PID" ]; then
        kill "$RSS_SAMPLER_PID" 2>/dev/null || true
        wait "$RSS_SAMPLER_PID" 2>/dev/null || true
        RSS_SAMPLER_PID=""
    fi
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
trap 'stop_db_sampler; stop_server' EXIT
trap 'exit 130' INT TERM

ms() { awk -v us="$1" 'BEGIN {printf "%.2f", us/1000}'; }
# median and max of numbers on stdin, one per line
median_max() { sort -g | awk '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f\n", m, v[NR]}'; }

BENCH_EMAIL="ledger-bench@concord.test"
BENCH_PASSWORD="bench-$(head -c 48 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 24)x7Q"

SUMMARY="$RUN_DIR/summary.md"
{
    echo "# Concord ledger benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "- machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM; source at commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' + working tree changes') when the run started; binaries built $(date -u -r "$CONCORD" +%Y-%m-%dT%H:%M:%SZ) (concord) and $(date -u -r "$SEEDER" +%Y-%m-%dT%H:%M:%SZ) (seed_bench)"
    echo "- data: $ORGS organizations, $PARTNERSHIPS partnerships (seed $SEED, hub), partnerships 1..$LEDGER with a charter of 20 monthly metrics and $PERIODS monthly values per metric from 2001-01; $IMPORT_RUNS more partnerships with a charter of $BIG_METRICS monthly metrics owned by the hub, filled by the import step ($BIG_METRICS x $IMPORT_MONTHS = $((BIG_METRICS * IMPORT_MONTHS)) rows each)"
    echo "- wrk: -t$THREADS, $DURATION after a $WARMUP warm-up; append at ${APPEND_CONNECTIONS// / and } connection(s), reads at $READ_CONNECTIONS; wrk, curl and the server (and PostgreSQL) share the machine"
    echo "- server: concord serve (release), RUST_LOG=$SERVER_LOG_FILTER, pool ${BENCH_MAX_CONNECTIONS:-default}; as a contributor of the hub organization (read-write bearer token; session cookie for the page)"
    echo "- CPU columns: cores used during the measurement by the server / the client (wrk or curl) / PostgreSQL / everything else; load = /proc/loadavg (1, 5, 15 min) just before"
    echo
    echo "| backend | step | what | n | p50 / median | p90 | p99 | max | req/s | errors (non-2xx) | CPU server / client / pg / other | load before | RSS MB after (VmHWM) |"
    echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"
} >"$SUMMARY"
VERDICTS=()
verdict() { VERDICTS+=("$1"); }

# One wrk measurement. Arguments: backend step what script connections url (plus env already
# exported by the caller for the Lua script); header array in WRK_HDR. Sets P99_US and ERRS.
# For the append step BENCH_BLOCK is raised for every run.
run_wrk() {
    local backend="$1" step="$2" what="$3" script="$4" conns="$5" url="$6"
    local out="$RUN_DIR/$backend-$step$([ "$step" = append ] && echo "-c$5").txt" attempt=1 line reqs dur p50 p90 p99 maxl errs status rps secs
    : >"$out"
    # wrk needs at least one connection per thread; the append script's scheme needs to know
    # how many threads there are.
    local threads=$((conns < THREADS ? conns : THREADS))
    export BENCH_THREADS="$threads"
    if [ "$step" != append ]; then
        wrk -t"$threads" -c"$conns" -d"$WARMUP" "${WRK_HDR[@]}" -s "$script" "$url" >"$out.warmup" 2>&1
    fi
    while :; do
        if [ "$step" = append ]; then
            [ "$attempt" = 1 ] || probe_writes "before repeating the append run"
            if [ "$APPEND_BLOCK" -ge 9 ]; then
                echo "no unused block of periods left for another append run (2006-2023 used; 2024-2025 are the probes')" >&2
                exit 1
            fi
            export BENCH_BLOCK=$((APPEND_BLOCK++))
        fi
        wait_idle
        cpu_begin
        echo "\$ wrk -t$threads -c$conns -d$DURATION --latency -H <credentials> -s $(basename "$script") $url  (attempt $attempt, load $LOAD_BEFORE${BENCH_BLOCK:+, block $BENCH_BLOCK})" >>"$out"
        wrk -t"$threads" -c"$conns" -d"$DURATION" --latency "${WRK_HDR[@]}" -s "$script" "$url" | tee -a "$out"
        line=$(grep '^BENCH_RESULT' "$out" | tail -1)
        get() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$line"; }
        dur=$(get duration_us)
        secs=$(awk -v d="$dur" 'BEGIN {printf "%.3f", d / 1e6}')
        cpu_end "$secs"
        echo "CPU (cores) server / wrk / postgres / other: $CPU_LINE; load before: $LOAD_BEFORE" | tee -a "$out"
        if disturbed "$attempt"; then
            echo "other processes used $OTHER cores during the run; measuring again" | tee -a "$out"
            attempt=$((attempt + 1))
            continue
        fi
        break
    done
    reqs=$(get requests)
    p50=$(get p50_us); p90=$(get p90_us); p99=$(get p99_us); maxl=$(get max_us)
    errs=$(($(get err_connect) + $(get err_read) + $(get err_write) + $(get err_timeout)))
    status=$(get err_status)
    rps=$(awk -v r="$reqs" -v d="$dur" 'BEGIN {printf "%.0f", r/(d/1e6)}')
    echo "| $backend | $step | $what, $conns client(s) | $reqs | $(ms "$p50") ms | $(ms "$p90") ms | **$(ms "$p99") ms** | $(ms "$maxl") ms | $rps | $errs ($status) | $CPU_LINE | $LOAD_BEFORE | $(rss_of "$SERVER_PID" | awk '{printf "%s (%s)", $1, $2}') |" >>"$SUMMARY"
    P99_US=$p99
    ERRS=$((errs + status))
}

# One timed curl request. Arguments: output file, then curl arguments. Sets T_SECS, CODE.
timed_curl() {
    local out="$1"
    shift
    local r
    r=$(curl -sS -o "$out" -w '%{http_code} %{time_total}' "$@")
    CODE=${r% *}
    T_SECS=${r#* }
}

run_backend() {
    local backend="$1" url seed_log manifest
    echo
    echo "==================== $backend"
    case "$backend" in
        sqlite)
            local db="$RUN_DIR/ledger.db"
            rm -f "$db" "$db-wal" "$db-shm"
            url="sqlite://$db"
            ;;
        postgres)
            echo "recreating database $PG_DB on $PG_SERVER"
            psql "$PG_SERVER/postgres" -v ON_ERROR_STOP=1 -q \
                -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" \
                -c "CREATE DATABASE $PG_DB"
            url="$PG_SERVER/$PG_DB"
            ;;
    esac

    seed_log="$RUN_DIR/$backend-seed.log"
    manifest="$RUN_DIR/$backend-manifest.tsv"
    local seed_args=(--database-url "$url" --orgs "$ORGS" --partnerships "$PARTNERSHIPS" --seed "$SEED" --hub
        --charters "$LEDGER" --ledger "$LEDGER" --ledger-periods "$PERIODS" --ledger-from 2001-01
        --ledger-big "$IMPORT_RUNS" --ledger-big-metrics "$BIG_METRICS" --ledger-manifest "$manifest")
    echo "== seeding: seed_bench ${seed_args[*]}"
    local t0 t1 seed_secs
    t0=$(date +%s.%N)
    "$SEEDER" "${seed_args[@]}" 2>&1 | tee "$seed_log"
    if [ "$backend" = postgres ]; then
        echo "== VACUUM ANALYZE"
        psql "$url" -v ON_ERROR_STOP=1 -q -c "VACUUM ANALYZE"
    fi
    t1=$(date +%s.%N)
    seed_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b-a}')
    echo "seeding took ${seed_secs} s (wall clock)"

    local hub entries_seeded
    hub=$(sed -n 's/^hub organization: \([0-9]*\) .*/\1/p' "$seed_log")
    entries_seeded=$(sed -n 's/^ledger: \([0-9]*\) entries.*/\1/p' "$seed_log")
    local big_ids=()
    read -r -a big_ids <<<"$(sed -n 's/^ledger big partnerships: \([0-9 ]*\) (.*/\1/p' "$seed_log")"

    echo "== creating $BENCH_EMAIL (contributor of organization $hub) and a read-write API token"
    printf '%s\n' "$BENCH_PASSWORD" | "$CONCORD" --database-url "$url" user add --email "$BENCH_EMAIL" \
        --name "Ledger benchmark" --org "$hub" --role contributor --password-stdin >/dev/null
    local token
    token=$("$CONCORD" --database-url "$url" token create --email "$BENCH_EMAIL" --org "$hub" \
        --scope read-write --name "ledger benchmark" 2>/dev/null | tail -1)
    [ -n "$token" ] || { echo "could not create an API token" >&2; exit 1; }

    # Append pairs: the (partnership, metric) the hub owns among partnerships 1..LEDGER, ordered
    # by the metric's rank within its partnership, then partnership, so consecutive requests go
    # to different partnerships.
    local pairs="$RUN_DIR/$backend-append-pairs.txt"
    awk -F'\t' -v hub="$hub" '$1 == "ledger" && $4 == hub {r = ++rank[$2]; print r, $2, $3}' "$manifest" |
        sort -k1,1n -k2,2n | awk '{print $2, $3}' >"$pairs"
    local npairs
    npairs=$(wc -l <"$pairs")
    echo "append targets: $npairs (partnership, metric) pairs owned by organization $hub"

    local port pool_args=()
    port=$(free_port)
    if [ -n "${BENCH_MAX_CONNECTIONS:-}" ]; then pool_args=(--max-connections "$BENCH_MAX_CONNECTIONS"); fi
    local base="http://127.0.0.1:$port"
    local rss_log="$RUN_DIR/$backend-rss.log"
    : >"$rss_log"
    HWM_MAX=0
    RESTARTS=0
    start_server() {
        echo "== starting: RUST_LOG=$SERVER_LOG_FILTER concord serve --database-url $url --bind 127.0.0.1:$port ${pool_args[*]}"
        RUST_LOG="$SERVER_LOG_FILTER" "$CONCORD" serve --database-url "$url" --bind "127.0.0.1:$port" "${pool_args[@]}" \
            >>"$RUN_DIR/$backend-server.log" 2>&1 &
        SERVER_PID=$!
        for _ in $(seq 1 200); do
            if curl -fsS "$base/healthz" >/dev/null 2>&1; then break; fi
            kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited; see $RUN_DIR/$backend-server.log" >&2; tail -20 "$RUN_DIR/$backend-server.log" >&2; exit 1; }
            sleep 0.1
        done
        curl -fsS "$base/healthz" >/dev/null || { echo "server did not become healthy" >&2; exit 1; }
        # RSS throughout: VmRSS every 0.2 s (and the kernel's own peak, VmHWM, per process).
        (
            set +e
            while kill -0 "$SERVER_PID" 2>/dev/null; do
                echo "$(date +%s.%N | cut -c1-14) $(rss_of "$SERVER_PID") $SERVER_PID"
                sleep 0.2
            done
        ) >>"$rss_log" 2>/dev/null &
        RSS_SAMPLER_PID=$!
    }
    start_server

    # A write cancelled at the wrong moment (wrk drops the requests in flight when a run ends)
    # can leave the write connection inside a transaction (sqlx 0.8.6: a `begin_with` future
    # dropped after its BEGIN ran), after which every write answers 500 ("attempted to call
    # begin_with at non-zero transaction depth") until the server restarts. This checks with
    # one uncancelled append (block 9: 2024-2025) and restarts the server when it is poisoned,
    # so the next measurement is not of a broken server; every occurrence is recorded.
    PROBES=0
    probe_writes() {
        local r
        r=$(python3 "$RUN_DIR/append_client.py" 127.0.0.1 "$port" "$token" "$pairs" 9 24 0 1 "$PROBES")
        PROBES=$((PROBES + 1))
        if [[ "$r" == "201:1 "* ]]; then
            echo "write probe $1: ok"
            return 0
        fi
        RESTARTS=$((RESTARTS + 1))
        echo "write probe $1: FAILED ($r); the server no longer accepts writes: restarting it" >&2
        echo "- $backend: write probe $1 failed ($r); server restarted" >>"$RUN_DIR/notes.md"
        stop_server
        start_server
        r=$(python3 "$RUN_DIR/append_client.py" 127.0.0.1 "$port" "$token" "$pairs" 9 24 0 1 "$PROBES")
        PROBES=$((PROBES + 1))
        echo "write probe after the restart: $r"
    }

    local session
    session=$(curl -sS -o /dev/null -D - --data-urlencode "email=$BENCH_EMAIL" \
        --data-urlencode "password=$BENCH_PASSWORD" "$base/sign-in" |
        sed -n 's/^[Ss]et-[Cc]ookie: concord_session=\([^;]*\).*/\1/p' | tr -d '\r' | head -1)
    [ -n "$session" ] || { echo "could not sign in as $BENCH_EMAIL" >&2; exit 1; }
    local api_auth=(-H "Authorization: Bearer $token") page_auth=(-H "Cookie: concord_session=$session")

    # Sanity: the seeded ledger is what the server sees, and its chains verify.
    local check
    check=$(curl -fsS "${api_auth[@]}" "$base/api/v1/partnerships/1/metrics" | python3 -c '
import json, sys
o = json.load(sys.stdin)
print(len(o["metrics"]), "metrics,", sum(len(m["values"]) for m in o["metrics"]), "current values,", o["entries"], "entries")')
    echo "server on $base (pid $SERVER_PID); partnership 1: $check; RSS at start (VmRSS VmHWM MB): $(rss_of "$SERVER_PID")"
    echo "verify partnership 1: $(curl -fsS "${api_auth[@]}" "$base/api/v1/partnerships/1/ledger/verify")"
    echo "- $backend: seeded $entries_seeded entries in partnerships 1..$LEDGER ($seed_secs s, wall clock, with VACUUM ANALYZE on PostgreSQL); partnership 1 as the server sees it: $check; $npairs (partnership, metric) pairs owned by the hub for appends" >>"$RUN_DIR/notes.md"

    local step
    APPEND_BLOCK=0
    for step in $STEPS; do
        case "$step" in
            append)
                echo
                echo "== $backend: append (at ${APPEND_CONNECTIONS// /, } connections)"
                WRK_HDR=("${api_auth[@]}")
                export BENCH_PAIRS="$pairs" BENCH_BLOCK_MONTHS=24
                # Warm-up without wrk (block 0): wrk cancels the requests in flight when a run
                # ends, and a cancelled write can poison the server (see probe_writes).
                echo "warm-up: sequential appends for ${WARMUP%s} s: $(python3 "$RUN_DIR/append_client.py" 127.0.0.1 "$port" "$token" "$pairs" 0 24 "${WARMUP%s}" 0 0)" | tee "$RUN_DIR/$backend-append-warmup.txt"
                APPEND_BLOCK=1
                local v conns
                for conns in $APPEND_CONNECTIONS; do
                    run_wrk "$backend" append "POST …/metrics/{m}/values (one value, new period each)" \
                        "$RUN_DIR/append.lua" "$conns" "$base/api/v1/partnerships/1/metrics"
                    probe_writes "after the append run at $conns connections"
                    v=$(awk -v p="$P99_US" -v t="$APPEND_P99_MS" 'BEGIN { if (p/1000 < t) printf "met"; else printf "MISSED by %.2f ms (%.1fx)", p/1000 - t, p/1000/t }')
                    verdict "$backend append: p99 $(ms "$P99_US") ms at $conns connection(s) vs < $APPEND_P99_MS ms: $v; non-2xx or socket errors: $ERRS$([ "$ERRS" = 0 ] || echo ' (MUST be 0)')"
                done
                unset BENCH_BLOCK
                echo "verify partnership 1 after the appends: $(curl -fsS "${api_auth[@]}" "$base/api/v1/partnerships/1/ledger/verify")" | tee -a "$RUN_DIR/$backend-append-verify.txt"
                ;;
            import)
                echo
                echo "== $backend: import ${#big_ids[@]} x $((BIG_METRICS * IMPORT_MONTHS)) rows"
                local csv="$RUN_DIR/import.csv"
                # metric ids of the first big partnership (every big charter numbers them alike)
                awk -F'\t' -v p="${big_ids[0]}" '$1 == "big" && $2 == p {print $3}' "$manifest" >"$RUN_DIR/big-metrics.txt"
                python3 - "$RUN_DIR/big-metrics.txt" "$IMPORT_MONTHS" "$csv" <<'EOF'
import sys
metrics = [l.strip() for l in open(sys.argv[1]) if l.strip()]
months = int(sys.argv[2])
with open(sys.argv[3], "w") as f:
    f.write("metric,period,value\n")
    for k in range(months):
        y, m = 1960 + k // 12, k % 12 + 1
        for i, mid in enumerate(metrics):
            f.write(f"{mid},{y:04d}-{m:02d},{(i * 37 + k * 11) % 1000 + 0.25 * (k % 4)}\n")
EOF
                local rows times=() big attempt
                rows=$(($(wc -l <"$csv") - 1))
                local out="$RUN_DIR/$backend-import.txt"
                : >"$out"
                for big in "${big_ids[@]}"; do
                    attempt=1
                    wait_idle
                    cpu_begin
                    timed_curl "$RUN_DIR/$backend-import-$big.json" "${api_auth[@]}" -H 'Content-Type: text/csv' \
                        --data-binary "@$csv" "$base/api/v1/partnerships/$big/metrics/import"
                    cpu_end "$T_SECS"
                    echo "import $rows rows into partnership $big: HTTP $CODE in $T_SECS s; CPU $CPU_LINE; load before $LOAD_BEFORE; RSS $(rss_of "$SERVER_PID"); $(head -c 300 "$RUN_DIR/$backend-import-$big.json")" | tee -a "$out"
                    [ "$CODE" = 201 ] || { echo "import failed" >&2; exit 1; }
                    times+=("$T_SECS")
                    if [ "${BENCH_WAIT_IDLE:-0}" -gt 0 ] && awk -v o="$OTHER" -v m="$OTHER_MAX" 'BEGIN {exit !(o > m)}'; then
                        echo "  (other processes used $OTHER cores during this import)" | tee -a "$out"
                    fi
                done
                local med mx
                read -r med mx < <(printf '%s\n' "${times[@]}" | median_max)
                echo "| $backend | import | POST …/metrics/import, $rows-row CSV ($(du -k "$csv" | cut -f1) KiB) into partnerships ${big_ids[*]} (one each): $(printf '%.3f s ' "${times[@]}") | ${#times[@]} | $med s | | | $mx s | | 0 | $CPU_LINE (last) | $LOAD_BEFORE (last) | $(rss_of "$SERVER_PID" | awk '{printf "%s (%s)", $1, $2}') |" >>"$SUMMARY"
                verdict "$backend import: $rows rows median $med s, max $mx s vs < $IMPORT_S s: $(awk -v m="$mx" -v t="$IMPORT_S" 'BEGIN { if (m < t) printf "met"; else printf "MISSED by %.2f s (%.1fx)", m - t, m / t }')"
                ;;
            verify)
                echo
                local vid="${big_ids[0]}"
                echo "== $backend: verify partnership $vid, $VERIFY_RUNS times"
                local out="$RUN_DIR/$backend-verify.txt" vt=() n_entries="?" r
                : >"$out"
                # A failed verification is recorded (with the server's answer) and asked again, up
                # to 3 times in a row: after a cancelled append, PostgreSQL can hand this request
                # a pooled connection still inside the cancelled request's transaction, and the
                # verification's `SET TRANSACTION ISOLATION LEVEL` then fails (sqlx 0.8.6).
                local failures=0 failed_in_a_row=0
                timed_curl "$RUN_DIR/.verify.json" "${api_auth[@]}" "$base/api/v1/partnerships/$vid/ledger/verify" # warm-up
                if [ "$CODE" != 200 ]; then
                    failures=$((failures + 1))
                    echo "verify warm-up: HTTP $CODE: $(head -c 300 "$RUN_DIR/.verify.json")" | tee -a "$out"
                    echo "- $backend: verify of partnership $vid (warm-up) answered HTTP $CODE: $(head -c 200 "$RUN_DIR/.verify.json")" >>"$RUN_DIR/notes.md"
                fi
                r=0
                while [ "${#vt[@]}" -lt "$VERIFY_RUNS" ]; do
                    wait_idle
                    cpu_begin
                    timed_curl "$RUN_DIR/.verify.json" "${api_auth[@]}" "$base/api/v1/partnerships/$vid/ledger/verify"
                    cpu_end "$T_SECS"
                    if [ "$CODE" != 200 ]; then
                        failures=$((failures + 1))
                        failed_in_a_row=$((failed_in_a_row + 1))
                        echo "verify $vid: HTTP $CODE in $T_SECS s: $(head -c 300 "$RUN_DIR/.verify.json")" | tee -a "$out"
                        echo "- $backend: verify of partnership $vid answered HTTP $CODE: $(head -c 200 "$RUN_DIR/.verify.json")" >>"$RUN_DIR/notes.md"
                        [ "$failed_in_a_row" -lt 3 ] || { echo "verify failed 3 times in a row" >&2; exit 1; }
                        continue
                    fi
                    failed_in_a_row=0
                    n_entries=$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(v["entries"], "entries, valid" if v["valid"] else "entries, INVALID")' "$RUN_DIR/.verify.json")
                    echo "verify $vid: HTTP $CODE in $T_SECS s ($n_entries); CPU $CPU_LINE; load before $LOAD_BEFORE; RSS $(rss_of "$SERVER_PID")" | tee -a "$out"
                    vt+=("$T_SECS")
                done
                local med mx
                read -r med mx < <(printf '%s\n' "${vt[@]}" | median_max)
                echo "| $backend | verify | GET …/ledger/verify on partnership $vid ($n_entries) | ${#vt[@]} | $med s | | | $mx s | | $failures | $CPU_LINE (last) | $LOAD_BEFORE (last) | $(rss_of "$SERVER_PID" | awk '{printf "%s (%s)", $1, $2}') |" >>"$SUMMARY"
                verdict "$backend verify: $n_entries, median $med s, max $mx s$([ "$failures" = 0 ] || echo " ($failures request(s) answered an error, see the notes)") vs < $VERIFY_S s: $(awk -v m="$med" -v x="$mx" -v t="$VERIFY_S" 'BEGIN { if (x < t) printf "met (every run)"; else if (m < t) printf "met by the median, MISSED by the slowest run (%.3f s)", x; else printf "MISSED by %.3f s (%.1fx)", m - t, m / t }')"
                ;;
            metrics_api | metrics_page)
                local path prefix what hdr
                if [ "$step" = metrics_api ]; then
                    prefix="/api/v1/partnerships/"; what="GET /api/v1/partnerships/{random id}/metrics (JSON)"; WRK_HDR=("${api_auth[@]}")
                else
                    prefix="/partnerships/"; what="GET /partnerships/{random id}/metrics (HTML page)"; WRK_HDR=("${page_auth[@]}")
                fi
                path="${prefix}1/metrics"
                local code bytes
                code=$(curl -sS -o "$RUN_DIR/.probe" -w '%{http_code}' "${WRK_HDR[@]}" "$base$path")
                bytes=$(wc -c <"$RUN_DIR/.probe")
                if [ "$code" != 200 ]; then
                    echo "$path answered $code: not measured (the metrics page does not exist in this build?)" | tee -a "$RUN_DIR/notes.md"
                    verdict "$backend $step: not measured ($path answered $code)"
                    continue
                fi
                echo
                echo "== $backend: $what at $READ_CONNECTIONS connections ($bytes bytes for partnership 1)"
                export BENCH_PATH_PREFIX="$prefix" BENCH_PATH_SUFFIX="/metrics" BENCH_MAX_ID="$LEDGER"
                run_wrk "$backend" "$step" "$what, $bytes bytes" "$RUN_DIR/random_id.lua" "$READ_CONNECTIONS" "$base$path"
                local v
                v=$(awk -v p="$P99_US" -v t="$PAGE_P99_MS" 'BEGIN { if (p/1000 < t) printf "met"; else printf "MISSED by %.2f ms (%.1fx)", p/1000 - t, p/1000/t }')
                verdict "$backend $step: p99 $(ms "$P99_US") ms at $READ_CONNECTIONS connections vs < $PAGE_P99_MS ms$([ "$step" = metrics_api ] && echo ' (the target is stated for the page; the API is for comparison)'): $v; errors: $ERRS"
                ;;
            *)
                echo "unknown step $step" >&2
                exit 2
                ;;
        esac
    done

    local final peak_sampled
    final=$(rss_of "$SERVER_PID")
    note_hwm
    kill "$RSS_SAMPLER_PID" 2>/dev/null || true
    wait "$RSS_SAMPLER_PID" 2>/dev/null || true
    RSS_SAMPLER_PID=""
    peak_sampled=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {printf "%.1f", m}' "$rss_log")
    local hwm=$HWM_MAX
    verdict "$backend memory: peak VmHWM $hwm MB (sampled VmRSS peak $peak_sampled MB, ${final% *} MB at the end$([ "$RESTARTS" = 0 ] || echo "; over $((RESTARTS + 1)) server processes")) vs < $RSS_TARGET_MB MB: $(awk -v h="$hwm" -v t="$RSS_TARGET_MB" 'BEGIN { if (h < t) printf "met"; else printf "MISSED by %.1f MB", h - t }')"
    verdict "$backend: server restarts because a cancelled write left it refusing writes: $RESTARTS"
    verdict "$backend: seeding took $seed_secs s ($entries_seeded entries)"
    stop_server
}

for b in "${backends[@]}"; do
    run_backend "$b"
done

{
    echo
    echo "Targets (issue 5): append p99 < $APPEND_P99_MS ms; 100,000-row import < $IMPORT_S s; verify of 100,000 entries < $VERIFY_S s; metrics page p99 < $PAGE_P99_MS ms at 32 clients; server RSS < $RSS_TARGET_MB MB throughout."
    echo
    for v in "${VERDICTS[@]}"; do echo "- $v"; done
    if [ -f "$RUN_DIR/notes.md" ]; then
        echo
        cat "$RUN_DIR/notes.md"
    fi
} >>"$SUMMARY"

echo
echo "==================== summary (also in ${SUMMARY#"$ROOT"/})"
cat "$SUMMARY"
