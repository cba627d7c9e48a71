#!/usr/bin/env bash
# The regression guard: a given commit against today's tree, before a performance-sensitive
# change lands. See BENCHMARKS.md, "The regression guard".
#
#   bench/guard.sh instructions BASE_REV [DATABASE]
#       Instructions per request (callgrind; repeatable on a noisy machine) of login, create,
#       get, list and list-page of both binaries, side by side, with the ratio tree/base.
#       GUARD_MODES picks some of them (e.g. "create get"); N is the requests of each (200);
#       CONNS=C sends them over C connections at once (see bench/callgrind/drive.py), to count
#       what concurrency costs (batches, wake-ups) as well.
#   bench/guard.sh build REV
#       Only builds REV (kept in $GUARD_DIR/bin) and prints the binary's path.
#   bench/guard.sh load BASE_REV [DATABASE] [SCENARIOS]
#       The load benchmark (bench crate, 64 connections) of both binaries in ABBA order
#       (base, tree, tree, base), so a drift of the machine during the run falls on both alike;
#       prints each run's figures and the ratios of the pairs' means. BENCH_ARGS adds arguments
#       of the bench crate (e.g. "--duration 5s --warmup 2s").
#
# DATABASE: `sqlite` (default) or a postgres:// URL of a server where databases may be created
# (each binary gets fresh ones). SCENARIOS: the bench crate's, comma-separated (default
# create,get,list). BASE_REV: anything git understands (a sha, a tag, HEAD~3, main).
#
# Both binaries are release builds: the base in a temporary worktree, the tree as it is on disk
# (uncommitted changes included). They share this checkout's target directory, so only the
# workspaces crate itself builds twice. Binaries are kept in $GUARD_DIR (target/guard) by commit,
# so a second run against the same base does not build it again. Needs valgrind for
# `instructions`. Two guards at once need their own GUARD_DIR, GUARD_PORT (the `instructions`
# server's port, 18391) and GUARD_DB_PREFIX (PostgreSQL databases `<prefix>_base`/`_tree`,
# `guard`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mode=${1:?usage: bench/guard.sh instructions|load BASE_REV [DATABASE] [SCENARIOS]}
base_rev=${2:?usage: bench/guard.sh instructions|load BASE_REV [DATABASE] [SCENARIOS]}
database=${3:-sqlite}
scenarios=${4:-create,get,list}
out=${GUARD_DIR:-$root/target/guard}
mkdir -p "$out/bin"

# The release binary of `rev`, built in a worktree of its own; prints its path.
build_rev() {
  local sha bin src
  sha=$(git rev-parse --short=12 "$1^{commit}")
  bin="$out/bin/workspaces-$sha"
  if [[ ! -x $bin ]]; then
    src="$out/src-$sha"
    rm -rf "$src"
    git worktree add --detach --force "$src" "$sha" >&2
    # The crate's path differs from this checkout's, so cargo keeps its artifacts apart; the
    # binary is taken from the build's own report, not from target/release, which both share.
    # Cargo copies the base's binary to target/release/workspaces too: the tree's is put back,
    # so that `cargo run --release` and the bench crate keep finding the tree's own.
    local own="$root/target/release/workspaces"
    [[ -x $own ]] && cp -p "$own" "$out/own-before-base"
    (cd "$src" && CARGO_TARGET_DIR="$root/target" cargo build --release --bin workspaces \
      --message-format=json-render-diagnostics) | executable > "$out/exe-$sha"
    cp "$(cat "$out/exe-$sha")" "$bin"
    if [[ -f $out/own-before-base ]]; then
      rm -f "$own" && mv "$out/own-before-base" "$own"
    fi
    git worktree remove --force "$src"
  fi
  echo "$bin"
}

# The release binary of the tree as it is on disk; prints its path.
build_tree() {
  (cargo build --release --bin workspaces --message-format=json-render-diagnostics) |
    executable > "$out/exe-tree"
  cp "$(cat "$out/exe-tree")" "$out/bin/workspaces-tree"
  echo "$out/bin/workspaces-tree"
}

# The path of the `workspaces` executable in cargo's JSON messages on stdin.
executable() {
  python3 -c '
import json, sys
for line in sys.stdin:
    try: message = json.loads(line)
    except ValueError: continue
    if message.get("reason") == "compiler-artifact" and message.get("executable") \
            and message["target"]["name"] == "workspaces":
        print(message["executable"])'
}

if [[ $mode == build ]]; then
  build_rev "$base_rev"
  exit 0
fi

# BASE_BIN and TREE_BIN, when set, are binaries already built (of BASE_REV and of the tree).
echo "== building $base_rev and the tree" >&2
base=${BASE_BIN:-$(build_rev "$base_rev")}
tree=${TREE_BIN:-$(build_tree)}
if cmp -s "$base" "$tree"; then
  echo "note: the two binaries are byte for byte the same" >&2
fi
base_label=$(git rev-parse --short=7 "$base_rev^{commit}")

# A fresh database URL for one binary: a file under $out, or a new database on the server.
fresh_database() {
  local name=$1
  if [[ $database == sqlite ]]; then
    rm -f "$out/$name.db"*
    echo "sqlite://$out/$name.db"
  else
    psql "$database" -qc "DROP DATABASE IF EXISTS ${GUARD_DB_PREFIX:-guard}_$name" -c "CREATE DATABASE ${GUARD_DB_PREFIX:-guard}_$name" >&2
    echo "${database%/*}/${GUARD_DB_PREFIX:-guard}_$name"
  fi
}

instructions() {
  local label=$1 bin=$2 db port=${GUARD_PORT:-18391} wid
  db=$(fresh_database "$label")
  # Seed with this binary (its own migrations), then count on the seeded database.
  "$bin" --database-url "$db" serve --listen 127.0.0.1:$port --rate-limit-per-ip 0 \
    --rate-limit-per-account 0 > "$out/seed-$label.log" 2>&1 &
  local spid=$!
  for _ in $(seq 1 120); do curl -s -o /dev/null 127.0.0.1:$port/health && break; sleep 0.5; done
  TOKEN_FILE="$out/token-$label" python3 bench/callgrind/seed.py $port "$bin" "$db" > /dev/null
  wid=$(curl -s 127.0.0.1:$port/workspace -H "authorization: Bearer $(cat "$out/token-$label")" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["workspaces"][0]["id"])')
  kill $spid; wait $spid 2>/dev/null || true
  local modes=${GUARD_MODES:-page list get create login}
  OUT=$out PORT=$port MODES="${modes/get//workspace/$wid}" \
    bench/callgrind/count.sh "$label" "$bin" "${N:-200}" "$db" "$wid" | tee -a "$out/counts"
  if [[ $database != sqlite ]]; then
    psql "$database" -qc "DROP DATABASE IF EXISTS ${GUARD_DB_PREFIX:-guard}_$label" >&2
  fi
}

case $mode in
  instructions)
    command -v valgrind > /dev/null || { echo "valgrind is needed" >&2; exit 1; }
    : > "$out/counts"
    instructions base "$base"
    instructions tree "$tree"
    python3 - "$out/counts" "$base_label" <<'PY'
import re, sys
counts = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\w+) (\S+): (\d+) instructions/request", line)
    if m: counts.setdefault(m.group(2), {})[m.group(1)] = int(m.group(3))
print(f"\n{'request':<10} {'base ' + sys.argv[2]:>16} {'tree':>16} {'tree/base':>10}")
names = {"page": "list-page", "list": "list", "get": "get", "create": "create", "login": "login"}
for key, name in names.items():
    c = counts.get(key, {})
    if "base" in c and "tree" in c:
        print(f"{name:<10} {c['base']:>16,} {c['tree']:>16,} {c['tree'] / c['base']:>10.3f}")
PY
    ;;
  load)
    cargo build --release -p bench >&2
    db_arg=$database
    for run in 1 2 3 4; do
      case $run in 1|4) label=base; bin=$base ;; *) label=tree; bin=$tree ;; esac
      echo "== run $run: $label" >&2
      # shellcheck disable=SC2086 # BENCH_ARGS is a list of arguments
      target/release/bench --server-bin "$bin" --db "$db_arg" --scenarios "$scenarios" ${BENCH_ARGS:-} \
        --runs 1 --json "$out/load-$run-$label.json" > "$out/load-$run-$label.txt"
    done
    python3 - "$out" "$base_label" <<'PY'
import json, sys
out, base_label = sys.argv[1], sys.argv[2]
runs = [(i, "base" if i in (1, 4) else "tree") for i in (1, 2, 3, 4)]
figures = {}
for i, label in runs:
    report = json.load(open(f"{out}/load-{i}-{label}.json"))
    for scenario in report["scenarios"]:
        name = scenario["name"]
        figures.setdefault(name, {}).setdefault(label, []).append(
            (scenario["median"]["requests_per_s"], scenario["median"].get("server_cpu_us_per_request")))
print(f"\n{'scenario':<22} {'req/s base (A..A)':>20} {'req/s tree (B B)':>20} {'req/s tree/base':>16} {'CPU us/req base':>16} {'tree':>10} {'tree/base':>10}")
for name, by in figures.items():
    b, t = by.get("base", []), by.get("tree", [])
    if not b or not t: continue
    mean = lambda xs: sum(xs) / len(xs)
    rb, rt = mean([x[0] for x in b]), mean([x[0] for x in t])
    cpu_b = [x[1] for x in b if x[1] is not None]; cpu_t = [x[1] for x in t if x[1] is not None]
    cb = mean(cpu_b) if cpu_b else float("nan"); ct = mean(cpu_t) if cpu_t else float("nan")
    print(f"{name:<22} {' / '.join(f'{x[0]:.0f}' for x in b):>20} {' / '.join(f'{x[0]:.0f}' for x in t):>20} {rt / rb:>16.3f} {cb:>16.1f} {ct:>10.1f} {ct / cb:>10.3f}")
print(f"\nbase = {base_label}; runs in order base, tree, tree, base")
PY
    ;;
  *) echo "unknown mode $mode: instructions or load" >&2; exit 2 ;;
esac
