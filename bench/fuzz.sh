#!/usr/bin/env bash
# Runs the proptest fuzz targets at length: every parser of outside input
# (crates/concord-domain/tests/fuzz_parsers.rs) and every write route's body
# (crates/concord-web/tests/fuzz_bodies.rs), each for FUZZ_SECONDS, and prints the cases run,
# the time taken and the result per target.
#
#   bench/fuzz.sh                      # both suites, 60 s per target
#   FUZZ_SECONDS=600 bench/fuzz.sh parsers
#   FUZZ_SECONDS=300 FUZZ_ROUTES=/journeys bench/fuzz.sh web   # one family of routes
#
# Environment:
#   FUZZ_SECONDS        seconds per target (default 60)
#   FUZZ_BATCH          cases per proptest run, repeated until the time is up (default 1000 for
#                       parsers, 200 for web bodies); sets CONCORD_FUZZ_CASES for the tests
#   FUZZ_TARGETS        only the targets (test names) matching this extended regex
#   FUZZ_ROUTES         web: only routes whose path contains this text
#   FUZZ_SKIP_ROUTES    web: skip routes whose path contains one of these (comma-separated)
#   CARGO_TARGET_DIR    where cargo builds (as usual)
#
# A summary is printed and written to bench/out/fuzz-<UTC time>.txt with each target's log
# beside it. The exit status is non-zero when a target failed; its log holds the shrunk input.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(parsers web)

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
out="bench/out/fuzz-$stamp"
mkdir -p "$out"
summary="$out.txt"

# Builds a suite's test binary and prints its path.
binary() {
    local package="$1" test="$2"
    cargo test -p "$package" --test "$test" --no-run --message-format=json 2>/dev/null |
        python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])
' "$test"
}

failed=0
{
    echo "Fuzz run $stamp: $seconds s per target on $(nproc) cores ($(uname -sr))"
    echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' + local changes')"
    [ -n "${FUZZ_ROUTES:-}" ] && echo "FUZZ_ROUTES=$FUZZ_ROUTES"
    [ -n "${FUZZ_SKIP_ROUTES:-}" ] && echo "FUZZ_SKIP_ROUTES=$FUZZ_SKIP_ROUTES"
    printf '%-40s %12s %10s  %s\n' target cases seconds result
} | tee "$summary"

for suite in "${suites[@]}"; do
    case "$suite" in
        parsers) package=concord-domain test=fuzz_parsers batch="${FUZZ_BATCH:-1000}" ;;
        web) package=concord-web test=fuzz_bodies batch="${FUZZ_BATCH:-200}" ;;
        *) echo "unknown suite $suite (parsers or web)" >&2; exit 2 ;;
    esac
    echo "building $test…" >&2
    bin="$(binary "$package" "$test")"
    [ -x "$bin" ] || { echo "could not build $test" >&2; exit 1; }
    # Each test of the binary, one at a time (fixed cases run too, once; they print no count).
    for name in $("$bin" --list 2>/dev/null | sed -n 's/: test$//p' | grep -E "${FUZZ_TARGETS:-.}"); do
        log="$out/$test-$name.log"
        start=$(date +%s.%N)
        if (cd "crates/$package" && CONCORD_FUZZ_CASES="$batch" FUZZ_SECONDS="$seconds" \
            "$bin" --exact "$name" --nocapture --test-threads 1) >"$log" 2>&1; then
            result=ok
        else
            result=FAILED
            failed=1
        fi
        elapsed=$(echo "$(date +%s.%N) - $start" | bc)
        line=$(grep -oE "fuzz $name: [0-9]+ cases in [0-9.]+ s" "$log" | tail -1 || true)
        if [ -n "$line" ]; then
            cases=$(echo "$line" | sed -E 's/.*: ([0-9]+) cases in ([0-9.]+) s/\1/')
            secs=$(echo "$line" | sed -E 's/.*: ([0-9]+) cases in ([0-9.]+) s/\2/')
        else
            # A fixed case (no count), or a target that failed before its summary.
            cases=$([ "$result" = ok ] && echo "(fixed)" || echo "-")
            secs=$(printf '%.1f' "$elapsed")
        fi
        printf '%-40s %12s %10s  %s\n' "$name" "$cases" "$secs" "$result" | tee -a "$summary"
        if [ "$result" = FAILED ]; then
            grep -E "answered|minimal failing input|panicked" "$log" | head -3 | sed 's/^/    /' | tee -a "$summary"
        fi
        grep -oE "fuzz $name: answers by status.*" "$log" | sed 's/^/    /' | tee -a "$summary" || true
    done
done
echo "summary: $summary (logs in $out/)"
exit $failed
