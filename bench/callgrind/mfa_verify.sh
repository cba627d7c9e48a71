#!/bin/bash
# Instructions per second-factor verification of one server binary, counted by callgrind:
# `POST /mfa/verify-login` with a TOTP code and with a passkey's assertion, and a passwordless
# sign-in (`POST /auth/passkey/verify`, and its `POST /auth/passkey/options`). See BENCHMARKS.md,
# "A passkey's cost". Needs node (the driver, mfa_verify.mjs, is the software authenticator).
#   bench/callgrind/mfa_verify.sh LABEL BINARY N
# Prints the instructions per request of the whole server (all threads); the logins and options
# each measured request needs are made before the counters are zeroed.
set -euo pipefail
label=$1; bin=$2; n=$3
port=${PORT:-18391}; out=${OUT:-/tmp/pf}; mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
rm -f "$out/cg-$label.out"* "$out/$label.db"*
db="$out/$label.db"
valgrind --tool=callgrind --callgrind-out-file="$out/cg-$label.out" "$bin" --database-url "sqlite://$db" \
  serve --listen 127.0.0.1:$port --rate-limit-per-ip 0 --rate-limit-per-account 0 > "$out/vg-$label.log" 2>&1 &
vpid=$!
trap 'kill $vpid 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do curl -s -o /dev/null 127.0.0.1:$port/health && break; sleep 1; done
node "$here/mfa_verify.mjs" "$port" "$vpid" "$bin" "$db" "$out" "$label" "$n"
kill $vpid; wait $vpid 2>/dev/null || true
