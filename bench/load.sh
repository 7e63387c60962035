#!/usr/bin/env bash
# Load benchmark for Concord's partnership and charter endpoints, on SQLite and/or PostgreSQL.
#
#   bench/load.sh                 # SQLite (plus PostgreSQL when BENCH_POSTGRES_URL is set)
#   bench/load.sh sqlite postgres # both
#   bench/load.sh postgres        # PostgreSQL only
#
# For each backend: build release, create a fresh database, seed it with
# `examples/seed_bench` (2,000 organizations, 1,000 partnerships, each with a signed two-version
# charter), start `concord serve` on a free port, warm up, run `wrk` against each endpoint, sample
# the server's RSS, print a summary with each target met or missed, stop the server. Everything
# is also written under bench/out/<timestamp>/ (gitignored).
#
# Settings (environment):
#   BENCH_POSTGRES_URL     PostgreSQL server, without a database name
#                          (default postgres://postgres@127.0.0.1:5432); database
#                          `concord_bench` on it is DROPPED and recreated.
#   BENCH_ORGS             organizations to seed (default 2000)
#   BENCH_PARTNERSHIPS     partnerships to seed (default 1000)
#   BENCH_CHARTERS         partnerships 1..N get a signed two-version charter whatever their
#                          stage (default: all of them); the charter endpoints pick ids in 1..N
#   BENCH_SEED             generator seed (default 42)
#   BENCH_THREADS          wrk threads (default 2)
#   BENCH_CONNECTIONS      wrk connections for every endpoint (default: each endpoint's target
#                          concurrency: 64 for the partnership endpoints, 32 for the charter ones)
#   BENCH_DURATION         wrk duration per endpoint (default 20s)
#   BENCH_WARMUP           warm-up duration per endpoint (default 5s)
#   BENCH_MAX_CONNECTIONS  server database pool size (default: the server's own default)
#   BENCH_ENDPOINTS        which endpoints, space-separated names (default: all of
#                          list_api detail_html detail_api list_html charter_html verdict_api)
#   BENCH_SKIP_BUILD=1     do not run cargo build
#   BENCH_WAIT_IDLE=N      before each measured run, wait up to N seconds until the machine is
#                          idle (under 0.1 core busy for 3 s), since wrk and the server need the
#                          whole machine (default 0: do not wait; the CPU used by other processes
#                          is reported in the CPU columns either way); with it set, a run during
#                          which other processes used more than BENCH_OTHER_MAX cores (default
#                          0.15) is repeated, up to BENCH_RETRIES times (default 3)
#   RUST_LOG               server log filter (default here: warn, so the per-request info line
#                          is not written; set RUST_LOG=info to measure with request logging)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ORGS="${BENCH_ORGS:-2000}"
PARTNERSHIPS="${BENCH_PARTNERSHIPS:-1000}"
SEED="${BENCH_SEED:-42}"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-}" # empty: each endpoint's own (endpoint_spec)
DURATION="${BENCH_DURATION:-20s}"
WARMUP="${BENCH_WARMUP:-5s}"
ENDPOINTS="${BENCH_ENDPOINTS:-list_api detail_html detail_api list_html charter_html verdict_api}"
CHARTERS="${BENCH_CHARTERS:-$PARTNERSHIPS}"
[ "$CHARTERS" -le "$PARTNERSHIPS" ] || CHARTERS="$PARTNERSHIPS"
PG_SERVER="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
PG_SERVER="${PG_SERVER%/}"
SERVER_LOG_FILTER="${RUST_LOG:-warn}"
RETRIES="${BENCH_RETRIES:-3}"
OTHER_MAX="${BENCH_OTHER_MAX:-0.15}"
RSS_TARGET_MB=100

backends=()
for a in "$@"; do
    case "$a" in
        sqlite | postgres) backends+=("$a") ;;
        all | both) backends+=(sqlite postgres) ;;
        -h | --help)
            sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//'
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
for b in "${backends[@]}"; do
    if [ "$b" = postgres ]; then need psql "apt-get install postgresql-client"; fi
done

RUN_DIR="$ROOT/bench/out/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"
echo "output: ${RUN_DIR#"$ROOT"/}"

# ---------------------------------------------------------------------------------------------
# Build.
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    echo "== cargo build --release"
    cargo build --release
    cargo build --release -p concord-storage --example seed_bench
fi
CONCORD="$ROOT/target/release/concord"
SEEDER="$ROOT/target/release/examples/seed_bench"
[ -x "$CONCORD" ] || { echo "missing $CONCORD" >&2; exit 1; }
[ -x "$SEEDER" ] || { echo "missing $SEEDER" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# wrk scripts: one reports a machine-readable line; the other also picks a random id per request.
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
cat >"$RUN_DIR/report.lua" <<EOF
-- Generated by bench/load.sh: report only.
$REPORT_LUA
EOF
cat >"$RUN_DIR/random_id.lua" <<EOF
-- Generated by bench/load.sh: GET <prefix><random id in 1..max><suffix> on every request.
local prefix = os.getenv("BENCH_PATH_PREFIX") or "/partnerships/"
local suffix = os.getenv("BENCH_PATH_SUFFIX") or ""
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

# ---------------------------------------------------------------------------------------------
# Helpers.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null && return
    local p
    for p in $(seq 18080 18999); do
        if ! ss -ltn "sport = :$p" 2>/dev/null | grep -q LISTEN; then echo "$p"; return; fi
    done
    echo "no free port" >&2
    exit 1
}

# "VmRSS_MB VmHWM_MB" of a process.
rss_of() {
    awk '/^VmRSS:/ {r=$2} /^VmHWM:/ {h=$2} END {printf "%.1f %.1f", r/1024, h/1024}' "/proc/$1/status"
}

# Server CPU time (utime + stime) in clock ticks.
cpu_ticks_of() {
    awk '{print $14 + $15}' "/proc/$1/stat"
}
CLK_TCK="$(getconf CLK_TCK)"

# CPU used by the local PostgreSQL processes during a run. Backends come and go (the pool
# replaces connections whose requests wrk cancelled), so a before/after sum would lose the ticks
# of those that exit; instead a sampler records every postgres process's ticks twice a second,
# and each process counts from its first sample (from zero if it started during the run).
DB_SAMPLER_PID=""
start_db_sampler() {
    (
        set +e +o pipefail # a process exiting mid-`cat` must not end the sampler
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
# Ticks used by postgres processes according to a sampler file.
db_ticks_used() {
    awk '!($2 in first) {first[$2] = ($1 == 0) ? $3 : 0} {last[$2] = $3}
         END {t = 0; for (p in last) t += last[p] - first[p]; print t}' "$1"
}

# Machine-wide busy CPU ticks (user+nice+system+irq+softirq+steal).
busy_ticks() {
    awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat
}

# Sets CHILD_CPU to the CPU seconds (user + system) used by this shell's finished children so
# far (wrk, mostly). Must not run in a subshell: `times` there would report the subshell.
CHILD_CPU=0
read_children_cpu() {
    times >"$RUN_DIR/.times"
    CHILD_CPU=$(tail -1 "$RUN_DIR/.times" | awk '{
        t = 0
        for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
        printf "%.3f", t }')
}

# Waits (up to BENCH_WAIT_IDLE seconds) until the machine has been idle for 3 s in a row: less
# than 0.1 core busy, while the server and PostgreSQL are idle between runs.
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
    echo "warning: the machine was still busy after ${limit}s; measuring anyway (see the CPU columns)" >&2
}

SERVER_PID=""
stop_server() {
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

# endpoint name -> "path|lua script|BENCH_PATH_PREFIX|BENCH_PATH_SUFFIX|highest id|what|
#                    credentials (api: token, page: session)|connections (the issue's)|p99 target ms"
# (an empty target: measured, no target). The partnership targets are p99 < 20 ms at 64 clients,
# the charter page's p99 < 15 ms at 32 clients.
endpoint_spec() {
    case "$1" in
        list_api) echo "/api/v1/partnerships|report.lua|||0|GET /api/v1/partnerships (first page, JSON)|api|64|20" ;;
        detail_html) echo "/partnerships/1|random_id.lua|/partnerships/||$PARTNERSHIPS|GET /partnerships/{random id} (HTML detail page)|page|64|20" ;;
        detail_api) echo "/api/v1/partnerships/1|random_id.lua|/api/v1/partnerships/||$PARTNERSHIPS|GET /api/v1/partnerships/{random id} (JSON)|api|64|" ;;
        list_html) echo "/partnerships|report.lua|||0|GET /partnerships (first page, HTML)|page|64|" ;;
        charter_html) echo "/partnerships/1/charter|random_id.lua|/partnerships/|/charter|$CHARTERS|GET /partnerships/{random id}/charter (HTML charter page)|page|32|15" ;;
        verdict_api) echo "/api/v1/partnerships/1/verdict|random_id.lua|/api/v1/partnerships/|/verdict|$CHARTERS|GET /api/v1/partnerships/{random id}/verdict (JSON)|api|32|" ;;
        *) echo "unknown endpoint $1" >&2; exit 2 ;;
    esac
}
for ep in $ENDPOINTS; do endpoint_spec "$ep" >/dev/null; done

ms() { awk -v us="$1" 'BEGIN {printf "%.2f", us/1000}'; }

# Builds with accounts (`concord token` exists) need credentials: the script creates a viewer in
# the hub organization, a read-scoped API token, and a session by signing in.
AUTH=0
if "$CONCORD" token --help >/dev/null 2>&1; then AUTH=1; fi
BENCH_EMAIL="load-bench@concord.test"
BENCH_PASSWORD="bench-$(head -c 48 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 24)x7Q"

SUMMARY="$RUN_DIR/summary.md"
{
    echo "# Concord load benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM"
    echo "- data: $ORGS organizations, $PARTNERSHIPS partnerships (seed $SEED); partnerships 1..$CHARTERS (and every one that went active) have a signed two-version charter"
    echo "- wrk: -t$THREADS -c<clients column> -d$DURATION --latency (warm-up $WARMUP per endpoint); wrk and the server share the machine"
    echo "- server: target/release/concord serve, RUST_LOG=$SERVER_LOG_FILTER, pool ${BENCH_MAX_CONNECTIONS:-default}"
    if [ "$AUTH" = 1 ]; then
        echo "- requests authenticated as a viewer of the hub organization (party to every partnership): API with a read-scoped bearer token, pages with a session cookie"
    else
        echo "- this build has no authentication; requests carry no credentials"
    fi
    echo
    echo "CPU columns are in cores (of $(nproc)) averaged over the run: the Concord server, wrk, the local PostgreSQL processes, and every other process on the machine (other > 0.1 means something else was competing)."
    echo
    echo "| backend | endpoint | clients | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors (non-2xx) | CPU server / wrk / postgres / other | RSS before → after MB | peak RSS (VmHWM) MB |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} >"$SUMMARY"

VERDICTS=()

run_backend() {
    local backend="$1" url seed_log
    echo
    echo "==================== $backend"
    case "$backend" in
        sqlite)
            local db="$RUN_DIR/bench.db"
            rm -f "$db" "$db-wal" "$db-shm"
            url="sqlite://$db"
            ;;
        postgres)
            echo "recreating database concord_bench on $PG_SERVER"
            psql "$PG_SERVER/postgres" -v ON_ERROR_STOP=1 -q \
                -c "DROP DATABASE IF EXISTS concord_bench WITH (FORCE)" \
                -c "CREATE DATABASE concord_bench"
            url="$PG_SERVER/concord_bench"
            ;;
    esac

    seed_log="$RUN_DIR/$backend-seed.log"
    echo "== seeding: seed_bench --database-url $url --orgs $ORGS --partnerships $PARTNERSHIPS --seed $SEED --hub --charters $CHARTERS"
    local t0 t1
    t0=$(date +%s.%N)
    "$SEEDER" --database-url "$url" --orgs "$ORGS" --partnerships "$PARTNERSHIPS" --seed "$SEED" --hub \
        --charters "$CHARTERS" 2>&1 | tee "$seed_log"
    if [ "$backend" = postgres ]; then
        # Steady state: autovacuum would analyze the freshly loaded tables within a minute or so
        # anyway; doing it now keeps the plans (and the figures) from depending on when it runs.
        echo "== VACUUM ANALYZE"
        psql "$url" -v ON_ERROR_STOP=1 -q -c "VACUUM ANALYZE"
    fi
    t1=$(date +%s.%N)
    local seed_secs
    seed_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b-a}')
    echo "seeding took ${seed_secs} s (wall clock, including connect and migrations)"

    local token="" hub
    hub=$(sed -n 's/^hub organization: \([0-9]*\) .*/\1/p' "$seed_log")
    if [ "$AUTH" = 1 ]; then
        echo "== creating $BENCH_EMAIL (viewer of organization $hub) and a read-scoped API token"
        printf '%s\n' "$BENCH_PASSWORD" | "$CONCORD" --database-url "$url" user add --email "$BENCH_EMAIL" \
            --name "Load benchmark" --org "$hub" --role viewer --password-stdin >/dev/null
        token=$("$CONCORD" --database-url "$url" token create --email "$BENCH_EMAIL" --org "$hub" \
            --scope read --name "load benchmark" 2>/dev/null | tail -1)
        [ -n "$token" ] || { echo "could not create an API token" >&2; exit 1; }
    fi

    local port pool_args=()
    port=$(free_port)
    if [ -n "${BENCH_MAX_CONNECTIONS:-}" ]; then pool_args=(--max-connections "$BENCH_MAX_CONNECTIONS"); fi
    echo "== starting: RUST_LOG=$SERVER_LOG_FILTER concord serve --database-url $url --bind 127.0.0.1:$port ${pool_args[*]}"
    RUST_LOG="$SERVER_LOG_FILTER" "$CONCORD" serve --database-url "$url" --bind "127.0.0.1:$port" "${pool_args[@]}" \
        >"$RUN_DIR/$backend-server.log" 2>&1 &
    SERVER_PID=$!
    local base="http://127.0.0.1:$port"
    for _ in $(seq 1 100); do
        if curl -fsS "$base/healthz" >/dev/null 2>&1; then break; fi
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited; see $RUN_DIR/$backend-server.log" >&2; cat "$RUN_DIR/$backend-server.log" >&2; exit 1; }
        sleep 0.1
    done
    curl -fsS "$base/healthz" >/dev/null || { echo "server did not become healthy" >&2; exit 1; }

    local api_auth=() page_auth=()
    if [ "$AUTH" = 1 ]; then
        local session
        session=$(curl -sS -o /dev/null -D - --data-urlencode "email=$BENCH_EMAIL" \
            --data-urlencode "password=$BENCH_PASSWORD" "$base/sign-in" |
            sed -n 's/^[Ss]et-[Cc]ookie: concord_session=\([^;]*\).*/\1/p' | tr -d '\r' | head -1)
        [ -n "$session" ] || { echo "could not sign in as $BENCH_EMAIL" >&2; exit 1; }
        api_auth=(-H "Authorization: Bearer $token")
        page_auth=(-H "Cookie: concord_session=$session")
    fi

    # Sanity: the seeded data is what the server sees.
    local total
    total=$(curl -fsS "${api_auth[@]}" "$base/api/v1/partnerships?per_page=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])' 2>/dev/null || echo "?")
    echo "server on $base (pid $SERVER_PID) sees $total partnerships; RSS at start (VmRSS VmHWM MB): $(rss_of "$SERVER_PID")"
    if [ "$CHARTERS" -gt 0 ]; then
        local vid
        for vid in 1 "$CHARTERS"; do
            echo "verdict of partnership $vid: $(curl -fsS "${api_auth[@]}" "$base/api/v1/partnerships/$vid/verdict" |
                python3 -c 'import json,sys; v=json.load(sys.stdin); print("version", v["version"], v["status"], v["verdict"])' 2>/dev/null || echo "?")"
        done
    fi

    local ep spec path script prefix suffix max_id what cred conns target code hdr
    for ep in $ENDPOINTS; do
        spec=$(endpoint_spec "$ep")
        IFS='|' read -r path script prefix suffix max_id what cred conns target <<<"$spec"
        conns="${CONNECTIONS:-$conns}"
        if [ "$cred" = api ]; then hdr=("${api_auth[@]}"); else hdr=("${page_auth[@]}"); fi
        # Every measured request must be a 200 (wrk counts only 4xx/5xx as errors, not redirects).
        code=$(curl -sS -o /dev/null -w '%{http_code}' "${hdr[@]}" "$base$path")
        if [ "$code" != 200 ]; then
            echo "GET $path answered $code before the run (expected 200)" >&2
            exit 1
        fi
        echo
        echo "== $backend: $what"
        BENCH_PATH_PREFIX="$prefix" BENCH_PATH_SUFFIX="$suffix" BENCH_MAX_ID="$max_id" \
            wrk -t"$THREADS" -c"$conns" -d"$WARMUP" "${hdr[@]}" -s "$RUN_DIR/$script" "$base$path" >/dev/null
        local before after c0 c1 m0 m1 w0 w1 dbt out line attempt=1 other
        local reqs dur p50 p90 p99 p999 maxl errs status rps cpu
        out="$RUN_DIR/$backend-$ep.txt"
        : >"$out"
        while :; do
            wait_idle
            before=$(rss_of "$SERVER_PID")
            c0=$(cpu_ticks_of "$SERVER_PID")
            start_db_sampler "$RUN_DIR/.db-ticks"
            sleep 0.2
            m0=$(busy_ticks)
            read_children_cpu
            w0=$CHILD_CPU
            echo "\$ BENCH_PATH_PREFIX=$prefix BENCH_PATH_SUFFIX=$suffix BENCH_MAX_ID=$max_id wrk -t$THREADS -c$conns -d$DURATION --latency${hdr[*]:+ -H <$cred credentials>} -s $script $base$path   (attempt $attempt)" >>"$out"
            BENCH_PATH_PREFIX="$prefix" BENCH_PATH_SUFFIX="$suffix" BENCH_MAX_ID="$max_id" \
                wrk -t"$THREADS" -c"$conns" -d"$DURATION" --latency "${hdr[@]}" -s "$RUN_DIR/$script" "$base$path" | tee -a "$out"
            c1=$(cpu_ticks_of "$SERVER_PID")
            m1=$(busy_ticks)
            read_children_cpu
            w1=$CHILD_CPU
            sleep 0.6
            stop_db_sampler
            dbt=$(db_ticks_used "$RUN_DIR/.db-ticks")
            after=$(rss_of "$SERVER_PID")
            echo "server RSS before: VmRSS/VmHWM $before MB; after: $after MB" | tee -a "$out"

            line=$(grep '^BENCH_RESULT' "$out" | tail -1)
            get() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$line"; }
            reqs=$(get requests); dur=$(get duration_us)
            p50=$(get p50_us); p90=$(get p90_us); p99=$(get p99_us); p999=$(get p999_us); maxl=$(get max_us)
            errs=$(( $(get err_connect) + $(get err_read) + $(get err_write) + $(get err_timeout) ))
            status=$(get err_status)
            rps=$(awk -v r="$reqs" -v d="$dur" 'BEGIN {printf "%.0f", r/(d/1e6)}')
            cpu=$(awk -v a="$c0" -v b="$c1" -v m0="$m0" -v m1="$m1" -v w0="$w0" -v w1="$w1" -v dbt="$dbt" -v t="$CLK_TCK" -v d="$dur" 'BEGIN {
                s = (b - a) / t / (d / 1e6); w = (w1 - w0) / (d / 1e6); m = (m1 - m0) / t / (d / 1e6)
                g = dbt / t / (d / 1e6)
                o = m - s - w - g; if (o < 0) o = 0
                printf "%.2f / %.2f / %.2f / %.2f", s, w, g, o }')
            other=${cpu##*/ }
            echo "CPU (cores) server / wrk / postgres / other: $cpu" | tee -a "$out"
            if [ "${BENCH_WAIT_IDLE:-0}" -gt 0 ] && [ "$attempt" -le "$RETRIES" ] &&
                awk -v o="$other" -v m="$OTHER_MAX" 'BEGIN {exit !(o > m)}'; then
                echo "other processes used $other cores during the run; measuring again" | tee -a "$out"
                attempt=$((attempt + 1))
                continue
            fi
            break
        done
        local rss_b rss_a hwm
        rss_b=${before% *}; rss_a=${after% *}; hwm=${after#* }
        echo "| $backend | $what | $conns | $rps | $(ms "$p50") | $(ms "$p90") | $(ms "$p99") | $(ms "$p999") | $(ms "$maxl") | $errs ($status) | $cpu | $rss_b → $rss_a | $hwm |" >>"$SUMMARY"

        if [ -n "$target" ]; then
            local verdict
            verdict=$(awk -v p="$p99" -v t="$target" 'BEGIN { if (p/1000 < t) printf "met"; else printf "MISSED by %.2f ms (%.1fx)", p/1000 - t, p/1000/t }')
            VERDICTS+=("$backend $ep: p99 $(ms "$p99") ms at $conns clients vs < $target ms at $(endpoint_spec "$ep" | cut -d'|' -f8) clients: $verdict")
        fi
    done

    local final hwm
    final=$(rss_of "$SERVER_PID")
    hwm=${final#* }
    VERDICTS+=("$backend: peak server RSS (VmHWM) $hwm MB vs < $RSS_TARGET_MB MB: $(awk -v h="$hwm" -v t="$RSS_TARGET_MB" 'BEGIN { if (h < t) printf "met"; else printf "MISSED by %.1f MB", h - t }')")
    VERDICTS+=("$backend: seeding took $seed_secs s")
    stop_server
}

for b in "${backends[@]}"; do
    run_backend "$b"
done

{
    echo
    echo "Targets (p99 < 20 ms at 64 clients on list_api and detail_html; p99 < 15 ms at 32 clients on charter_html; server RSS < $RSS_TARGET_MB MB):"
    echo
    for v in "${VERDICTS[@]}"; do echo "- $v"; done
} >>"$SUMMARY"

echo
echo "==================== summary (also in ${SUMMARY#"$ROOT"/})"
cat "$SUMMARY"
