#!/usr/bin/env bash
# Benchmark: parse 1,000 generated DAG files (10 tasks each) with
# `updraft dags reserialize`; prints files/s (median of runs) and the peak
# memory of the processor and its parse servers.
#
#   benches/parse/run.sh [--files N] [--runs R]
#
# Needs ../shared/bench/gen_dags.py (the generator Apache Airflow was measured
# with) or GEN_DAGS=/path/to/gen_dags.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
command -v cargo >/dev/null 2>&1 || PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/updraft/target}
export PYO3_PYTHON=/usr/bin/python3.11
scripts/setup-debian.sh >&2
cargo build --release -p updraft >&2
exec /usr/bin/python3 benches/parse/bench.py --bin "$CARGO_TARGET_DIR/release/updraft" "$@"
