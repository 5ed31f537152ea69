#!/usr/bin/env bash
# Benchmark: how fast DAG runs go through the scheduler and worker.
# Triggers RUNS runs of chain_20 (20 BashOperator `true` tasks in a chain, from
# ../shared/bench/gen_dags.py) with `updraft scheduler` + `updraft worker`
# running, and prints the gap between a task's end and its downstream task's
# start (median, p90) and the runs' wall times (median).
#
#   benches/run/run.sh [RUNS]        (default 5)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
runs=${1:-5}
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
command -v cargo >/dev/null 2>&1 || PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/updraft/target}
export PYO3_PYTHON=/usr/bin/python3.11
scripts/setup-debian.sh >&2
cargo build --release -p updraft >&2
bin="$CARGO_TARGET_DIR/release/updraft"
gen=${GEN_DAGS:-$root/../shared/bench/gen_dags.py}

work=$(mktemp -d "${TMPDIR:-/tmp}/updraft-bench-run.XXXXXX")
chmod 755 "$work" # as root the cluster runs as `postgres` and must reach it
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/pg.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

/usr/bin/python3 "$gen" "$work/gen" --parse-n 1 >/dev/null
url=$(scripts/pg.sh start "$work/pg")
export UPDRAFT_HOME="$work/home" UPDRAFT__DATABASE__URL="$url" UPDRAFT__CORE__DAGS_FOLDER="$work/gen/run"
"$bin" db migrate >/dev/null
"$bin" dags reserialize >/dev/null
"$bin" dags unpause chain_20 >/dev/null
"$bin" scheduler --interval 1 2>/dev/null & pids+=($!)
"$bin" worker --concurrency 2 2>/dev/null & pids+=($!)
sleep 1 # both loops up and listening
for i in $(seq 1 "$runs"); do
  "$bin" dags trigger chain_20 --run-id "bench_$i" >/dev/null
  # One run at a time: the gaps measure the hand-offs, not queueing.
  for _ in $(seq 1 600); do
    state=$(psql "$url" -Atc "SELECT state FROM dag_run WHERE run_id = 'bench_$i'")
    [ "$state" = success ] || [ "$state" = failed ] && break
    sleep 0.1
  done
  [ "$state" = success ] || { echo "run bench_$i ended $state" >&2; exit 1; }
done

echo "machine: $(nproc) cores, $(uname -m), load $(cut -d' ' -f1 /proc/loadavg)"
echo "workload: $runs runs of chain_20 (20 BashOperator 'true' in a chain), one at a time, 2 worker slots"
psql "$url" -At -F ' ' -c "
  WITH t AS (
    SELECT run_id, start_date, end_date,
           lag(end_date) OVER (PARTITION BY run_id ORDER BY start_date) AS prev_end
      FROM task_instance WHERE run_id LIKE 'bench_%')
  SELECT 'task hand-off (upstream end -> downstream start): median',
         round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM start_date - prev_end) * 1000)::numeric, 1),
         'ms, p90',
         round(percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM start_date - prev_end) * 1000)::numeric, 1),
         'ms'
    FROM t WHERE prev_end IS NOT NULL" -c "
  SELECT 'run wall time: median',
         round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM end_date - start_date))::numeric, 2),
         's for 20 tasks'
    FROM dag_run WHERE run_id LIKE 'bench_%'"
