#!/bin/bash
# What a 60 KiB settings write costs one server binary: instructions per request counted by
# callgrind, and the growth of the process's peak memory (VmHWM) over the same writes run
# natively. See BENCHMARKS.md, "A 60 KiB settings write".
#
#   bench/callgrind/settings.sh LABEL BINARY N
#
# The writes are the review's worst case: 3,000 keys under one 30 KB key, so that each changed
# path repeats 30 KB.
#   accepted: PUT /settings/user of the 3,000 keys (60 KiB) over {P: {}}, their values
#             alternating, so every write changes all 3,000 paths;
#   refused:  the same PUT over an object that already holds 32 KB beside P: the merged object
#             (92 KiB) is over the 64 KiB bound, 400.
set -euo pipefail
label=$1; bin=$2; n=$3
port=${PORT:-18291}; out=${OUT:-/tmp/pf}; mkdir -p "$out"

# Starts BINARY (under $WRAP, if set) on a fresh SQLite file with a verified owner; sets $pid and
# writes the owner's token to $out/token-$label.
start() {
  rm -f "$out/settings-$label.db"*
  db="sqlite://$out/settings-$label.db"
  # Binaries from before the settings rate limit have no flag for it.
  local unlimited=(--rate-limit-per-ip 0 --rate-limit-per-account 0)
  if "$bin" serve --help | grep -q rate-limit-settings-writes-per-user; then
    unlimited+=(--rate-limit-settings-writes-per-user 0)
  fi
  $WRAP "$bin" --database-url "$db" serve --listen 127.0.0.1:$port "${unlimited[@]}" \
    > "$out/vg-settings-$label.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 240); do curl -s -o /dev/null 127.0.0.1:$port/health && break; sleep 1; done
  curl -s -X POST 127.0.0.1:$port/user/register -H 'content-type: application/json' \
    -d '{"email":"own@x.io","password":"Secret123","firstName":"O","lastName":"W","companyName":"X","isBusiness":false}' > /dev/null
  "$bin" --database-url "$db" user verify own@x.io > /dev/null
  curl -s -X POST 127.0.0.1:$port/user/login -H 'content-type: application/json' \
    -d '{"email":"own@x.io","password":"Secret123"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"], end="")' > "$out/token-$label"
}

# Stores the object MODE's writes start from: for accepted, {P: {}}; for refused, {P: {}} and
# 40 KB beside it, so that 60 KiB more under P is over the bound. A replace of so few paths is
# cheap for every binary.
seed() {
  python3 - "$port" "$1" "$out/token-$label" <<'PY'
import http.client, json, sys
port, mode, token_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
settings = {"p" * 30_000: {}}
if mode == "refused":
    settings["q"] = "x" * 32_000
h = {"authorization": "Bearer " + open(token_file).read(), "content-type": "application/json"}
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("POST", "/settings/user", json.dumps({"settings": settings}), h)
r = c.getresponse(); d = r.read(); assert r.status == 200, (r.status, d[:200])
PY
}

# Sends N writes of MODE (accepted or refused), one at a time on one connection.
writes() {
  python3 - "$port" "$1" "$2" "$out/token-$label" <<'PY'
import http.client, json, sys
port, n, mode, token_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
token = open(token_file).read()
long_key = "p" * 30_000
h = {"authorization": "Bearer " + token, "content-type": "application/json"}
c = http.client.HTTPConnection("127.0.0.1", port)
for i in range(n):
    body = {long_key: {f"k{j}": i % 2 for j in range(3000)}}
    want = 200 if mode == "accepted" else 400
    data = json.dumps(body)
    c.request("PUT", "/settings/user", data, h); r = c.getresponse(); d = r.read()
    assert r.status == want, (r.status, d[:200])
PY
}

hwm() { awk '/^VmHWM/ {print $2}' /proc/$pid/status; }

# Each mode on a fresh server: instructions per write under callgrind, then the growth of the
# peak memory over the same writes run natively (the seed and a few small requests come first).
for mode in refused accepted; do
  rm -f "$out/cg-settings-$label.out"*
  WRAP="valgrind --tool=callgrind --callgrind-out-file=$out/cg-settings-$label.out" start
  seed $mode
  writes 2 $mode
  callgrind_control -d warm $pid > /dev/null
  writes "$n" $mode
  callgrind_control -d measured $pid > /dev/null
  last=$(ls -v "$out/cg-settings-$label.out".* | tail -1)
  total=$(grep -m1 '^summary' "$last" | cut -d' ' -f2)
  echo "$label $mode: $((total / n)) instructions/request"
  kill $pid; wait $pid 2>/dev/null || true

  WRAP= start
  seed $mode
  before=$(hwm)
  writes "$n" $mode
  echo "$label $mode: peak RSS $before -> $(hwm) KiB over $n writes"
  kill $pid; wait $pid 2>/dev/null || true
done
