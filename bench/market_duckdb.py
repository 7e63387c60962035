#!/usr/bin/env python3
"""The DuckDB half of bench/market.sh (issue 8, "Speed and memory").

    market_duckdb.py load   --file NPPES.csv --db D.duckdb --zips ZCTA.csv [--threads 2] --json OUT
    market_duckdb.py origins --db D.duckdb --count 200 --seed 42 --out origins.csv
    market_duckdb.py scan   --db D.duckdb --origins origins.csv --codes codes.txt
                            [--radius 25] [--warmup 10] [--passes 1] [--threads 2] --json OUT

load: creates the table `providers` with the columns Concord keeps from the NPPES file (NPI,
entity type, organization and person names, credential, practice address lines, city, state,
postal code and its first five digits, the 15 taxonomy codes and primary switches, enumeration,
deactivation and reactivation dates) with one `CREATE TABLE ... AS SELECT ... FROM read_csv(...,
all_varchar=true)`, timed on its own (the process start and the ZIP table are not counted), and
the table `zips` (ZCTA centroids).

origins: draws `count` practice ZIPs of active providers, weighted by how many providers each has
(seeded), and writes `zip,latitude,longitude`.

scan: the market scan asked of DuckDB: for each origin, the active providers holding any of the
capability's taxonomy codes (in any of the 15 slots), joined to their ZIP centroid, kept within
the radius by haversine distance (after a latitude/longitude bounding box on the ZIP), grouped into
candidates as Concord does (an organization is one candidate; individuals at one practice address
are one practice, with their count), nearest first. Each query is timed on its own, after a
warm-up.
"""

import argparse
import json
import random
import sys
import time

import duckdb

EARTH_RADIUS_MILES = 3958.8
SLOTS = 15


def q(name):
    return '"' + name.replace('"', '""') + '"'


def connect(db, threads):
    con = duckdb.connect(db)
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    return con


def load(args):
    con = connect(args.db, args.threads)
    con.execute("DROP TABLE IF EXISTS providers")
    con.execute("DROP TABLE IF EXISTS zips")
    cols = [
        (q("NPI"), "npi"),
        (q("Entity Type Code"), "entity_type"),
        (q("Provider Organization Name (Legal Business Name)"), "org_name"),
        (q("Provider Last Name (Legal Name)"), "last_name"),
        (q("Provider First Name"), "first_name"),
        (q("Provider Credential Text"), "credential"),
        (q("Provider First Line Business Practice Location Address"), "address"),
        (q("Provider Second Line Business Practice Location Address"), "address2"),
        (q("Provider Business Practice Location Address City Name"), "city"),
        (q("Provider Business Practice Location Address State Name"), "state"),
        (q("Provider Business Practice Location Address Postal Code"), "postal"),
        (f'left({q("Provider Business Practice Location Address Postal Code")}, 5)', "zip"),
        (q("Provider Enumeration Date"), "enumerated_on"),
        (q("NPI Deactivation Date"), "deactivated_on"),
        (q("NPI Reactivation Date"), "reactivated_on"),
    ]
    for i in range(1, SLOTS + 1):
        cols.append((q(f"Healthcare Provider Taxonomy Code_{i}"), f"tax{i}"))
        cols.append((q(f"Healthcare Provider Primary Taxonomy Switch_{i}"), f"primary{i}"))
    select = ", ".join(f"{expr} AS {alias}" for expr, alias in cols)
    path = args.file.replace("'", "''")
    sql = (
        f"CREATE TABLE providers AS SELECT {select} FROM read_csv('{path}', header = true, "
        f"all_varchar = true, delim = ',', quote = '\"', escape = '\"')"
    )
    started = time.perf_counter()
    con.execute(sql)
    seconds = time.perf_counter() - started
    rows = con.execute("SELECT count(*) FROM providers").fetchone()[0]
    zpath = args.zips.replace("'", "''")
    con.execute(
        f"CREATE TABLE zips AS SELECT GEOID AS zip, CAST(LAT AS DOUBLE) AS lat, "
        f"CAST(LONG AS DOUBLE) AS lon FROM read_csv('{zpath}', header = true, "
        f"types = {{'GEOID': 'VARCHAR'}})"
    )
    con.close()
    out = {"seconds": round(seconds, 3), "rows": rows, "threads": args.threads,
           "duckdb": duckdb.__version__}
    print(f"duckdb load: {rows} rows in {seconds:.2f} s ({args.threads} threads)")
    with open(args.json, "w") as f:
        json.dump(out, f)
        f.write("\n")


def origins(args):
    con = connect(args.db, 2)
    rows = con.execute(
        "SELECT p.zip, z.lat, z.lon, count(*) AS n FROM providers p JOIN zips z USING (zip) "
        "WHERE coalesce(p.deactivated_on, '') = '' GROUP BY ALL ORDER BY p.zip"
    ).fetchall()
    con.close()
    if not rows:
        sys.exit("market_duckdb: no populated ZIPs")
    rng = random.Random(args.seed)
    picks = rng.choices(rows, weights=[r[3] for r in rows], k=args.count)
    with open(args.out, "w") as f:
        f.write("zip,latitude,longitude\n")
        for zip_, lat, lon, _ in picks:
            f.write(f"{zip_},{lat},{lon}\n")
    print(f"origins: {args.count} drawn from {len(rows)} populated ZIPs")


def quantile(v, p):
    import math
    v = sorted(v)
    rank = min(max(math.ceil(p * len(v)), 1), len(v))
    return v[rank - 1]


def scan(args):
    codes = [c.strip() for c in open(args.codes) if c.strip()]
    if not codes:
        sys.exit("market_duckdb: no taxonomy codes")
    origins_list = []
    with open(args.origins) as f:
        next(f)
        for line in f:
            zip_, lat, lon = line.strip().split(",")
            origins_list.append((zip_, float(lat), float(lon)))
    con = connect(args.db, args.threads)
    con.execute("CREATE OR REPLACE TEMP TABLE wanted AS SELECT unnest($1::VARCHAR[]) AS code",
                [codes])
    any_code = " OR ".join(f"tax{i} IN (SELECT code FROM wanted)" for i in range(1, SLOTS + 1))
    # $1 lat, $2 lon, $3 radius, $4/$5 latitude box, $6/$7 longitude box.
    sql = f"""
        WITH hits AS (
            SELECT p.npi, p.entity_type, p.org_name, p.last_name, p.first_name, p.address,
                   p.city, p.state, p.zip, z.lat, z.lon,
                   2 * {EARTH_RADIUS_MILES} * asin(sqrt(
                       pow(sin(radians(z.lat - $1) / 2), 2)
                       + cos(radians($1)) * cos(radians(z.lat))
                         * pow(sin(radians(z.lon - $2) / 2), 2))) AS miles
            FROM providers p JOIN zips z ON z.zip = p.zip
            WHERE coalesce(p.deactivated_on, '') = ''
              AND z.lat BETWEEN $4 AND $5 AND z.lon BETWEEN $6 AND $7
              AND ({any_code})
        )
        SELECT CASE WHEN entity_type = '2' THEN 'organization' ELSE 'practice' END AS kind,
               CASE WHEN entity_type = '2' THEN npi ELSE upper(address) || '|' || zip END AS ref,
               any_value(CASE WHEN entity_type = '2' THEN org_name
                              ELSE last_name || ', ' || first_name END) AS name,
               any_value(city) AS city, any_value(state) AS state,
               count(*) AS providers, min(miles) AS miles
        FROM hits WHERE miles <= $3
        GROUP BY ALL
        ORDER BY miles, ref
    """
    import math
    dlat = args.radius / (EARTH_RADIUS_MILES * math.pi / 180) * 1.01

    def params(lat, lon):
        dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
        return [lat, lon, args.radius, lat - dlat, lat + dlat, lon - dlon, lon + dlon]

    for _, lat, lon in origins_list[: args.warmup]:
        con.execute(sql, params(lat, lon)).fetchall()
    ms = []
    results = 0
    for _ in range(args.passes):
        for _, lat, lon in origins_list:
            t = time.perf_counter()
            rows = con.execute(sql, params(lat, lon)).fetchall()
            ms.append((time.perf_counter() - t) * 1e3)
            results += len(rows)
    con.close()
    out = {
        "origins": len(origins_list), "passes": args.passes, "codes": len(codes),
        "radius_miles": args.radius, "threads": args.threads,
        "mean_results": round(results / len(ms), 1),
        "p50_ms": round(quantile(ms, 0.5), 3), "p95_ms": round(quantile(ms, 0.95), 3),
        "p99_ms": round(quantile(ms, 0.99), 3), "max_ms": round(max(ms), 3),
        "mean_ms": round(sum(ms) / len(ms), 3),
    }
    print(f"duckdb scan: p50 {out['p50_ms']:.1f} ms  p95 {out['p95_ms']:.1f} ms  "
          f"max {out['max_ms']:.1f} ms  mean results {out['mean_results']}")
    with open(args.json, "w") as f:
        json.dump(out, f)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("load")
    a.add_argument("--file", required=True)
    a.add_argument("--db", required=True)
    a.add_argument("--zips", required=True)
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--json", required=True)
    a = sub.add_parser("origins")
    a.add_argument("--db", required=True)
    a.add_argument("--count", type=int, default=200)
    a.add_argument("--seed", type=int, default=42)
    a.add_argument("--out", required=True)
    a = sub.add_parser("scan")
    a.add_argument("--db", required=True)
    a.add_argument("--origins", required=True)
    a.add_argument("--codes", required=True)
    a.add_argument("--radius", type=float, default=25.0)
    a.add_argument("--warmup", type=int, default=10)
    a.add_argument("--passes", type=int, default=1)
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--json", required=True)
    args = ap.parse_args()
    {"load": load, "origins": origins, "scan": scan}[args.cmd](args)


if __name__ == "__main__":
    main()
