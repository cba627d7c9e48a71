#!/usr/bin/env python3
"""Issue 11's performance figures for the audit trail (a measurement, not a test).

Starts the release server on a fresh database, registers one organization, seeds 1,000,000
events into it by SQL (100,000 of them in the last 24 hours, the rest over the 30 days before),
then:
  - POST /systemevent, the default query (last 24 hours, page of 20, with `total`), as the
    OWNER: p50/p90/p99/max over N sequential requests on one kept-alive connection;
  - `workspaces events export` of all 1,000,000 events: peak RSS and wall time
    (/usr/bin/time -v), output to /dev/null.

    python3 bench/events/measure.py --db sqlite
    python3 bench/events/measure.py --db postgres --pg postgres://postgres@127.0.0.1:5432/postgres
"""

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOTAL = 1_000_000
RECENT = 100_000
DAY_MS = 24 * 60 * 60 * 1000


def start_server(binary, url):
    server = subprocess.Popen(
        [binary, "--database-url", url, "serve", "--listen", "127.0.0.1:0",
         "--cleanup-interval-secs", "0", "--rate-limit-per-ip", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "RUST_LOG": "warn"})
    for line in server.stdout:
        match = re.match(r"listening on http://(\S+)", line)
        if match:
            return server, match.group(1)
    raise SystemExit("the server did not start")


def request(conn, method, path, body, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    conn.request(method, path, json.dumps(body), headers)
    answer = conn.getresponse()
    data = answer.read()
    if answer.status >= 300:
        raise SystemExit(f"{method} {path}: {answer.status} {data[:200]}")
    return json.loads(data)


def seed_sqlite(path, org, actor, now):
    # The sqlite3 shell: the server's own WAL file is shared safely.
    old = TOTAL - RECENT
    sql = f"""
.timeout 10000
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {old - 1})
INSERT INTO system_events (org_id, actor_id, workspace_id, context, event, context_id, json_data, created_at)
SELECT X'{org}', X'{actor}', NULL, 3, 1, X'{actor}', '{{"name":{{"from":"a","to":"b"}}}}',
       {now - 31 * DAY_MS} + i * {30 * DAY_MS // old} FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {RECENT - 1})
INSERT INTO system_events (org_id, actor_id, workspace_id, context, event, context_id, json_data, created_at)
SELECT X'{org}', X'{actor}', NULL, 3, 1, X'{actor}', '{{"name":{{"from":"a","to":"b"}}}}',
       {now - DAY_MS + 60_000} + i * {(DAY_MS - 120_000) // RECENT} FROM n;
COMMIT;
ANALYZE;
"""
    subprocess.run(["sqlite3", path], input=sql, text=True, check=True)


def seed_postgres(url, org, actor, now):
    old = TOTAL - RECENT
    sql = f"""
INSERT INTO system_events (org_id, actor_id, workspace_id, context, event, context_id, json_data, created_at)
SELECT '{org}', '{actor}', NULL, 3, 1, '{actor}', '{{"name":{{"from":"a","to":"b"}}}}',
       {now - 31 * DAY_MS} + i * {30 * DAY_MS // old} FROM generate_series(0::bigint, {old - 1}) i;
INSERT INTO system_events (org_id, actor_id, workspace_id, context, event, context_id, json_data, created_at)
SELECT '{org}', '{actor}', NULL, 3, 1, '{actor}', '{{"name":{{"from":"a","to":"b"}}}}',
       {now - DAY_MS + 60_000} + i * {(DAY_MS - 120_000) // RECENT} FROM generate_series(0::bigint, {RECENT - 1}) i;
VACUUM ANALYZE system_events;
"""
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url], input=sql, text=True, check=True)


def percentile(sorted_values, p):
    at = min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[at]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/postgres",
                        help="an admin URL; a fresh database is created next to it")
    parser.add_argument("--binary", default=os.path.join(ROOT, "target/release/workspaces"))
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()

    stamp = f"{os.getpid()}_{int(time.time())}"
    if args.db == "sqlite":
        scratch = os.path.join(ROOT, "target/bench-data", f"events-{stamp}")
        os.makedirs(scratch, exist_ok=True)
        path = os.path.join(scratch, "events.db")
        url = f"sqlite://{path}"
    else:
        name = f"bench_events_{stamp}"
        subprocess.run(["psql", "-q", args.pg, "-c", f"CREATE DATABASE {name}"], check=True)
        url = args.pg.rsplit("/", 1)[0] + "/" + name

    server, addr = start_server(args.binary, url)
    try:
        host, port = addr.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port))
        reg = request(conn, "POST", "/user/register", {
            "email": "owner@example.com", "password": "Secret123", "firstName": "Ann",
            "lastName": "Lee", "companyName": "Acme", "isBusiness": True})
        token, org, actor = reg["accessToken"], reg["user"]["orgId"], reg["user"]["id"]
        now = int(time.time() * 1000)
        started = time.time()
        if args.db == "sqlite":
            seed_sqlite(path, uuid.UUID(org).hex, uuid.UUID(actor).hex, now)
        else:
            seed_postgres(url, org, actor, now)
        print(f"seeded {TOTAL} events ({RECENT} in the last 24 h) in {time.time() - started:.1f} s")

        first = request(conn, "POST", "/systemevent", {}, token)
        assert first["total"] == RECENT and len(first["events"]) == 20, first["total"]
        for _ in range(30):
            request(conn, "POST", "/systemevent", {}, token)
        latencies = []
        for _ in range(args.requests):
            begun = time.perf_counter()
            request(conn, "POST", "/systemevent", {}, token)
            latencies.append((time.perf_counter() - begun) * 1000)
        latencies.sort()
        figures = {p: percentile(latencies, p) for p in (50, 90, 99)}
        print(f"POST /systemevent default query, page of 20, total={RECENT}, "
              f"{args.requests} requests: p50 {figures[50]:.1f} ms, p90 {figures[90]:.1f} ms, "
              f"p99 {figures[99]:.1f} ms, max {latencies[-1]:.1f} ms")
        # The page alone, for comparison: a window of one hour holds ~4,200 events.
        hour = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
        small = []
        for _ in range(args.requests // 2):
            begun = time.perf_counter()
            request(conn, "POST", "/systemevent", {"from_timestamp": hour}, token)
            small.append((time.perf_counter() - begun) * 1000)
        small.sort()
        print(f"  same, last hour only (~4,200 matching): p50 {percentile(small, 50):.1f} ms, "
              f"p99 {percentile(small, 99):.1f} ms")
    finally:
        server.terminate()
        server.wait()

    begun = time.time()
    timed = subprocess.run(
        ["/usr/bin/time", "-v", args.binary, "--database-url", url, "events", "export"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "RUST_LOG": "warn"})
    if timed.returncode != 0:
        raise SystemExit(timed.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", timed.stderr).group(1)
    print(f"events export of every event (1,000,000 and the few of registration): peak RSS {int(rss) / 1024:.1f} MiB, "
          f"{time.time() - begun:.1f} s")
    if args.db == "postgres":
        subprocess.run(["psql", "-q", args.pg, "-c", f"DROP DATABASE {name}"], check=True)


if __name__ == "__main__":
    sys.exit(main())
