#!/usr/bin/env bash
# The REST API's throughput and latency over HTTP on loopback, with a JWT.
#
#   benches/api/run.sh [REPEATS] [SECONDS]   (default 3 repeats of 20 s)
#
# Builds `updraft` (release; UPDRAFT_BIN skips the build) and installs the
# load generator `oha` once into ~/.cache/updraft/bin (`cargo install oha
# --locked`; OHA=… uses a given one). Starts a private Postgres
# (scripts/pg.sh --fast), migrates it and fills it with gen.py: the paused
# DAG `bench_api` with 10,000 finished runs, and 200 other DAGs with 50 runs
# each, inserted directly. Starts `updraft webserver` on a free loopback port,
# gets a JWT from POST /auth/token, and runs each case REPEATS times for
# SECONDS seconds after a 3 s warm-up:
#   list@200     GET /api/v2/dags/bench_api/dagRuns?limit=100, 200 req/s
#   list@max     the same, as fast as 16 connections go
#   trigger@200  POST /api/v2/dags/bench_api/dagRuns {"logical_date": null,
#                "conf": {...}}, 200 req/s: each creates a queued run and its
#                5 task instances (the DAG is paused and no scheduler runs:
#                nothing executes; the runs pile up, ~4,000 per repeat)
# It prints each repeat (requests/s, p50, p99, non-2xx answers) and the
# median of the repeats. Target: p99 < 50 ms at 200 req/s.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
repeats=${1:-3}
seconds=${2:-20}
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
command -v cargo >/dev/null 2>&1 || PATH="$HOME/.cargo/bin:$PATH"
if [ -z "${UPDRAFT_BIN:-}" ]; then
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/updraft/target}
  export PYO3_PYTHON=/usr/bin/python3.11
  cargo build --release -p updraft >&2
  UPDRAFT_BIN="$CARGO_TARGET_DIR/release/updraft"
fi
if [ -z "${OHA:-}" ]; then
  OHA=$HOME/.cache/updraft/bin/oha
  # Its own target dir: the build is cached by the installed binary.
  [ -x "$OHA" ] || env -u CARGO_TARGET_DIR cargo install oha --locked --root "$HOME/.cache/updraft" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/updraft-bench-api.XXXXXX")
chmod 755 "$work" # as root the cluster runs as `postgres` and must reach it
server=
cleanup() {
  [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
  scripts/pg.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

url=$(scripts/pg.sh start --fast "$work/pg")
export UPDRAFT_HOME="$work/home" UPDRAFT__DATABASE__URL="$url"
"$UPDRAFT_BIN" db migrate >/dev/null
t0=$(date +%s.%N)
/usr/bin/python3 benches/api/gen.py | psql "$url" -XAtq -v ON_ERROR_STOP=1 >/dev/null
printf 'data: %s DAGs, %s runs (%s of bench_api), %s task instances (loaded in %.1f s)\n' \
  "$(psql "$url" -XAtc 'SELECT count(*) FROM dag')" \
  "$(psql "$url" -XAtc 'SELECT count(*) FROM dag_run')" \
  "$(psql "$url" -XAtc "SELECT count(*) FROM dag_run WHERE dag_id = 'bench_api'")" \
  "$(psql "$url" -XAtc 'SELECT count(*) FROM task_instance')" \
  "$(echo "$(date +%s.%N) - $t0" | bc)"
"$UPDRAFT_BIN" users create --username bench --password bench-pw-1 --role Admin >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$UPDRAFT_BIN" webserver --host 127.0.0.1 --port "$port" >"$work/web.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
  grep -q "Webserver listening" "$work/web.log" && break
  sleep 0.1
done
grep -q "Webserver listening" "$work/web.log" || { cat "$work/web.log" >&2; exit 1; }

token=$(curl -fsS -H 'Content-Type: application/json' \
  -d '{"username": "bench", "password": "bench-pw-1"}' "$base/auth/token" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
auth="Authorization: Bearer $token"
list="$base/api/v2/dags/bench_api/dagRuns?limit=100"
trigger="$base/api/v2/dags/bench_api/dagRuns"
body='{"logical_date": null, "conf": {"source": "benches/api", "batch": 7}}'

# A check that the cases do what they say before timing them.
total=$(curl -fsS -H "$auth" "$list" | python3 -c '
import json, sys
page = json.load(sys.stdin)
assert len(page["dag_runs"]) == 100, len(page["dag_runs"])
print(page["total_entries"])')
[ "$total" -ge 10000 ] || { echo "list answered total_entries=$total" >&2; exit 1; }
curl -fsS -H "$auth" -H 'Content-Type: application/json' -d "$body" "$trigger" |
  python3 -c 'import json, sys; r = json.load(sys.stdin); assert r["state"] == "queued", r' ||
  { echo "trigger failed" >&2; exit 1; }

# One oha run: CASE RATE(0 = unlimited) URL [oha args...]; prints one row.
measure() {
  local name=$1 rate=$2 target=$3; shift 3
  local limit=()
  # At a fixed rate, a late request counts from when it was due (no
  # coordinated omission): the p99 a client sending at that rate sees.
  [ "$rate" -gt 0 ] && limit=(-q "$rate" --latency-correction)
  "$OHA" --no-tui -z 3s -c 16 "${limit[@]}" -H "$auth" "$@" "$target" >/dev/null # warm-up
  "$OHA" --no-tui --output-format json -z "${seconds}s" -c 16 "${limit[@]}" -H "$auth" "$@" "$target" |
    python3 -c '
import json, sys
name = sys.argv[1]
r = json.load(sys.stdin)
codes = {int(k): v for k, v in r["statusCodeDistribution"].items()}
# Requests still in flight when the time is up are cut, not failed.
errors = {k: v for k, v in r.get("errorDistribution", {}).items() if k != "aborted due to deadline"}
bad = sum(v for k, v in codes.items() if not 200 <= k < 300) + sum(errors.values())
p, rate = r["latencyPercentiles"], r["summary"]["requestsPerSec"]
print("%s %.1f %.2f %.2f %d" % (name, rate, p["p50"] * 1000, p["p99"] * 1000, bad))
' "$name"
}

results="$work/results"
for i in $(seq 1 "$repeats"); do
  measure list@200 200 "$list"
  measure list@max 0 "$list"
  measure trigger@200 200 "$trigger" -m POST -T application/json -d "$body"
done | tee "$results" | awk '{ printf "run: %-12s %9s req/s  p50 %7s ms  p99 %7s ms  non-2xx %s\n", $1, $2, $3, $4, $5 }'

echo "median of $repeats runs of ${seconds} s (Target: p99 < 50 ms at 200 req/s):"
python3 - "$results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *vals = line.split()
    rows.setdefault(name, []).append([float(v) for v in vals])
print(f"{'case':<12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
for name, runs in rows.items():
    med = [statistics.median(col) for col in zip(*runs)]
    print(f"{name:<12} {med[0]:9.1f} {med[1]:8.2f} {med[2]:8.2f} {int(sum(r[3] for r in runs)):8d}")
EOF
printf 'runs of bench_api after the benchmark: %s\n' \
  "$(psql "$url" -XAtc "SELECT count(*) FROM dag_run WHERE dag_id = 'bench_api'")"
