#!/usr/bin/env bash
# Benchmarks: DAG runs through `updraft standalone` (DAG processor, scheduler
# and worker pool in one process) against a private Postgres.
#
#   benches/run/run.sh [RUNS] [BENCH...]     (default: 5 runs; every bench)
#
# BENCH is one of
#   chain_20    20 BashOperator `true` in a chain, one run at a time: the gap
#               between a task's end and its downstream task's start (median,
#               p90) and the run's wall time (median)
#   fanout_200  start (Empty) >> 200 parallel BashOperator `true` >> end
#               (Empty): wall time from trigger to success (median; target
#               < 3 s on 2 cores)
#   empty_10k   10,000 EmptyOperator tasks in 100 layers of 100: task
#               instances finished per second (median; target >= 5,000/s)
#   python_50   50 parallel PythonOperator tasks returning a small dict, then
#               one pulling all 50 XComs: wall time from trigger to success
#               (median; target < 2 s, warm Python task runner)
# and at the end the peak memory of the standalone process tree (the updraft
# process, its parse servers and the running bash commands; Postgres not
# included) across all of them (target < 150 MB).
#
# The DAG files come from ../shared/bench/gen_dags.py (GEN_DAGS overrides);
# empty_10k's file is written by benches/run/empty_dag.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
runs=${1:-5}
shift || true
benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(chain_20 fanout_200 empty_10k python_50)
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
# Only the DAGs of the chosen benches are loaded: the 10,000-task file alone
# dominates the process's memory.
case " ${benches[*]} " in
  *" empty_10k "*) /usr/bin/python3 benches/run/empty_dag.py "$work/gen/run/empty_10k.py" ;;
esac
wanted=$(printf "'%s'," "${benches[@]}")
wanted=${wanted%,}
url=$(scripts/pg.sh start --fast "$work/pg")
export UPDRAFT_HOME="$work/home" UPDRAFT__DATABASE__URL="$url" UPDRAFT__CORE__DAGS_FOLDER="$work/gen/run"
# The 10,000-task file takes a few seconds to serialize.
export UPDRAFT__DAG_PROCESSOR__PARSE_TIMEOUT=120
sql() { psql "$url" -XAtq "$@"; }
"$bin" db migrate >/dev/null
"$bin" standalone >"$work/standalone.log" 2>&1 & pids+=($!)
standalone=$!
/usr/bin/python3 benches/run/peak_mem.py "$standalone" "$work/peak" & pids+=($!)
sampler=$!
for _ in $(seq 1 1200); do
  [ "$(sql -c "SELECT count(*) FROM dag WHERE dag_id IN ($wanted)")" = ${#benches[@]} ] && break
  sleep 0.1
done
[ "$(sql -c "SELECT count(*) FROM dag WHERE dag_id IN ($wanted)")" = ${#benches[@]} ] \
  || { cat "$work/standalone.log" >&2; echo "DAGs not loaded" >&2; exit 1; }

# Triggers RUNS runs of $1, one at a time, waiting for each to end; the
# wall times (trigger -> success seen, polled every 20 ms) go to $work/$1.wall.
# Wall clock, not the runs' own timestamps: a scheduler pass stamps all it
# does with the time the pass began, so end_date can precede the real end.
run_dag() {
  local dag=$1 i state t0
  "$bin" dags unpause "$dag" >/dev/null
  for i in $(seq 1 "$runs"); do
    t0=$(date +%s.%N)
    "$bin" dags trigger "$dag" --run-id "bench_$i" >/dev/null
    for _ in $(seq 1 6000); do
      state=$(sql -c "SELECT state FROM dag_run WHERE dag_id = '$dag' AND run_id = 'bench_$i'")
      [ "$state" = success ] || [ "$state" = failed ] && break
      sleep 0.02
    done
    [ "$state" = success ] || { echo "$dag run bench_$i ended ${state:-nowhere}" >&2; exit 1; }
    awk -v end="$(date +%s.%N)" -v start="$t0" 'BEGIN { printf "%.3f\n", end - start }' >>"$work/$dag.wall"
  done
}

# Median of the wall times of $1, in seconds.
wall_median() {
  sort -n "$work/$1.wall" | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m }'
}

# Median over the runs of $dag of a per-run SQL expression.
median() {
  sql -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY $2)::numeric, $3)
            FROM dag_run WHERE dag_id = '$1' AND run_id LIKE 'bench_%'"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -m)"
echo "process: updraft standalone (worker pool of 16 slots), Postgres on loopback (fsync off); medians of $runs runs, one run at a time"
for b in "${benches[@]}"; do
  case $b in
    chain_20)
      run_dag chain_20
      sql -F ' ' -c "
        WITH t AS (
          SELECT run_id, start_date, end_date,
                 lag(end_date) OVER (PARTITION BY run_id ORDER BY start_date) AS prev_end
            FROM task_instance WHERE dag_id = 'chain_20' AND run_id LIKE 'bench_%')
        SELECT 'chain_20: task hand-off (upstream end -> downstream start): median',
               round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM start_date - prev_end) * 1000)::numeric, 1),
               'ms, p90',
               round(percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM start_date - prev_end) * 1000)::numeric, 1),
               'ms'
          FROM t WHERE prev_end IS NOT NULL"
      echo "chain_20: run wall time: median $(median chain_20 'extract(epoch FROM end_date - start_date)' 2) s for 20 tasks"
      ;;
    fanout_200)
      run_dag fanout_200
      echo "fanout_200: trigger -> success: median $(wall_median fanout_200) s for 202 tasks (target < 3 s)"
      ;;
    empty_10k)
      run_dag empty_10k
      w=$(wall_median empty_10k)
      echo "empty_10k: trigger -> success: median $w s, so $(awk -v w="$w" 'BEGIN { printf "%d", 10000 / w }') task instances finished per second (target >= 5000/s)"
      ;;
    python_50)
      run_dag python_50
      echo "python_50: trigger -> success: median $(wall_median python_50) s for 51 Python tasks (target < 2 s)"
      ;;
    *) echo "unknown bench $b" >&2; exit 2 ;;
  esac
done
kill -TERM "$sampler"
wait "$sampler" 2>/dev/null || true
echo "peak memory of the standalone process tree (no Postgres) over ${benches[*]}: $(cat "$work/peak") (target < 150 MB RSS)"
