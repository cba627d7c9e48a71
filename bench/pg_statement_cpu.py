#!/usr/bin/env python3
"""PostgreSQL's own CPU per execution of one or more forms of a statement, as the server runs them.

    pip install 'psycopg[binary]'   # once
    bench/pg_statement_cpu.py DATABASE_URL ROUNDS N A.sql B.sql ...

Each file holds one statement written with the listing's parameters: $1 session id, $2 user id
(uuid), $3 now (bigint), $4 the role that administers every workspace (smallint). The session is
the newest live one of an OWNER in the database (another: SESSION_QUERY, a query returning the
session id and its user id). Each form gets its own connection, prepared once and run with the
generic plan and binary results (what the server's prepared sqlx statements get; pgbench reads
text results, whose output functions, `uuid_out` above all, would dominate its profile instead).
The forms run N times each, in alternating order, ROUNDS times; printed per form: the median of
the backend's CPU per execution (its /proc schedstat, nanoseconds, so a busy machine's other
work is not counted), every round's figure and the ratio to the first form. Before that, it says
whether each form returns the same columns and rows as the first.
"""
import os
import statistics
import sys

import psycopg
from psycopg import pq

url, rounds, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
files = sys.argv[4:]
SESSION = os.environ.get(
    "SESSION_QUERY",
    "SELECT s.id, s.user_id FROM sessions s JOIN users u ON u.id = s.user_id "
    "WHERE NOT s.mfa_pending AND s.revoked_at IS NULL AND u.org_role = 255 "
    "ORDER BY s.expires_at DESC LIMIT 1",
)
with psycopg.connect(url) as conn:
    session_id, user_id = conn.execute(SESSION).fetchone()
UUID, INT8, INT2 = 2950, 20, 21
types = [UUID, UUID, INT8, INT2]
values = [str(session_id).encode(), str(user_id).encode(), b"1", b"254"]


def cpu_seconds(pid):
    return int(open(f"/proc/{pid}/schedstat").read().split()[0]) / 1e9


def run(pg, result_format):
    result = pg.exec_prepared(b"s", values, None, result_format)
    if result.status != pq.ExecStatus.TUPLES_OK:
        raise SystemExit(result.error_message.decode())
    return result


forms = {}
for path in files:
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SET plan_cache_mode = force_generic_plan")
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    prepared = conn.pgconn.prepare(b"s", open(path).read().strip().rstrip(";").encode(), types)
    if prepared.status != pq.ExecStatus.COMMAND_OK:
        raise SystemExit(f"{path}: {prepared.error_message.decode()}")
    forms[path] = (conn, pid)

reference = None
for path, (conn, _) in forms.items():
    result = run(conn.pgconn, 0)
    columns = [result.fname(j).decode() for j in range(result.nfields)]
    rows = sorted(
        tuple(result.get_value(i, j) or b"\0" for j in range(result.nfields))
        for i in range(result.ntuples)
    )
    if reference is None:
        reference = (columns, rows)
        print(f"{path}: {len(rows)} rows of {','.join(columns)}")
    elif (columns, rows) != reference:
        print(f"{path}: other rows or columns ({len(rows)} rows of {','.join(columns)})")
    for _ in range(200):
        run(conn.pgconn, 1)

cpu = {path: [] for path in files}
for round_ in range(rounds):
    for path in files if round_ % 2 == 0 else reversed(files):
        conn, pid = forms[path]
        start = cpu_seconds(pid)
        for _ in range(n):
            run(conn.pgconn, 1)
        cpu[path].append((cpu_seconds(pid) - start) / n * 1e6)
first = statistics.median(cpu[files[0]])
for path in files:
    median = statistics.median(cpu[path])
    runs = " ".join(f"{x:.0f}" for x in cpu[path])
    print(f"{path}: {median:.1f} us/execution (x{median / first:.3f}); rounds: {runs}")
