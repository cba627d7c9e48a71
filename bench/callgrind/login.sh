#!/bin/bash
# Instructions per POST /user/login of one server binary, counted by callgrind.
#   bench/callgrind/login.sh LABEL BINARY N [BODY_EXTRA]
# BODY_EXTRA: JSON fields merged into the login body, e.g. {"deviceInfo": {...}}. See BENCHMARKS.md,
# "Devices at login". Prints the instructions per login of the whole server (all threads).
set -euo pipefail
label=$1; bin=$2; n=$3; extra=${4:-}
port=${PORT:-18191}; out=${OUT:-/tmp/pf}; mkdir -p "$out"
rm -f "$out/cg-$label.out"* "$out/$label.db"*
db="sqlite://$out/$label.db"
valgrind --tool=callgrind --callgrind-out-file="$out/cg-$label.out" "$bin" --database-url "$db" \
  serve --listen 127.0.0.1:$port --rate-limit-per-ip 0 --rate-limit-per-account 0 > "$out/vg-$label.log" 2>&1 &
vpid=$!
for _ in $(seq 1 240); do curl -s -o /dev/null 127.0.0.1:$port/health && break; sleep 1; done
curl -s -X POST 127.0.0.1:$port/user/register -H 'content-type: application/json' \
  -d '{"email":"own@x.io","password":"Secret123","firstName":"O","lastName":"W","companyName":"X","isBusiness":false}' > /dev/null
# Sends K logins, one at a time on one connection, with a Firefox User-Agent.
logins() {
  python3 - "$port" "$1" "$extra" <<'PY'
import http.client, json, sys
port, n, extra = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
body = {"email": "own@x.io", "password": "Secret123"}
if extra: body.update(json.loads(extra))
h = {"content-type": "application/json",
     "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"}
c = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    c.request("POST", "/user/login", json.dumps(body), h); r = c.getresponse(); d = r.read()
    assert r.status == 200, (r.status, d[:200])
PY
}
logins 5
callgrind_control -d warm $vpid > /dev/null
logins "$n"
callgrind_control -d measured $vpid > /dev/null
last=$(ls -v "$out/cg-$label.out".* | tail -1)
total=$(grep -m1 '^summary' "$last" | cut -d' ' -f2)
echo "$label: $((total / n)) instructions/login"
kill $vpid; wait $vpid 2>/dev/null || true
