#!/usr/bin/env bash
# Benchmark of partner discovery at national scale (issue 8, "Speed and memory"): Concord and
# DuckDB side by side, in one run, on the same generated NPPES file.
#
#   bench/market.sh            # 9,000,000 rows (the national file's size, ~10.9 GB)
#   bench/market.sh 1000000    # a smaller file
#
# Targets: importing the full NPPES file into SQLite at no less than 1.5x the speed of DuckDB
# loading the same columns from the same file into a table, with peak memory under 1 GiB; a
# market scan (radius 25 miles, one capability) p95 under 10 ms over the national data and at
# least 20x faster than the same question asked of DuckDB over its table.
#
# Steps:
#   1. build `concord` and the examples `nppes_gen` and `scan_bench` (release), create the DuckDB
#      virtual environment bench/.venv from bench/requirements-market.txt, install GNU time when
#      /usr/bin/time is missing (apt-get, as root);
#   2. generate the file with `examples/nppes_gen --rows ROWS --seed SEED` (330 columns, every
#      value quoted), or reuse it when it is already there ($BENCH_DATA/npidata_pfile_synth_*.csv);
#   3. DuckDB: `CREATE TABLE providers AS SELECT <the 33 columns Concord reads> FROM read_csv(FILE,
#      all_varchar=true)` into a fresh database file, with $BENCH_THREADS threads (default: every
#      core), timed inside the process (bench/market_duckdb.py load), under /usr/bin/time -v;
#   4. Concord: a fresh SQLite database, `concord market import zip`, `... taxonomy`, then
#      `concord market import nppes FILE` timed (wall clock of the whole process) under
#      /usr/bin/time -v for its peak RSS;
#   5. origins: $BENCH_ORIGINS practice ZIPs of active providers drawn weighted by provider count
#      (seeded), from DuckDB's table; the capability's taxonomy codes are read from Concord's
#      imported taxonomy (market_taxonomy of the active version), so both answer the same question;
#   6. scans: `examples/scan_bench` (Store::market_rank through the store, one call at a time) and
#      the same question in DuckDB SQL (haversine over the ZIP centroid table, any of the 15
#      taxonomy slots in the capability's codes, grouped into organizations and practices), each
#      after a warm-up;
#   7. a summary table with each target met or missed: bench/out/market-<UTC>/summary.md (the
#      generated file and both databases stay under $BENCH_DATA unless BENCH_CLEAN=1).
#
# Before each load the file is read once (cat > /dev/null) so both tools start from the same page
# cache; before the Concord scan the SQLite file is read once the same way (DuckDB's table is in
# its buffer pool after its first query). For every timed step the script records the CPU used by everything else on the machine
# (total busy CPU from /proc/stat minus the step's own user+system time): a step during which
# other processes used more than BENCH_OTHER_MAX cores is flagged in the summary.
#
# Settings (environment):
#   BENCH_DATA         where the big files go (default: ../bench-data beside the repository)
#   SHARED_DATA        the real reference files (default: ../shared/data beside the repository)
#   BENCH_SEED         generator seed (default 8)
#   BENCH_THREADS      DuckDB threads (default: nproc)
#   BENCH_ORIGINS      scan origins (default 200); BENCH_RADIUS miles (25);
#   BENCH_CAPABILITY   capability code (default dental); BENCH_WARMUP origins (10);
#   BENCH_PASSES       measured passes over the origins (default 1)
#   BENCH_MAX_BAD_ROWS passed to concord market import nppes --max-bad-rows (default 1000)
#   BENCH_WAIT_IDLE=N  before each timed step wait up to N s for the machine to be idle (under
#                      0.1 core busy for 3 s) (default 0: do not wait)
#   BENCH_OTHER_MAX    cores used by other processes above which a step is flagged (0.15)
#   BENCH_REGENERATE=1 write the file again even when it exists
#   BENCH_CLEAN=1      delete the generated file and both databases at the end
#   BENCH_SKIP_BUILD=1 use the binaries already built
#   CARGO_TARGET_DIR   where cargo builds (default target/)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ROWS="${1:-9000000}"
case "$ROWS" in '' | *[!0-9]*) echo "usage: bench/market.sh [ROWS]" >&2; exit 2 ;; esac
SEED="${BENCH_SEED:-8}"
DATA="${BENCH_DATA:-$ROOT/../bench-data}"
SHARED="${SHARED_DATA:-$ROOT/../shared/data}"
THREADS="${BENCH_THREADS:-$(nproc)}"
ORIGINS="${BENCH_ORIGINS:-200}"
RADIUS="${BENCH_RADIUS:-25}"
CAPABILITY="${BENCH_CAPABILITY:-dental}"
WARMUP="${BENCH_WARMUP:-10}"
PASSES="${BENCH_PASSES:-1}"
MAX_BAD="${BENCH_MAX_BAD_ROWS:-1000}"
OTHER_MAX="${BENCH_OTHER_MAX:-0.15}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
CLK_TCK="$(getconf CLK_TCK)"

mkdir -p "$DATA"
DATA="$(cd "$DATA" && pwd)"
SHARED="$(cd "$SHARED" && pwd)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$ROOT/bench/out/market-$STAMP"
mkdir -p "$OUT"
LOG="$OUT/log.txt"
exec > >(tee -a "$LOG") 2>&1

say() { printf '\n== %s\n' "$*"; }

# ---------------------------------------------------------------------------------------------
# 1. Tools

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    say "building (release)"
    cargo build --release -p concord
    cargo build --release -p concord-storage --example nppes_gen --example scan_bench
fi
CONCORD="$TARGET/release/concord"
GEN="$TARGET/release/examples/nppes_gen"
SCAN="$TARGET/release/examples/scan_bench"
for b in "$CONCORD" "$GEN" "$SCAN"; do
    [ -x "$b" ] || { echo "missing $b (build it, or unset BENCH_SKIP_BUILD)" >&2; exit 1; }
done

VENV="$ROOT/bench/.venv"
if ! "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
    say "creating $VENV (duckdb from bench/requirements-market.txt)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet -r "$ROOT/bench/requirements-market.txt"
fi
PY="$VENV/bin/python"
DUCK="$ROOT/bench/market_duckdb.py"

if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y time >/dev/null
    else
        echo "GNU time (/usr/bin/time) is needed: apt-get install time" >&2
        exit 1
    fi
fi

# ---------------------------------------------------------------------------------------------
# Measuring helpers

busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

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
    echo "(the machine did not become idle within $limit s; measuring anyway)"
}

# timed NAME CMD...: runs CMD under /usr/bin/time -v (its output to $OUT/NAME.out), and sets
# T_WALL (s), T_CPU (user+sys s), T_RSS_KB, T_OTHER (cores used by other processes).
timed() {
    local name="$1"
    shift
    wait_idle
    local a b
    a=$(busy_ticks)
    /usr/bin/time -v -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>&1 || {
        echo "$name failed:" >&2
        tail -30 "$OUT/$name.out" >&2
        exit 1
    }
    b=$(busy_ticks)
    T_WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' \
        "$OUT/$name.time")
    T_CPU=$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {printf "%.2f", u + s}' \
        "$OUT/$name.time")
    T_RSS_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/$name.time")
    T_OTHER=$(awk -v a="$a" -v b="$b" -v t="$CLK_TCK" -v c="$T_CPU" -v w="$T_WALL" \
        'BEGIN { o = ((b - a) / t - c) / (w > 0 ? w : 1); if (o < 0) o = 0; printf "%.2f", o }')
    echo "$name: wall $T_WALL s, cpu $T_CPU s, peak RSS $((T_RSS_KB / 1024)) MiB, other processes $T_OTHER cores"
    cat "$OUT/$name.out"
}

flag_other() {
    awk -v o="$1" -v m="$OTHER_MAX" 'BEGIN {exit !(o > m)}' && echo " (other processes: $1 cores)" || true
}

json_get() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
json_get2() {
    "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])' "$1" "$2" "$3"
}

# ---------------------------------------------------------------------------------------------
# 2. The file

FILE="$DATA/npidata_pfile_synth_${ROWS}_s${SEED}.csv"
if [ ! -s "$FILE" ] || [ "${BENCH_REGENERATE:-0}" = 1 ]; then
    say "generating $FILE"
    timed generate "$GEN" --rows "$ROWS" --seed "$SEED" --data "$SHARED" --out "$FILE.tmp"
    mv "$FILE.tmp" "$FILE"
    GEN_LINE="generated in $T_WALL s"
else
    GEN_LINE="reused"
fi
FILE_BYTES=$(stat -c %s "$FILE")
FILE_GB=$(awk -v b="$FILE_BYTES" 'BEGIN {printf "%.2f", b / 1e9}')
echo "file: $FILE ($FILE_BYTES bytes, $ROWS rows, $GEN_LINE)"

warm_file() { cat "$FILE" >/dev/null; }

# ---------------------------------------------------------------------------------------------
# 3. DuckDB load

DUCKDB_FILE="$DATA/market-$ROWS.duckdb"
rm -f "$DUCKDB_FILE" "$DUCKDB_FILE.wal"
say "DuckDB $("$PY" -c 'import duckdb; print(duckdb.__version__)'): loading the file ($THREADS threads)"
warm_file
timed duckdb_load "$PY" "$DUCK" load --file "$FILE" --db "$DUCKDB_FILE" \
    --zips "$SHARED/geo/zcta_centroids_2023_gazetteer.csv" --threads "$THREADS" --json "$OUT/duckdb_load.json"
DUCK_SECS=$(json_get "$OUT/duckdb_load.json" seconds)
DUCK_ROWS=$(json_get "$OUT/duckdb_load.json" rows)
DUCK_WALL=$T_WALL
DUCK_CPU=$T_CPU
DUCK_RSS=$((T_RSS_KB / 1024))
DUCK_OTHER=$T_OTHER
DUCK_SIZE=$(du -cm "$DUCKDB_FILE"* | tail -1 | cut -f1)

# ---------------------------------------------------------------------------------------------
# 4. Concord import

SQLITE_FILE="$DATA/market-$ROWS.db"
rm -f "$SQLITE_FILE" "$SQLITE_FILE-wal" "$SQLITE_FILE-shm"
URL="sqlite://$SQLITE_FILE"
say "Concord: fresh SQLite database, ZIP centroids and taxonomy"
"$CONCORD" --database-url "$URL" migrate
timed concord_zip "$CONCORD" --database-url "$URL" market import zip \
    "$SHARED/geo/zcta_centroids_2023_gazetteer.csv" --quiet
timed concord_taxonomy "$CONCORD" --database-url "$URL" market import taxonomy \
    "$SHARED/taxonomy/nucc_taxonomy_251.csv" --quiet
say "Concord: importing the NPPES file"
warm_file
timed concord_nppes "$CONCORD" --database-url "$URL" market import nppes "$FILE" --quiet \
    --max-bad-rows "$MAX_BAD"
CON_WALL=$T_WALL
CON_CPU=$T_CPU
CON_RSS=$((T_RSS_KB / 1024))
CON_OTHER=$T_OTHER
CON_SIZE=$(du -cm "$SQLITE_FILE"* | tail -1 | cut -f1)

# What the import reported, from market_sources.
read -r CON_READ CON_LOADED CON_REJECTED < <("$PY" - "$SQLITE_FILE" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(*con.execute("SELECT rows_read, rows_loaded, rows_rejected FROM market_sources WHERE source = 'nppes'").fetchone())
EOF
)
CON_CANDIDATES=$("$PY" - "$SQLITE_FILE" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(con.execute("SELECT count(*) FROM market_candidates c JOIN market_sources s ON s.source = c.source AND s.version = c.version WHERE c.source = 'nppes'").fetchone()[0])
EOF
)

# ---------------------------------------------------------------------------------------------
# 5. Origins and the capability's taxonomy codes

say "scan origins and the taxonomy codes of $CAPABILITY"
"$PY" "$DUCK" origins --db "$DUCKDB_FILE" --count "$ORIGINS" --seed 42 --out "$OUT/origins.csv"
"$PY" - "$SQLITE_FILE" "$CAPABILITY" >"$OUT/codes.txt" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
for (code,) in con.execute(
    "SELECT t.code FROM market_taxonomy t JOIN market_sources s ON s.source = 'taxonomy' "
    "AND s.version = t.version WHERE t.capability_code = ? ORDER BY t.code", (sys.argv[2],)):
    print(code)
EOF
CODES=$(wc -l <"$OUT/codes.txt")
[ "$CODES" -gt 0 ] || { echo "no taxonomy code maps to $CAPABILITY" >&2; exit 1; }
echo "$CODES taxonomy codes: $(tr '\n' ' ' <"$OUT/codes.txt")"

# ---------------------------------------------------------------------------------------------
# 6. Scans

say "Concord scan (Store::market_rank), $ORIGINS origins, $RADIUS miles, $CAPABILITY"
# Steady state: the database in the page cache, as DuckDB's table is in its buffer pool after
# its first query.
cat "$SQLITE_FILE" >/dev/null
timed concord_scan "$SCAN" --database-url "$URL" --origins "$OUT/origins.csv" \
    --capability "$CAPABILITY" --radius "$RADIUS" --warmup "$WARMUP" --passes "$PASSES" \
    --json "$OUT/concord_scan.json"
CS_OTHER=$T_OTHER
CS_P50=$(json_get2 "$OUT/concord_scan.json" rank p50_ms)
CS_P95=$(json_get2 "$OUT/concord_scan.json" rank p95_ms)
CS_P99=$(json_get2 "$OUT/concord_scan.json" rank p99_ms)
CS_NEAR95=$(json_get2 "$OUT/concord_scan.json" near p95_ms)
CS_RESULTS=$(json_get "$OUT/concord_scan.json" mean_results)
CS_RSS=$((T_RSS_KB / 1024))

say "DuckDB scan, same origins and codes ($THREADS threads)"
timed duckdb_scan "$PY" "$DUCK" scan --db "$DUCKDB_FILE" --origins "$OUT/origins.csv" \
    --codes "$OUT/codes.txt" --radius "$RADIUS" --warmup "$WARMUP" --passes "$PASSES" \
    --threads "$THREADS" --json "$OUT/duckdb_scan.json"
DS_OTHER=$T_OTHER
DS_P50=$(json_get "$OUT/duckdb_scan.json" p50_ms)
DS_P95=$(json_get "$OUT/duckdb_scan.json" p95_ms)
DS_P99=$(json_get "$OUT/duckdb_scan.json" p99_ms)
DS_RESULTS=$(json_get "$OUT/duckdb_scan.json" mean_results)

# ---------------------------------------------------------------------------------------------
# 7. Summary

IMPORT_RATIO=$(awk -v d="$DUCK_SECS" -v c="$CON_WALL" 'BEGIN {printf "%.2f", d / c}')
SCAN_RATIO=$(awk -v d="$DS_P95" -v c="$CS_P95" 'BEGIN {printf "%.1f", d / c}')
verdict() { # verdict OK TEXT-IF-MET TEXT-IF-MISSED
    if [ "$1" = 1 ]; then echo "**met**: $2"; else echo "**missed**: $3"; fi
}
ok() { awk "BEGIN {exit !($1)}" && echo 1 || echo 0; }
V_IMPORT=$(verdict "$(ok "$IMPORT_RATIO >= 1.5")" "${IMPORT_RATIO}x" \
    "${IMPORT_RATIO}x, short of 1.5x by $(awk -v r="$IMPORT_RATIO" 'BEGIN {printf "%.2f", 1.5 - r}')x (Concord would need $(awk -v d="$DUCK_SECS" 'BEGIN {printf "%.1f", d / 1.5}') s)")
V_MEM=$(verdict "$(ok "$CON_RSS < 1024")" "peak $CON_RSS MiB" "peak $CON_RSS MiB, over by $((CON_RSS - 1024)) MiB")
V_P95=$(verdict "$(ok "$CS_P95 < 10")" "p95 $CS_P95 ms" \
    "p95 $CS_P95 ms, over by $(awk -v p="$CS_P95" 'BEGIN {printf "%.2f", p - 10}') ms")
V_SCAN=$(verdict "$(ok "$SCAN_RATIO >= 20")" "${SCAN_RATIO}x" "${SCAN_RATIO}x, short of 20x")
MB_S() { awk -v b="$FILE_BYTES" -v s="$1" 'BEGIN {printf "%.0f", b / 1e6 / s}'; }
ROWS_S() { awk -v r="$ROWS" -v s="$1" 'BEGIN {printf "%.0f", r / s}'; }

cat >"$OUT/summary.md" <<EOF
### bench/market.sh $ROWS — $STAMP

Machine: $(nproc) vCPU ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM. DuckDB $("$PY" -c 'import duckdb; print(duckdb.__version__)') with $THREADS threads.
File: \`$(basename "$FILE")\`, $ROWS rows + header, $FILE_BYTES bytes ($FILE_GB GB), seed $SEED ($GEN_LINE).

| step | DuckDB | Concord (SQLite) |
| --- | ---: | ---: |
| load / import the NPPES file | $DUCK_SECS s (CREATE TABLE … AS SELECT … FROM read_csv; process $DUCK_WALL s, $DUCK_CPU s CPU)$(flag_other "$DUCK_OTHER") | $CON_WALL s (\`concord market import nppes\`, whole process, $CON_CPU s CPU)$(flag_other "$CON_OTHER") |
| throughput | $(MB_S "$DUCK_SECS") MB/s, $(ROWS_S "$DUCK_SECS") rows/s | $(MB_S "$CON_WALL") MB/s, $(ROWS_S "$CON_WALL") rows/s |
| peak RSS | $DUCK_RSS MiB | $CON_RSS MiB |
| rows | $DUCK_ROWS in the table | $CON_READ read, $CON_LOADED loaded, $CON_REJECTED rejected; $CON_CANDIDATES NPPES candidates |
| database on disk | $DUCK_SIZE MiB | $CON_SIZE MiB |
| scan: $CAPABILITY within $RADIUS miles, $ORIGINS origins × $PASSES, p50 / p95 / p99 | $DS_P50 / **$DS_P95** / $DS_P99 ms$(flag_other "$DS_OTHER") | $CS_P50 / **$CS_P95** / $CS_P99 ms (index read alone p95 $CS_NEAR95 ms; process peak RSS $CS_RSS MiB)$(flag_other "$CS_OTHER") |
| results per scan (mean) | $DS_RESULTS | $CS_RESULTS |

| target | result |
| --- | --- |
| import ≥ 1.5× DuckDB's load speed (DuckDB time / Concord time) | $V_IMPORT |
| import peak memory < 1 GiB | $V_MEM |
| scan p95 < 10 ms | $V_P95 |
| scan ≥ 20× faster than DuckDB (DuckDB p95 / Concord p95) | $V_SCAN |

Raw output: \`bench/out/market-$STAMP/\`.
EOF

say "summary"
cat "$OUT/summary.md"

if [ "${BENCH_CLEAN:-0}" = 1 ]; then
    rm -f "$FILE" "$DUCKDB_FILE" "$DUCKDB_FILE.wal" "$SQLITE_FILE" "$SQLITE_FILE-wal" "$SQLITE_FILE-shm"
    echo "deleted the generated file and both databases"
fi
