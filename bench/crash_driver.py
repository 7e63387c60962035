#!/usr/bin/env python3
"""Writers and checker for bench/crash.sh (Python 3.11 standard library only).

    crash_driver.py setup --base URL --token T --hub ORG --manifest FILE --state DIR
    crash_driver.py drive --base URL --token T --state DIR --cycle N [--writers K] [--seconds S]
    crash_driver.py check --base URL --token T --state DIR

setup picks the targets (from the seed_bench ledger manifest and the API) and writes
DIR/targets.json. drive runs K writer threads per kind (metric values, charter draft edits,
meetings, notes) until S seconds pass or the server stops answering; every write is journalled
as `sent` before the request and, once the server acknowledged it (2xx), as `ack` with what the
server returned; the journal (DIR/journal/cNNNN-KIND-T.jsonl) is flushed and fsync'd after each
line. check reads every journal and asks the server for every write: an acknowledged write must
be there with the acknowledged content; a write sent but not acknowledged (in flight at the
kill) may or may not be, and is counted either way. It prints one JSON line of counts and exits
1 when an acknowledged write is missing or differs.
"""

import argparse
import datetime
import glob
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

KINDS = ("value", "charter", "meeting", "note")


class Api:
    """One keep-alive connection; raises ConnectionError (or OSError) when the server is gone."""

    def __init__(self, base, token, timeout=15):
        u = urllib.parse.urlsplit(base)
        self.host, self.port, self.token, self.timeout = u.hostname, u.port, token, timeout
        self.conn = None

    def call(self, method, path, body=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = {"Authorization": "Bearer " + self.token}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, "/api/v1" + path, data, headers)
            r = self.conn.getresponse()
            text = r.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise ConnectionError(f"{method} {path}: the server did not answer")
        try:
            doc = json.loads(text) if text else None
        except ValueError:
            doc = text.decode("utf-8", "replace")
        return r.status, doc


class Journal:
    def __init__(self, path):
        self.f = open(path, "a", encoding="utf-8")

    def write(self, rec):
        self.f.write(json.dumps(rec, sort_keys=True) + "\n")
        self.f.flush()
        os.fsync(self.f.fileno())

    def close(self):
        self.f.close()


def month_add(year, month, k):
    m = year * 12 + (month - 1) + k
    return datetime.date(m // 12, m % 12 + 1, 1)


# ---------------------------------------------------------------------------------------------
def setup(a):
    api = Api(a.base, a.token)
    pairs, parts = [], set()
    for line in open(a.manifest, encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if len(f) >= 4 and f[0] == "ledger" and f[3] == str(a.hub):
            pairs.append((int(f[1]), int(f[2])))
            parts.add(int(f[1]))
    if not pairs:
        sys.exit("no ledger metric owned by the hub in the manifest")
    # Partnerships whose draft the hub can edit (effective charter, not archived): one probe edit.
    charters = []
    for p in sorted(parts):
        st, ov = api.call("GET", f"/partnerships/{p}/charter")
        if st != 200 or not ov.get("effective"):
            continue
        content = (ov.get("draft") or ov["effective"])["content"]
        content["summary"] = f"crash bench setup {p}"
        st, doc = api.call("PUT", f"/partnerships/{p}/charter/draft", content)
        if st == 200:
            charters.append({"partnership": p, "content": content})
        elif len(charters) == 0 and p == min(parts):
            print(f"charter draft of {p}: HTTP {st}: {str(doc)[:300]}", file=sys.stderr)
    # Partnerships the hub can write meetings and notes in (one probe note each), with their
    # parties (a meeting needs an attendee for every party).
    writable, parties = [], {}
    for p in sorted(parts):
        st, doc = api.call("POST", f"/partnerships/{p}/notes", {"body": f"crash bench setup {p}"})
        if st == 201:
            writable.append(p)
            parties[str(p)] = [x["organization_id"] for x in api.call("GET", f"/partnerships/{p}")[1]["parties"]]
    pairs.sort(key=lambda pm: (pm[1], pm[0]))
    targets = {"hub": a.hub, "pairs": pairs, "charters": charters, "writable": writable,
               "parties": parties}
    os.makedirs(os.path.join(a.state, "journal"), exist_ok=True)
    with open(os.path.join(a.state, "targets.json"), "w", encoding="utf-8") as f:
        json.dump(targets, f)
    print(f"targets: {len(pairs)} (partnership, metric) pairs in {len(parts)} partnerships; "
          f"{len(charters)} editable charters; {len(writable)} partnerships for meetings and notes")


# ---------------------------------------------------------------------------------------------
class Counter:
    """Unique period numbers for values across threads and cycles (persisted in the state dir)."""

    def __init__(self, path):
        self.path, self.lock = path, threading.Lock()
        self.next = int(open(path).read()) if os.path.exists(path) else 0

    def take(self):
        with self.lock:
            k = self.next
            self.next += 1
            return k

    def save(self):
        with open(self.path, "w") as f:
            f.write(str(self.next))
            f.flush()
            os.fsync(f.fileno())


STATS_LOCK = threading.Lock()


def bump(stats, key):
    with STATS_LOCK:
        stats[key] += 1
        return stats[key]


def writer(kind, t, k_total, a, targets, counter, stop, stats):
    api = Api(a.base, a.token)
    j = Journal(os.path.join(a.state, "journal", f"c{a.cycle:04d}-{kind}-{t}.jsonl"))
    hub = targets["hub"]
    pairs = targets["pairs"]
    mine_charters = [c for i, c in enumerate(targets["charters"]) if i % k_total == t]
    mine_parts = [p for i, p in enumerate(targets["writable"]) if i % k_total == t]
    n = 0
    try:
        while not stop.is_set():
            n += 1
            tag = f"c{a.cycle}-{kind}{t}-{n}"
            if kind == "value":
                k = counter.take()
                p, m = pairs[k % len(pairs)]
                period = month_add(2002, 1, k // len(pairs)).isoformat()
                value = round((k * 37 % 100000) / 100 + 0.25, 2)
                path = f"/partnerships/{p}/metrics/{m}/values"
                body = {"period_start": period, "value": value, "source": "crash bench", "note": tag}
                rec = {"kind": kind, "tag": tag, "p": p, "metric": m, "period": period,
                       "value": value}
                ok = 201
            elif kind == "charter":
                if not mine_charters:
                    return
                c = mine_charters[n % len(mine_charters)]
                p = c["partnership"]
                body = dict(c["content"], summary=f"Crash bench edit {tag}")
                path, rec, ok = f"/partnerships/{p}/charter/draft", {"kind": kind, "tag": tag, "p": p}, 200
            elif kind == "meeting":
                if not mine_parts:
                    return
                p = mine_parts[n % len(mine_parts)]
                held = (datetime.date(2025, 1, 1) + datetime.timedelta(days=n % 600)).isoformat()
                body = {"held_on": held, "kind": "working",
                        "attendees": [{"organization_id": o, "name": f"Crash Bench {o}"}
                                      for o in targets["parties"][str(p)]],
                        "notes": f"Crash bench meeting {tag}", "decisions": [f"decision {tag}"],
                        "actions": [{"what": f"action {tag}", "owner": hub, "due_on": "2027-01-31"}]}
                path = f"/partnerships/{p}/meetings"
                rec, ok = {"kind": kind, "tag": tag, "p": p, "held_on": held}, 201
            else:
                if not mine_parts:
                    return
                p = mine_parts[n % len(mine_parts)]
                body = {"body": f"Crash bench note {tag}"}
                path, rec, ok = f"/partnerships/{p}/notes", {"kind": kind, "tag": tag, "p": p}, 201
            j.write(dict(rec, ev="sent"))
            method = "PUT" if kind == "charter" else "POST"
            try:
                st, doc = api.call(method, path, body)
            except ConnectionError:
                bump(stats, "lost_connection")
                return  # the server is gone: this write stays "sent" (in flight)
            if st != ok:
                # An answer that is not the acknowledgement: the write is refused, not in flight.
                j.write({"ev": "refused", "tag": tag, "status": st, "body": str(doc)[:300]})
                if bump(stats, "refused") <= 5:
                    print(f"refused {tag}: HTTP {st}: {str(doc)[:300]}", file=sys.stderr)
                continue
            if kind == "value":
                ackd = {"seq": doc["seq"], "hash": doc["hash"], "value": doc["value"]}
            elif kind == "charter":
                ackd = {"number": doc["number"], "sha": doc["content_sha256"]}
            else:
                ackd = {"id": doc["id"]}
            j.write(dict(ackd, ev="ack", tag=tag))
            bump(stats, "ack_" + kind)
    finally:
        j.close()


def drive(a):
    targets = json.load(open(os.path.join(a.state, "targets.json"), encoding="utf-8"))
    counter = Counter(os.path.join(a.state, "next_period"))
    stop = threading.Event()
    stats = {"lost_connection": 0, "refused": 0, **{"ack_" + k: 0 for k in KINDS}}
    threads = [threading.Thread(target=writer, args=(kind, t, a.writers, a, targets, counter, stop, stats))
               for kind in KINDS for t in range(a.writers)]
    for th in threads:
        th.start()
    end = time.time() + a.seconds
    try:
        while time.time() < end and any(th.is_alive() for th in threads):
            time.sleep(0.05)
    finally:
        stop.set()
        for th in threads:
            th.join()
        counter.save()
    print(json.dumps(stats, sort_keys=True))


# ---------------------------------------------------------------------------------------------
def read_journals(state):
    """Every write, in order per (cycle, kind, thread): dicts with the sent fields plus `ack`
    (the acknowledgement, or None) and `refused`."""
    writes = []
    for path in sorted(glob.glob(os.path.join(state, "journal", "*.jsonl"))):
        by_tag = {}
        for line in open(path, encoding="utf-8"):
            if not line.endswith("\n"):
                break  # a torn last line cannot happen (the driver is not killed) but is not a write
            r = json.loads(line)
            if r["ev"] == "sent":
                w = dict(r, ack=None, refused=False)
                by_tag[r["tag"]] = w
                writes.append(w)
            elif r["ev"] == "ack":
                by_tag[r["tag"]]["ack"] = r
            elif r["ev"] == "refused":
                by_tag[r["tag"]]["refused"] = True
    return writes


def check(a):
    api = Api(a.base, a.token, timeout=120)
    writes = read_journals(a.state)
    res = {"acked": {k: 0 for k in KINDS}, "missing": 0, "in_flight": 0, "in_flight_present": 0,
           "refused": 0, "ledgers_verified": 0, "ledgers_invalid": 0, "problems": []}

    def problem(msg):
        res["missing"] += 1
        if len(res["problems"]) < 20:
            res["problems"].append(msg)

    cache = {}

    def get(path):
        if path not in cache:
            st, doc = api.call("GET", path)
            if st != 200:
                raise SystemExit(f"GET {path}: HTTP {st}: {str(doc)[:300]}")
            cache[path] = doc
        return cache[path]

    charter_events = {}
    for w in writes:
        kind, p, ack = w["kind"], w["p"], w["ack"]
        if w["refused"]:
            res["refused"] += 1
            continue
        if ack:
            res["acked"][kind] += 1
        else:
            res["in_flight"] += 1
        if kind == "value":
            ledger = get(f"/partnerships/{p}/ledger")
            if ack:
                e = ledger[ack["seq"] - 1] if 0 < ack["seq"] <= len(ledger) else None
                if not e or e["seq"] != ack["seq"] or e["hash"] != ack["hash"] or e["value"] != ack["value"] \
                        or e["metric_id"] != w["metric"] or e["period_start"] != w["period"] or e["note"] != w["tag"]:
                    problem(f"value {w['tag']}: acknowledged as entry {ack['seq']} of partnership {p}, found {e}")
            elif any(e["note"] == w["tag"] for e in ledger):
                res["in_flight_present"] += 1
        elif kind == "note":
            notes = {n["id"]: n for n in get(f"/partnerships/{p}/notes")}
            body = f"Crash bench note {w['tag']}"
            if ack:
                n = notes.get(ack["id"])
                if not n or n["body"] != body:
                    problem(f"note {w['tag']}: acknowledged as note {ack['id']} of partnership {p}, found {n}")
            elif any(n["body"] == body for n in notes.values()):
                res["in_flight_present"] += 1
        elif kind == "meeting":
            text = f"Crash bench meeting {w['tag']}"
            if ack:
                st, m = api.call("GET", f"/partnerships/{p}/meetings/{ack['id']}")
                if st != 200 or m["notes"] != text or m["held_on"] != w["held_on"] \
                        or [x["what"] for x in m["actions"]] != [f"action {w['tag']}"] \
                        or m["decisions"] != [f"decision {w['tag']}"]:
                    problem(f"meeting {w['tag']}: acknowledged as meeting {ack['id']} of partnership {p}, "
                            f"found HTTP {st} {str(m)[:200]}")
            else:
                meetings = get(f"/partnerships/{p}/meetings")
                if any(m["notes"] == text for m in meetings["meetings"]):
                    res["in_flight_present"] += 1
        else:
            charter_events.setdefault(p, []).append(w)
    # A charter draft keeps only the latest edit: it must be the last acknowledged one, or an
    # edit sent after it that was in flight at a kill.
    for p, events in charter_events.items():
        draft = (get(f"/partnerships/{p}/charter").get("draft") or {})
        summary = draft.get("content", {}).get("summary")
        last_ack = max((i for i, w in enumerate(events) if w["ack"]), default=-1)
        allowed = {f"Crash bench edit {w['tag']}": w for w in events[max(last_ack, 0):]}
        w = allowed.get(summary)
        if w is None:
            if last_ack >= 0:
                problem(f"charter of partnership {p}: draft summary {summary!r}, acknowledged last: "
                        f"{events[last_ack]['tag']} (version {events[last_ack]['ack']['number']})")
        elif w["ack"] is None:
            res["in_flight_present"] += 1
        elif w["ack"]["sha"] != draft.get("content_sha256"):
            problem(f"charter of partnership {p}: content hash {draft.get('content_sha256')} differs from "
                    f"the acknowledged {w['ack']['sha']}")
    # Every chain the writers touched verifies through the API (the script also runs `concord
    # verify` over every chain).
    for p in sorted({w["p"] for w in writes if w["kind"] == "value"}):
        v = get(f"/partnerships/{p}/ledger/verify")
        if v.get("valid"):
            res["ledgers_verified"] += 1
        else:
            res["ledgers_invalid"] += 1
            problem(f"ledger of partnership {p} does not verify: {v}")
    print(json.dumps(res, sort_keys=True))
    sys.exit(1 if res["missing"] else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["setup", "drive", "check"])
    ap.add_argument("--base", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--hub", type=int)
    ap.add_argument("--manifest")
    ap.add_argument("--cycle", type=int, default=0)
    ap.add_argument("--writers", type=int, default=2, help="threads per kind of write")
    ap.add_argument("--seconds", type=float, default=30)
    a = ap.parse_args()
    {"setup": setup, "drive": drive, "check": check}[a.command](a)


if __name__ == "__main__":
    main()
