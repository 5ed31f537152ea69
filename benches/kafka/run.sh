#!/usr/bin/env bash
# Benchmark of issue 4: N messages of S bytes (default 100,000 of 200 B)
# produced by one ProduceToTopicOperator task and consumed by one
# ConsumeFromTopicOperator task, under `updraft standalone`, against a plain
# rdkafka producer/consumer loop (kafka/examples/plain_loop.rs) on the same
# broker in the same run. Target: each way at least 80 % of the plain loop.
#
#   benches/kafka/run.sh [RUNS] [N] [SIZE]      (default: 5 100000 200)
#
# Per run, each on a new 3-partition topic: the plain loop, then the DAG
# benches/kafka/kafka_bench.py (produce >> consume with a per-message Python
# apply_function >> consume with no function). Figures: the operators' own
# rates from their task logs ("Produced N message(s) ... in S s", "Consumed
# ... in S s": from the first message asked for to the last acknowledged or
# read, group join included, as the plain loop measures), and the whole task
# (start to end, including claiming the try, rendering, starting the Python
# child and the final write). Medians over the runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
runs=${1:-5}
n=${2:-100000}
size=${3:-200}
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
command -v cargo >/dev/null 2>&1 || PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/updraft/target}
export PYO3_PYTHON=/usr/bin/python3.11
scripts/setup-debian.sh >&2
scripts/kafka.sh install >&2
cargo build --release -p updraft >&2
cargo build --release -p updraft-kafka --example plain_loop >&2
bin="$CARGO_TARGET_DIR/release/updraft"
plain="$CARGO_TARGET_DIR/release/examples/plain_loop"

work=$(mktemp -d "${TMPDIR:-/tmp}/updraft-bench-kafka.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/kafka.sh stop "$work/kafka" >/dev/null 2>&1 || true
  scripts/pg.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/dags"
cp benches/kafka/kafka_bench.py "$work/dags/"
url=$(scripts/pg.sh start --fast "$work/pg")
bootstrap=$(scripts/kafka.sh start "$work/kafka")
conn() { printf '{"conn_type": "kafka", "extra": {"bootstrap.servers": "%s", "group.id": "%s"}}' "$bootstrap" "$1"; }
export KAFKA_BENCH_N=$n UPDRAFT_HOME="$work/home" UPDRAFT__DATABASE__URL="$url" UPDRAFT__CORE__DAGS_FOLDER="$work/dags"
export AIRFLOW_CONN_KAFKA_DEFAULT=$(conn bench) AIRFLOW_CONN_KAFKA_APPLY=$(conn apply) AIRFLOW_CONN_KAFKA_NATIVE=$(conn native)
sql() { psql "$url" -XAtq "$@"; }
"$bin" db migrate >/dev/null
"$bin" standalone >"$work/standalone.log" 2>&1 & pids+=($!)
for _ in $(seq 1 600); do
  [ "$(sql -c "SELECT count(*) FROM dag WHERE dag_id = 'kafka_bench'")" = 1 ] && break
  sleep 0.1
done
"$bin" dags unpause kafka_bench >/dev/null

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -m)"
echo "broker: tansu 0.6.0 (memory storage) on loopback; updraft standalone (release); $n messages of $size bytes, 3 partitions; $runs runs"
: >"$work/rows"
for i in $(seq 1 "$runs"); do
  "$bin" kafka topics create "plain_$i" "op_$i" --partitions 3 >/dev/null
  p=$("$plain" "$bootstrap" "plain_$i" "$n" "$size")
  "$bin" dags trigger kafka_bench --run-id "bench_$i" \
    --conf "{\"topic\": \"op_$i\", \"n\": $n, \"size\": $size}" >/dev/null
  for _ in $(seq 1 3000); do
    state=$(sql -c "SELECT state FROM dag_run WHERE run_id = 'bench_$i'")
    [ "$state" = success ] || [ "$state" = failed ] && break
    sleep 0.1
  done
  [ "$state" = success ] || {
    for t in produce consume_apply consume_native; do "$bin" tasks logs kafka_bench "bench_$i" "$t" >&2 || true; done
    echo "run bench_$i ended ${state:-nowhere}" >&2; exit 1; }
  log() { "$bin" tasks logs kafka_bench "bench_$i" "$1"; }
  # "... N message(s) ... in S s (R msg/s)": the operator's own rate.
  # The last log lines may land just after the run's state: retry briefly.
  op_rate() {
    local r
    for _ in $(seq 1 50); do
      r=$(log "$1" | grep -m1 -oE "$2 [0-9]+ message\(s\)( to topic [^ ]+)? in [0-9.]+ s" |
        awk '{ print $2 / $(NF - 1) }')
      [ -n "$r" ] && { echo "$r"; return; }
      sleep 0.1
    done
    echo "?"
  }
  task_rate() {
    sql -c "SELECT round($n / extract(epoch FROM end_date - start_date)) FROM task_instance
             WHERE run_id = 'bench_$i' AND task_id = '$1'"
  }
  pp=$(echo "$p" | sed -E 's/.*"produce_msgs_per_s": ([0-9.]+).*/\1/')
  pc=$(echo "$p" | sed -E 's/.*"consume_msgs_per_s": ([0-9.]+).*/\1/')
  echo "$pp $(op_rate produce Produced) $(task_rate produce) $pc $(op_rate consume_apply Consumed) $(task_rate consume_apply) $(op_rate consume_native Consumed) $(task_rate consume_native)" >>"$work/rows"
  echo "run $i: $(tail -1 "$work/rows")" >&2
  [ -z "${SHOW_LOGS:-}" ] || { log produce; log consume_native; } >&2
done

median() { awk -v c="$1" '{ print $c }' "$work/rows" | sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f", m }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100 * a / b }'; }
pp=$(median 1); op=$(median 2); tp=$(median 3); pc=$(median 4); oa=$(median 5); ta=$(median 6); on=$(median 7); tn=$(median 8)
echo "medians, messages per second:"
echo "  produce  plain rdkafka loop            $pp"
echo "           ProduceToTopicOperator        $op ($(pct "$op" "$pp") of plain; whole task $tp = $(pct "$tp" "$pp"))"
echo "  consume  plain rdkafka loop            $pc"
echo "           ConsumeFromTopicOperator, Python apply_function per message  $oa ($(pct "$oa" "$pc") of plain; whole task $ta = $(pct "$ta" "$pc"))"
echo "           ConsumeFromTopicOperator, no function                      $on ($(pct "$on" "$pc") of plain; whole task $tn = $(pct "$tn" "$pc"))"
