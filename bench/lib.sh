# Shared helpers for bench/crash.sh and bench/soak.sh (sourced, not run).
#
# Expects ROOT (the repository) to be set. Settings it reads:
#   BENCH_TARGET_DIR (or CARGO_TARGET_DIR)  where the release binaries are built (default target/)
#   BENCH_SKIP_BUILD=1                      use the binaries already built
#   BENCH_POSTGRES_URL                      PostgreSQL server without a database name

BENCH_TARGET_DIR="${BENCH_TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}}"
CONCORD="$BENCH_TARGET_DIR/release/concord"
SEEDER="$BENCH_TARGET_DIR/release/examples/seed_bench"
PG_SERVER="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
PG_SERVER="${PG_SERVER%/}"

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 1; }; }

# bench_build [cargo build arguments for extra targets]: concord and seed_bench, release.
bench_build() {
    if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
        echo "== cargo build --release (target dir $BENCH_TARGET_DIR)"
        CARGO_TARGET_DIR="$BENCH_TARGET_DIR" cargo build --release -p concord --bin concord \
            -p concord-storage --example seed_bench "$@"
    fi
    [ -x "$CONCORD" ] && [ -x "$SEEDER" ] || { echo "missing $CONCORD or $SEEDER" >&2; exit 1; }
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# VmRSS of a process in MB.
rss_mb() { awk '/^VmRSS:/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

machine_line() {
    echo "$(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, load $(cut -d' ' -f1-3 /proc/loadavg); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' + working tree changes')"
}

# fresh_db BACKEND NAME: prints the URL of a new, empty database (SQLite: $RUN_DIR/NAME.db;
# PostgreSQL: database NAME dropped and recreated).
fresh_db() {
    case "$1" in
        sqlite)
            rm -f "$RUN_DIR/$2.db" "$RUN_DIR/$2.db-wal" "$RUN_DIR/$2.db-shm"
            echo "sqlite://$RUN_DIR/$2.db"
            ;;
        postgres)
            psql "$PG_SERVER/postgres" -v ON_ERROR_STOP=1 -q \
                -c "DROP DATABASE IF EXISTS $2 WITH (FORCE)" -c "CREATE DATABASE $2" >&2
            echo "$PG_SERVER/$2"
            ;;
    esac
}

# A random password long enough for the account rules.
bench_password() { python3 -c 'import secrets; print("bench-" + secrets.token_urlsafe(24))'; }

# make_user URL EMAIL PASSWORD ORG ROLE SCOPE: creates the account, prints an API token.
make_user() {
    printf '%s\n' "$3" | "$CONCORD" --database-url "$1" user add --email "$2" --name "Bench $5" \
        --org "$4" --role "$5" --password-stdin >/dev/null
    "$CONCORD" --database-url "$1" token create --email "$2" --org "$4" --scope "$6" \
        --name "bench" 2>/dev/null | tail -1
}

# sign_in BASE EMAIL PASSWORD: prints the session cookie's value.
sign_in() {
    curl -sS -o /dev/null -D - --data-urlencode "email=$2" --data-urlencode "password=$3" "$1/sign-in" |
        sed -n 's/^[Ss]et-[Cc]ookie: concord_session=\([^;]*\).*/\1/p' | tr -d '\r' | head -1
}

# start_server URL PORT LOG: starts `concord serve` in the background (SERVER_PID) and waits
# until /readyz answers 200 (up to 60 s). Returns 1 when it does not.
SERVER_PID=""
start_server() {
    RUST_LOG="${RUST_LOG:-warn}" "$CONCORD" serve --database-url "$1" --bind "127.0.0.1:$2" >>"$3" 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 1 600); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$2/readyz")" = 200 ]; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited; see $3" >&2; tail -20 "$3" >&2; return 1; }
        sleep 0.1
    done
    echo "server did not become ready in 60 s" >&2
    return 1
}

# stop_server: SIGTERM, then SIGKILL after 5 s.
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    [ -z "$SERVER_PID" ] || wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
