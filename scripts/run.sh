#!/usr/bin/env bash
# THE run command: builds Updraft (release) and starts it standalone.
#
#   scripts/run.sh [ARGS...]   ARGS go to `updraft standalone`
#
# With no database URL configured, `updraft standalone` creates and runs its
# own Postgres under UPDRAFT_HOME with the system's initdb (that logic is in
# the binary, not here). With no kafka_default connection, it starts an
# in-memory Kafka-protocol broker (tansu), which this script installs once
# (scripts/kafka.sh install: ~15-20 min of compiling the first time).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"

: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
command -v cargo >/dev/null 2>&1 || PATH="$HOME/.cargo/bin:$PATH"
# Same target dir as scripts/test.sh, so the two share the dependency builds.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/updraft/target}
export PYO3_PYTHON=/usr/bin/python3.11

# setup and cargo report on stderr, so stdout stays the server's own.
scripts/setup-debian.sh
UPDRAFT_TANSU_BIN=${UPDRAFT_TANSU_BIN:-$(scripts/kafka.sh install)}
export UPDRAFT_TANSU_BIN
cargo build --release -p updraft >&2
# Load this repository's example DAGs unless a DAG folder is configured.
if [ -z "${UPDRAFT__CORE__DAGS_FOLDER:-}" ] && [ -z "${AIRFLOW__CORE__DAGS_FOLDER:-}" ]; then
  export UPDRAFT__CORE__DAGS_FOLDER="$root/dags"
fi
exec "$CARGO_TARGET_DIR/release/updraft" standalone "$@"
