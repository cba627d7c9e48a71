#!/bin/bash
# Instructions per provider sign-in (POST /auth/google with an ID token, keys cached) of one
# server binary, counted by callgrind, beside a password login's. See BENCHMARKS.md, "A provider
# sign-in's cost".
#   bench/callgrind/provider.sh LABEL BINARY N
# A mock provider (mock_oidc.mjs, node) serves discovery and the keys; the same ID token signs in
# N times (the identity is linked after the first: the path every later sign-in takes). Prints the
# instructions per sign-in of the whole server (all threads) and how often the server fetched the
# discovery document and the keys.
set -euo pipefail
label=$1; bin=$2; n=$3
port=${PORT:-18291}; mport=${MOCK_PORT:-18292}; out=${OUT:-/tmp/pf}; mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
rm -f "$out/cg-$label.out"* "$out/$label.db"*
node "$here/mock_oidc.mjs" $mport bench-client "$out/idtoken-$label" & mpid=$!
trap 'kill $mpid $vpid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -s -o /dev/null 127.0.0.1:$mport/counts && break; sleep 0.2; done
db="sqlite://$out/$label.db"
valgrind --tool=callgrind --callgrind-out-file="$out/cg-$label.out" "$bin" --database-url "$db" \
  serve --listen 127.0.0.1:$port --rate-limit-per-ip 0 --rate-limit-per-account 0 \
  --google-client-id bench-client --google-client-secret bench-secret \
  --google-issuer http://127.0.0.1:$mport > "$out/vg-$label.log" 2>&1 &
vpid=$!
for _ in $(seq 1 240); do curl -s -o /dev/null 127.0.0.1:$port/health && break; sleep 1; done
# Sends K sign-ins, one at a time on one connection, with a Firefox User-Agent.
signins() {
  python3 - "$port" "$1" "$out/idtoken-$label" <<'PY'
import http.client, json, sys
port, n, token = int(sys.argv[1]), int(sys.argv[2]), open(sys.argv[3]).read()
h = {"content-type": "application/json",
     "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"}
c = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    c.request("POST", "/auth/google", json.dumps({"token": token}), h); r = c.getresponse(); d = r.read()
    assert r.status == 200, (r.status, d[:200])
PY
}
signins 5
callgrind_control -d warm $vpid > /dev/null
signins "$n"
callgrind_control -d measured $vpid > /dev/null
last=$(ls -v "$out/cg-$label.out".* | tail -1)
total=$(grep -m1 '^summary' "$last" | cut -d' ' -f2)
echo "$label: $((total / n)) instructions/sign-in"
echo "$label: provider fetches after $((n + 5)) sign-ins: $(curl -s 127.0.0.1:$mport/counts)"
kill $vpid; wait $vpid 2>/dev/null || true
