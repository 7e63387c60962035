#!/usr/bin/env bash
# Benchmark of the portfolio dashboard (issue 6, "Speed"), on SQLite and/or PostgreSQL.
#
#   bench/portfolio.sh                 # SQLite
#   bench/portfolio.sh postgres        # PostgreSQL only
#   bench/portfolio.sh sqlite postgres # both
#
# Target: the portfolio dashboard of an organization in 1,000 partnerships (1.2 million metric
# entries, 50,000 survey answers): p99 < 100 ms at 32 concurrent clients.
#
# For each backend: build release (`concord`, `examples/seed_bench`), create a fresh database,
# seed it with `seed_bench --hub --charters N --ledger N` (2,000 organizations, 1,000
# partnerships all with organization 1, the hub, each with a signed charter of 20 monthly
# metrics and 60 monthly values per metric: 1.2 million ledger entries, through the store), then
# add the survey answers with plain SQL (two closed rounds per partnership, 25 respondents each
# alternating between the first two parties: 50,000 answers; the health triggers fire as for any
# write), create a viewer of the hub with a read API token, start `concord serve`, sign in for a
# session cookie, and:
#   (a) time the first dashboard request (every partnership's health computed and cached);
#   (b) warm up, then wrk at 32 connections for BENCH_DURATION on `GET /` (the page, session
#       cookie) and on `GET /api/v1/portfolio` (JSON, every row; bearer token);
#   (c) `GET /?sort=health&dir=asc&warnings=true` (filtered and sorted) the same way;
#   (d) freshness: report one metric value through the API and time the next dashboard request
#       (the memo is rebuilt; the partnership's health recomputed).
# Everything goes under bench/out/portfolio-<UTC>/ with a summary.md.
#
# Settings (environment):
#   BENCH_POSTGRES_URL   PostgreSQL server without a database name (default
#                        postgres://postgres@127.0.0.1:5432); database `concord_bench_portfolio`
#                        on it is DROPPED and recreated.
#   BENCH_ORGS, BENCH_PARTNERSHIPS, BENCH_SEED   (2000, 1000, 42)
#   BENCH_PERIODS        monthly values per metric (60, from 2021-12: the last in 2026-11)
#   BENCH_RESPONDENTS    survey respondents per round (25; two rounds per partnership)
#   BENCH_CONNECTIONS, BENCH_THREADS, BENCH_DURATION, BENCH_WARMUP   (32, 2, 30s, 5s)
#   BENCH_SKIP_BUILD=1   use the binaries already built
#   CARGO_TARGET_DIR     where cargo builds (default target/)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ORGS="${BENCH_ORGS:-2000}"
PARTNERSHIPS="${BENCH_PARTNERSHIPS:-1000}"
SEED="${BENCH_SEED:-42}"
PERIODS="${BENCH_PERIODS:-60}"
LEDGER_FROM="${BENCH_LEDGER_FROM:-2021-12}"
RESPONDENTS="${BENCH_RESPONDENTS:-25}"
CONNS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"
DURATION="${BENCH_DURATION:-30s}"
WARMUP="${BENCH_WARMUP:-5s}"
PG_SERVER="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
PG_SERVER="${PG_SERVER%/}"
PG_DB=concord_bench_portfolio
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
P99_TARGET_MS=100

backends=()
for a in "$@"; do
    case "$a" in
        sqlite | postgres) backends+=("$a") ;;
        all | both) backends+=(sqlite postgres) ;;
        -h | --help)
            sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "unknown argument: $a (expected sqlite, postgres or both)" >&2
            exit 2
            ;;
    esac
done
[ ${#backends[@]} -gt 0 ] || backends=(sqlite)

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 1; }; }
if ! command -v wrk >/dev/null 2>&1; then
    echo "wrk not found; installing it from Debian (apt-get install wrk)" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >&2; else sudo apt-get install -y wrk >&2; fi
fi
need wrk "apt-get install wrk"
need curl "apt-get install curl"
need python3 "apt-get install python3"
for b in "${backends[@]}"; do
    case "$b" in
        sqlite) need sqlite3 "apt-get install sqlite3" ;;
        postgres) need psql "apt-get install postgresql-client" ;;
    esac
done

RUN_DIR="$ROOT/bench/out/portfolio-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"
echo "output: ${RUN_DIR#"$ROOT"/}"

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    echo "== cargo build --release (target dir $TARGET_DIR)"
    CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --bin concord
    CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release -p concord-storage --example seed_bench
fi
CONCORD="$TARGET_DIR/release/concord"
SEEDER="$TARGET_DIR/release/examples/seed_bench"
[ -x "$CONCORD" ] && [ -x "$SEEDER" ] || { echo "missing $CONCORD or $SEEDER" >&2; exit 1; }

cat >"$RUN_DIR/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d errors=%d status_errors=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status))
end
EOF

# The survey answers: plain SQL, the same text for both databases (timestamps as ISO text).
survey_sql() {
    local ts1 ts2
    if [ "$1" = sqlite ]; then
        ts1="'2026-05-01T09:00:00+00:00'"
        ts2="'2026-10-01T09:00:00+00:00'"
    else
        ts1="TIMESTAMPTZ '2026-05-01 09:00:00+00'"
        ts2="TIMESTAMPTZ '2026-10-01 09:00:00+00'"
    fi
    local dims="trust communication shared_vision culture_fit governance value_realised fairness transparency innovation"
    local cols="" vals="" d=0
    for c in $dims; do
        cols="$cols, $c"
        # 1-5, varying by partnership, respondent and dimension; parties differ on some.
        vals="$vals, 1 + ((r.partnership_id * 7 + u.k * 3 + $d * 5 + (u.k % 2) * (r.partnership_id % 3)) % 5)"
        d=$((d + 1))
    done
    cat <<EOF
INSERT INTO survey_rounds (partnership_id, number, title, status, opened_at, opened_by_name, closed_at)
    SELECT id, 1, 'Spring pulse', 'closed', $ts1, 'Benchmark', $ts1 FROM partnerships;
INSERT INTO survey_rounds (partnership_id, number, title, status, opened_at, opened_by_name, closed_at)
    SELECT id, 2, 'Autumn pulse', 'closed', $ts2, 'Benchmark', $ts2 FROM partnerships;
WITH u AS (SELECT id AS user_id, ROW_NUMBER() OVER (ORDER BY id) AS k FROM users ORDER BY id LIMIT $RESPONDENTS)
INSERT INTO survey_responses (round_id, partnership_id, organization_id, user_id$cols, comment, submitted_at)
    SELECT r.id, r.partnership_id,
           CASE WHEN u.k % 2 = 0
                THEN (SELECT MIN(pp.organization_id) FROM partnership_parties pp WHERE pp.partnership_id = r.partnership_id)
                ELSE (SELECT MAX(pp.organization_id) FROM partnership_parties pp WHERE pp.partnership_id = r.partnership_id)
           END,
           u.user_id$vals, '', r.opened_at
    FROM survey_rounds r CROSS JOIN u;
SELECT COUNT(*) FROM survey_responses;
EOF
}

SUMMARY="$RUN_DIR/summary.md"
{
    echo "# Concord portfolio dashboard benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "- machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, load before: $(cut -d' ' -f1-3 /proc/loadavg); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' + working tree changes')"
    echo "- data: $ORGS organizations, $PARTNERSHIPS partnerships (seed $SEED) all with the hub, each with a signed charter of 20 monthly metrics and $PERIODS values per metric from $LEDGER_FROM; 2 closed survey rounds x $RESPONDENTS answers per partnership"
    echo "- wrk -t$THREADS -c$CONNS -d$DURATION after a $WARMUP warm-up; wrk, the server (and PostgreSQL) share the machine"
    echo
    echo "| backend | request | n | p50 | p90 | p99 | max | req/s | errors | bytes/answer |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} >"$SUMMARY"
VERDICTS=()

SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM

ms() { awk -v us="$1" 'BEGIN {printf "%.1f", us/1000}'; }

run_backend() {
    local backend="$1" url
    echo
    echo "==================== $backend"
    case "$backend" in
        sqlite)
            url="sqlite://$RUN_DIR/portfolio.db"
            ;;
        postgres)
            psql "$PG_SERVER/postgres" -v ON_ERROR_STOP=1 -q \
                -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" -c "CREATE DATABASE $PG_DB"
            url="$PG_SERVER/$PG_DB"
            ;;
    esac
    local seed_log="$RUN_DIR/$backend-seed.log" t0 t1
    t0=$(date +%s.%N)
    echo "== seed_bench (1.2M ledger entries through the store)"
    "$SEEDER" --database-url "$url" --orgs "$ORGS" --partnerships "$PARTNERSHIPS" --seed "$SEED" --hub \
        --charters "$PARTNERSHIPS" --ledger "$PARTNERSHIPS" --ledger-periods "$PERIODS" \
        --ledger-from "$LEDGER_FROM" 2>&1 | tee "$seed_log"
    echo "== survey answers (SQL)"
    survey_sql "$backend" >"$RUN_DIR/$backend-survey.sql"
    local answers
    if [ "$backend" = sqlite ]; then
        answers=$(sqlite3 "$RUN_DIR/portfolio.db" <"$RUN_DIR/$backend-survey.sql" | tail -1)
    else
        answers=$(psql "$url" -v ON_ERROR_STOP=1 -qtA -f "$RUN_DIR/$backend-survey.sql" | tail -1)
        psql "$url" -q -c "VACUUM ANALYZE"
    fi
    t1=$(date +%s.%N)
    local entries hub
    entries=$(sed -n 's/^ledger: \([0-9]*\) entries.*/\1/p' "$seed_log")
    hub=$(sed -n 's/^hub organization: \([0-9]*\) .*/\1/p' "$seed_log")
    echo "seeded: $entries ledger entries, $answers survey answers, in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", b-a}') s"

    local email="portfolio-bench@concord.test" password
    password="bench-$(head -c 32 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 20)x7Q"
    printf '%s\n' "$password" | "$CONCORD" --database-url "$url" user add --email "$email" \
        --name "Portfolio benchmark" --org "$hub" --role viewer --password-stdin >/dev/null
    local token
    token=$("$CONCORD" --database-url "$url" token create --email "$email" --org "$hub" \
        --scope read --name "portfolio benchmark" 2>/dev/null | tail -1)
    local writer_email="portfolio-writer@concord.test" writer
    printf '%s\n' "$password" | "$CONCORD" --database-url "$url" user add --email "$writer_email" \
        --name "Portfolio writer" --org "$hub" --role contributor --password-stdin >/dev/null
    writer=$("$CONCORD" --database-url "$url" token create --email "$writer_email" --org "$hub" \
        --scope read-write --name "portfolio benchmark writer" 2>/dev/null | tail -1)

    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
    local base="http://127.0.0.1:$port"
    RUST_LOG=warn "$CONCORD" serve --database-url "$url" --bind "127.0.0.1:$port" >>"$RUN_DIR/$backend-server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
    local session
    session=$(curl -sS -o /dev/null -D - --data-urlencode "email=$email" --data-urlencode "password=$password" \
        "$base/sign-in" | sed -n 's/^[Ss]et-[Cc]ookie: concord_session=\([^;]*\).*/\1/p' | tr -d '\r' | head -1)
    [ -n "$session" ] || { echo "could not sign in" >&2; exit 1; }
    local page_hdr=(-H "Cookie: concord_session=$session") api_hdr=(-H "Authorization: Bearer $token")

    # (a) The first request computes and caches every partnership's health.
    local r
    r=$(curl -sS -o "$RUN_DIR/$backend-first.html" -w '%{http_code} %{time_total}' --max-time 900 "${page_hdr[@]}" "$base/")
    echo "first dashboard request: HTTP ${r% *} in ${r#* } s"
    echo "- $backend: first dashboard request (health of every partnership computed and cached): HTTP ${r% *} in ${r#* } s" >>"$RUN_DIR/notes.md"
    r=$(curl -sS -o "$RUN_DIR/$backend-second.html" -w '%{http_code} %{time_total}' "${page_hdr[@]}" "$base/")
    echo "- $backend: second request: HTTP ${r% *} in ${r#* } s; $(grep -o 'id="pf-total">[0-9]*' "$RUN_DIR/$backend-second.html" | sed 's/.*>//') partnerships shown in total, $(grep -c 'id="pf-row-' "$RUN_DIR/$backend-second.html") rows on the page" >>"$RUN_DIR/notes.md"

    measure() {
        local name="$1" path="$2"
        shift 2
        local hdr=("$@") out="$RUN_DIR/$backend-$name.txt" code bytes
        code=$(curl -sS -o "$RUN_DIR/.probe" -w '%{http_code}' "${hdr[@]}" "$base$path")
        bytes=$(wc -c <"$RUN_DIR/.probe")
        [ "$code" = 200 ] || { echo "$path answered $code" >&2; exit 1; }
        echo "== $backend $name: $path ($bytes bytes)"
        wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "${hdr[@]}" -s "$RUN_DIR/report.lua" "$base$path" >"$out.warmup" 2>&1
        wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${hdr[@]}" -s "$RUN_DIR/report.lua" "$base$path" | tee "$out"
        local line get
        line=$(grep '^BENCH_RESULT' "$out" | tail -1)
        get() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$line"; }
        local reqs dur p99
        reqs=$(get requests); dur=$(get duration_us); p99=$(get p99_us)
        echo "| $backend | \`GET $path\` | $reqs | $(ms "$(get p50_us)") ms | $(ms "$(get p90_us)") ms | **$(ms "$p99") ms** | $(ms "$(get max_us)") ms | $(awk -v r="$reqs" -v d="$dur" 'BEGIN {printf "%.0f", r/(d/1e6)}') | $(get errors) ($(get status_errors)) | $bytes |" >>"$SUMMARY"
        VERDICTS+=("$backend $name: p99 $(ms "$p99") ms at $CONNS clients vs < $P99_TARGET_MS ms: $(awk -v p="$p99" -v t="$P99_TARGET_MS" 'BEGIN { if (p/1000 < t) printf "met"; else printf "MISSED (%.1fx)", p/1000/t }')")
    }
    measure page "/" "${page_hdr[@]}"
    measure api "/api/v1/portfolio" "${api_hdr[@]}"
    measure filtered "/?sort=health&dir=asc&warnings=true" "${page_hdr[@]}"

    # (d) Freshness: one new value, then the next dashboard request.
    local pid=1 metric
    metric=$(curl -fsS "${api_hdr[@]}" "$base/api/v1/partnerships/$pid/metrics" | python3 -c '
import json, sys
o = json.load(sys.stdin)
hub = int(sys.argv[1])
ms = [m["metric"] for m in o["metrics"] if m["metric"].get("owner") == hub and m["metric"].get("cadence") == "monthly"]
print(ms[0]["id"] if ms else "")' "$hub")
    if [ -n "$metric" ]; then
        local before after code
        before=$(grep -o "id=\"pf-row-$pid\"" "$RUN_DIR/.probe" | head -1 || true)
        code=$(curl -sS -o "$RUN_DIR/.append.json" -w '%{http_code}' -H "Authorization: Bearer $writer" \
            -H 'Content-Type: application/json' --data '{"period_start":"2021-11-01","value":1.5,"source":"bench"}' \
            "$base/api/v1/partnerships/$pid/metrics/$metric/values")
        r=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' "${page_hdr[@]}" "$base/")
        after=$(curl -sS -o /dev/null -w '%{time_total}' "${page_hdr[@]}" "$base/")
        echo "- $backend: a new value (HTTP $code) for metric $metric of partnership $pid, then the dashboard: HTTP ${r% *} in ${r#* } s (memo rebuilt, one partnership's health recomputed); the request after: $after s" >>"$RUN_DIR/notes.md"
    fi
    echo "- $backend: RSS after the run: $(awk '/^VmRSS:/ {printf "%.1f MB", $2/1024}' /proc/$SERVER_PID/status), peak $(awk '/^VmHWM:/ {printf "%.1f MB", $2/1024}' /proc/$SERVER_PID/status)" >>"$RUN_DIR/notes.md"
    stop_server
}

for b in "${backends[@]}"; do
    run_backend "$b"
done

{
    echo
    echo "Target (issue 6): the portfolio dashboard p99 < $P99_TARGET_MS ms at 32 clients."
    echo
    for v in "${VERDICTS[@]}"; do echo "- $v"; done
    echo
    [ -f "$RUN_DIR/notes.md" ] && cat "$RUN_DIR/notes.md"
} >>"$SUMMARY"
echo
echo "==================== summary (also in ${SUMMARY#"$ROOT"/})"
cat "$SUMMARY"
