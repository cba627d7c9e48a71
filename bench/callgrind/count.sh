#!/bin/bash
# Instructions per request of one server binary, counted by callgrind (deterministic, unlike CPU
# time on a shared machine). See BENCHMARKS.md, "The listing's cost, counted in instructions".
#
#   bench/callgrind/count.sh LABEL BINARY N DATABASE_URL WORKSPACE_ID
#
# SERVER_ARGS adds arguments of `workspaces serve` (e.g. "--max-workspaces-per-org 1000000").
# The database must have been seeded with seed.py (owner own@x.io, password Secret123); a SQLite
# database is copied first, so every binary reads the same file. The script logs in once before
# counting.
# Prints the instructions per request of `GET /workspace?limit=50` (following nextCursor),
# `GET /workspace` and `GET /workspace/{id}`.
set -euo pipefail
label=$1; bin=$2; n=$3; db=$4; wid=$5; port=${PORT:-18091}
here=$(cd "$(dirname "$0")" && pwd); out=${OUT:-/tmp/pf}
if [[ $db == sqlite://* ]]; then
  # Whatever the seeding server left in the WAL goes into the file first: a copy of the file alone
  # would miss it, and two binaries would count on different data.
  file=${db#sqlite://}; python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA wal_checkpoint(TRUNCATE)")' "$file"
  rm -f "$out/run-$label.db"*; cp "$file" "$out/run-$label.db"; db="sqlite://$out/run-$label.db"
fi
rm -f "$out/cg-$label.out"*
valgrind --tool=callgrind --compress-strings=no ${VALGRIND_ARGS:-} --callgrind-out-file="$out/cg-$label.out" "$bin" --database-url "$db" \
  serve --listen 127.0.0.1:$port --rate-limit-per-ip 0 --rate-limit-per-account 0 ${SERVER_ARGS:-} > "$out/vg-$label.log" 2>&1 &
vpid=$!
# A failed run must not leave its server on the port for the next one.
trap 'kill $vpid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -s -o /dev/null 127.0.0.1:$port/health && break; sleep 1; done
# A token of this server (a newer binary may have ended the seeded sessions on migrating).
export TOKEN_FILE="$out/token-$label"
curl -s -X POST 127.0.0.1:$port/user/login -H 'content-type: application/json' \
  -d '{"email":"own@x.io","password":"Secret123"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"], end="")' > "$TOKEN_FILE"
for mode in ${MODES:-page list /workspace/$wid}; do
  python3 "$here/drive.py" $port 20 $mode
  callgrind_control -d warm $vpid > /dev/null
  python3 "$here/drive.py" $port $n $mode
  callgrind_control -d measured $vpid > /dev/null
  last=$(ls -v "$out/cg-$label.out".* | tail -1)
  total=$(grep -m1 '^summary' "$last" | cut -d' ' -f2)
  name=$mode; [[ $name == /workspace/* ]] && name=get
  echo "$label $name: $((total / n)) instructions/request"
done
kill $vpid; wait $vpid 2>/dev/null || true
