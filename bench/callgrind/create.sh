#!/bin/bash
# Instructions per `POST /workspace` of one server binary, counted by callgrind: count.sh's method
# (see BENCHMARKS.md, "The listing's cost, counted in instructions") for creates, each with a name
# of its own so that every request creates a workspace.
#
#   bench/callgrind/create.sh LABEL BINARY N DATABASE_URL
#
# The database must have been seeded with seed.py (its token in $TOKEN_FILE, default
# /tmp/pf/token); a SQLite database is copied first, so every binary starts from the same file.
# On PostgreSQL every run adds its workspaces to the one database: names carry the label and the
# process id, so runs never collide.
set -euo pipefail
label=$1; bin=$2; n=$3; db=$4; port=${PORT:-18091}
here=$(cd "$(dirname "$0")" && pwd); out=${OUT:-/tmp/pf}
if [[ $db == sqlite://* ]]; then
  file=${db#sqlite://}; rm -f "$out/run-$label.db"*; cp "$file" "$out/run-$label.db"; db="sqlite://$out/run-$label.db"
fi
rm -f "$out/cg-$label.out"*
valgrind --tool=callgrind --callgrind-out-file="$out/cg-$label.out" "$bin" --database-url "$db" \
  serve --listen 127.0.0.1:$port --rate-limit-per-ip 0 --rate-limit-per-account 0 > "$out/vg-$label.log" 2>&1 &
vpid=$!
for _ in $(seq 1 120); do curl -s -o /dev/null 127.0.0.1:$port/health && break; sleep 1; done
python3 "$here/drive.py" $port 20 "create:warm-$label-$$"
callgrind_control -d warm $vpid > /dev/null
python3 "$here/drive.py" $port $n "create:$label-$$"
callgrind_control -d measured $vpid > /dev/null
last=$(ls -v "$out/cg-$label.out".* | tail -1)
total=$(grep -m1 '^summary' "$last" | cut -d' ' -f2)
echo "$label create: $((total / n)) instructions/request"
kill $vpid; wait $vpid 2>/dev/null || true
