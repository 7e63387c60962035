#!/usr/bin/env bash
# Load benchmark for the journey page (issue 7: "the journey page with its SVG renders under
# 30 ms p99"), on SQLite.
#
#   bench/journey_page.sh
#
# Builds release, loads the demo into a fresh SQLite file, starts `concord serve`, adds a large
# journey (200 stages, 400 handoffs, 300 assumptions, 2,000 trial feedback items — the size of
# the gap-detection target) through the API, signs in as the Elm City admin, then runs wrk
# against GET /journeys/{id} for the demo referral journey and for the large one, and against
# GET /api/v1/journeys/{id}/gaps for the large one.
#
# Settings (environment): BENCH_CONNECTIONS (default 8), BENCH_DURATION (default 15s),
# BENCH_WARMUP (default 3s), BENCH_THREADS (default 2), BENCH_SKIP_BUILD=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CONNECTIONS="${BENCH_CONNECTIONS:-8}"
DURATION="${BENCH_DURATION:-15s}"
WARMUP="${BENCH_WARMUP:-3s}"
THREADS="${BENCH_THREADS:-2}"
P99_TARGET_MS=30

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release --bin concord
fi
CONCORD="$ROOT/target/release/concord"
RUN_DIR="$ROOT/bench/out/journey-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"
DB="sqlite://$RUN_DIR/demo.db"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
EMAIL="admin@elm-city-family-medicine-collaborative.example"
PASSWORD="concord-demo-2026"

RUST_LOG=warn "$CONCORD" demo --database-url "$DB" --bind "127.0.0.1:$PORT" >"$RUN_DIR/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
    curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "$BASE/healthz" >/dev/null

TOKEN=$("$CONCORD" token create --database-url "$DB" --email "$EMAIL" \
    --org "Elm City Family Medicine Collaborative" --scope read-write --name "journey bench" 2>/dev/null | tail -1)
SESSION=$(curl -sS -o /dev/null -D - --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" \
    "$BASE/sign-in" | sed -n 's/^[Ss]et-[Cc]ookie: concord_session=\([^;]*\).*/\1/p' | tr -d '\r' | head -1)
[ -n "$TOKEN" ] && [ -n "$SESSION" ] || { echo "could not authenticate" >&2; exit 1; }

# The demo referral journey, and a large journey on the same partnership.
read -r PID DEMO_JOURNEY < <(BASE="$BASE" TOKEN="$TOKEN" python3 - <<'EOF'
import json, os, urllib.request
base, token = os.environ["BASE"], os.environ["TOKEN"]
def get(path):
    r = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    return json.load(urllib.request.urlopen(r))
for p in get("/api/v1/partnerships?per_page=100")["items"]:
    for j in get(f"/api/v1/partnerships/{p['id']}/journeys"):
        if j["name"].startswith("Referral from primary care"):
            print(p["id"], j["id"])
            raise SystemExit
raise SystemExit("demo referral journey not found")
EOF
)
BIG_JOURNEY=$(BASE="$BASE" TOKEN="$TOKEN" PID="$PID" python3 - <<'EOF'
import json, os, random, urllib.request
base, token, pid = os.environ["BASE"], os.environ["TOKEN"], os.environ["PID"]
rnd = random.Random(7)
def send(method, path, body):
    r = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(r))
p = json.load(urllib.request.urlopen(urllib.request.Request(base + f"/api/v1/partnerships/{pid}",
    headers={"Authorization": "Bearer " + token})))
parties = [x["organization_id"] for x in p["parties"]]
channels = ["in_person", "phone", "portal", "text", "mail", "home_visit"]
stages = []
for i in range(1, 201):
    stages.append({"id": i, "name": f"Stage {i}", "owner": None if i % 17 == 0 else parties[(i // 3) % len(parties)],
        "touchpoints": [{"channel": channels[i % 6], "description": "contact", "support": i % 5 == 0}],
        "know": "" if i % 11 == 0 else "What happens next", "feel": "Expected", "do": "Show up",
        "days_to_next": (i % 20), "next_step": "" if i % 13 == 0 else "Go on"})
handoffs = []
for k in range(400):
    a = rnd.randint(1, 199)
    handoffs.append({"from_stage": a, "to_stage": a + 1 if k % 2 == 0 else rnd.randint(1, 200) if a != 200 else 1,
        "channel": None if k % 9 == 0 else channels[k % 6], "information": "" if k % 7 == 0 else "Referral letter"})
handoffs = [h for h in handoffs if h["from_stage"] != h["to_stage"]]
assumptions = [{"statement": f"Assumption {k}", "stages": sorted({rnd.randint(1, 200) for _ in range(3)})} for k in range(300)]
j = send("POST", f"/api/v1/partnerships/{pid}/journeys", {"name": "Large journey (benchmark)", "end_user": "patient",
    "design": {"stages": stages, "handoffs": handoffs, "assumptions": assumptions}})
jid = j["id"]
ids = [a["id"] for a in j["design"]["assumptions"]]
for run in range(4):
    participants = [f"P-{run}-{n:03d}" for n in range(50)]
    feedback = [{"stage": rnd.randint(1, 200), "participant": rnd.choice(participants), "what_happened": "Waited",
        "severity": rnd.choice(["minor", "major", "blocking"])} for _ in range(500)]
    verdicts = [{"assumption": a, "status": "invalidated", "evidence": "trial"} for a in ids[run * 25:(run + 1) * 25]]
    send("POST", f"/api/v1/journeys/{jid}/trial-runs", {"run_on": f"2026-0{run + 1}-15", "participants": participants,
        "feedback": feedback, "assumptions": verdicts})
print(jid)
EOF
)
echo "partnership $PID: demo journey $DEMO_JOURNEY, large journey $BIG_JOURNEY"
echo "large journey: $(curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/journeys/$BIG_JOURNEY/gaps" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)), "gaps")')"

SUMMARY="$RUN_DIR/summary.md"
{
    echo "# Journey page benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); wrk and the server share it"
    echo "- wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency (warm-up $WARMUP); SQLite; signed-in session cookie for pages, bearer token for the API"
    echo
    echo "| what | clients | req/s | p50 ms | p99 ms | page bytes | errors |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
} >"$SUMMARY"

measure() {
    local what="$1" path="$2" hdr="$3" out bytes
    out="$RUN_DIR/$(echo "$what" | tr ' /' '__').txt"
    bytes=$(curl -fsS -H "$hdr" "$BASE$path" | wc -c)
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "$hdr" "$BASE$path" >/dev/null
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "$hdr" "$BASE$path" | tee "$out"
    python3 - "$out" "$what" "$CONNECTIONS" "$bytes" "$P99_TARGET_MS" >>"$SUMMARY" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
def ms(label):
    m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)", text, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
p99 = ms("99")
print(f"| {sys.argv[2]} | {sys.argv[3]} | {float(rps):.0f} | {ms('50'):.2f} | {p99:.2f} | {sys.argv[4]} | {errs.group(1) if errs else 0} |")
EOF
}
measure "demo referral journey page" "/journeys/$DEMO_JOURNEY" "Cookie: concord_session=$SESSION"
measure "large journey page" "/journeys/$BIG_JOURNEY" "Cookie: concord_session=$SESSION"
measure "large journey gaps API" "/api/v1/journeys/$BIG_JOURNEY/gaps" "Authorization: Bearer $TOKEN"
echo "- target: journey page p99 < ${P99_TARGET_MS} ms; server peak RSS $(awk '/VmHWM/{printf "%.1f MB", $2/1024}' /proc/$SERVER_PID/status)" >>"$SUMMARY"
echo
cat "$SUMMARY"
