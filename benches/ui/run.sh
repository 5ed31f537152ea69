#!/usr/bin/env bash
# The web UI's page times over HTTP on loopback, signed in.
#
#   benches/ui/run.sh [REQUESTS]     (default 200 requests per page)
#
# Builds `updraft` (release; UPDRAFT_BIN skips the build), starts a private
# Postgres (scripts/pg.sh --fast), migrates it and fills it with gen.py: 500
# DAGs, and `bench_big` (200 tasks in 10 task groups) with 1,000 finished runs
# (200,000 task instances) inserted directly. Starts `updraft webserver` on a
# free loopback port, signs in as an Admin with curl, then for each page
# sends 10 warm-up requests and REQUESTS timed ones, one at a time, and prints
# the median and p90 of curl's time_total (target: median < 150 ms):
#   /dags/bench_big/grid?num_runs=25, /dags/bench_big/grid?num_runs=100,
#   /home, /dags/bench_big/code, one task instance page, the graph (after
#   timing its first request, which lays the DAG out), one run's page, the
#   durations chart and the two browse lists.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
requests=${1:-200}
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
command -v cargo >/dev/null 2>&1 || PATH="$HOME/.cargo/bin:$PATH"
if [ -z "${UPDRAFT_BIN:-}" ]; then
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/updraft/target}
  export PYO3_PYTHON=/usr/bin/python3.11
  cargo build --release -p updraft >&2
  UPDRAFT_BIN="$CARGO_TARGET_DIR/release/updraft"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/updraft-bench-ui.XXXXXX")
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
/usr/bin/python3 benches/ui/gen.py | psql "$url" -XAtq -v ON_ERROR_STOP=1 >/dev/null
printf 'data: %s DAGs, %s runs, %s task instances (loaded in %.1f s)\n' \
  "$(psql "$url" -XAtc 'SELECT count(*) FROM dag')" \
  "$(psql "$url" -XAtc 'SELECT count(*) FROM dag_run')" \
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

jar="$work/cookies"
csrf=$(curl -fsS -c "$jar" "$base/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)
curl -fsS -b "$jar" -c "$jar" -o /dev/null \
  --data-urlencode username=bench --data-urlencode password=bench-pw-1 \
  --data-urlencode "csrf_token=$csrf" --data-urlencode next= "$base/login"
grep -q updraft_session "$jar" || { echo "sign-in failed" >&2; exit 1; }

run=$(psql "$url" -XAtc "SELECT run_id FROM dag_run WHERE dag_id = 'bench_big' ORDER BY run_after DESC LIMIT 1")
run_enc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$run")

# The graph's first request lays the DAG out (then cached per DAG version).
first=$(curl -sS -b "$jar" -o /dev/null -w '%{http_code} %{time_total}' "$base/dags/bench_big/graph")
[ "${first%% *}" = 200 ] || { echo "/dags/bench_big/graph answered ${first%% *}" >&2; exit 1; }
printf 'graph: first request (200-task layout computed) %.1f ms\n' "$(echo "${first#* } * 1000" | bc)"

printf '%-52s %8s %8s %9s\n' page median p90 bytes
for path in "/dags/bench_big/grid?num_runs=25" "/dags/bench_big/grid?num_runs=100" "/home" \
            "/dags/bench_big/code" "/dags/bench_big/runs/$run_enc/tasks/group_05.task_10" \
            "/dags/bench_big/graph" "/dags/bench_big/runs/$run_enc" "/dags/bench_big/durations?num_runs=365" \
            "/dag_runs" "/dag_runs?dag_id=bench_big&state=failed" "/task_instances" \
            "/task_instances?dag_id=bench_big&state=failed"; do
  status=$(curl -sS -b "$jar" -o "$work/page" -w '%{http_code}' "$base$path")
  [ "$status" = 200 ] || { echo "$path answered $status" >&2; exit 1; }
  for _ in $(seq 1 10); do curl -sS -b "$jar" -o /dev/null "$base$path"; done
  for _ in $(seq 1 "$requests"); do
    curl -sS -b "$jar" -o /dev/null -w '%{time_total}\n' "$base$path"
  done | sort -n | awk -v path="$path" -v bytes="$(wc -c <"$work/page")" '
    { t[NR] = $1 }
    END { printf "%-52s %6.1f ms %6.1f ms %9d\n", substr(path, 1, 52), t[int((NR + 1) / 2)] * 1000, t[int(NR * 0.9 + 0.5)] * 1000, bytes }'
done
