#!/usr/bin/env bash
# THE test command: runs every check and test of Updraft, stopping at the
# first failure. CI runs it too (.ci/run).
#
#   scripts/test.sh           fmt, clippy, build, Rust tests, doctests, Python tests
#   scripts/test.sh --quick   the same without fmt and clippy
#
# Environment:
#   UPDRAFT_TEST_DATABASE_URL  Postgres for the tests (a superuser URL with the
#                              user name in it). Unset: a private throw-away
#                              cluster is started (scripts/pg.sh) and stopped.
#   CARGO_TARGET_DIR           default ~/.cache/updraft/target: outside the
#                              clone, so CI and fresh clones reuse the build.
#   UPDRAFT_SCREENSHOTS_DIR    where the browser tests save their screenshots
#                              (default $CARGO_TARGET_DIR/ui-screenshots).
#   UPDRAFT_TANSU_BIN          the Kafka-protocol broker for the Kafka tests.
#                              Unset: scripts/kafka.sh install (cached in
#                              ~/.cache/updraft; the first time it compiles
#                              tansu for ~15-20 min).
set -euo pipefail

quick=0
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    -h | --help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"

: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
command -v cargo >/dev/null 2>&1 || PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/updraft/target}
# Debian's interpreter, for build and run alike (see .cargo/config.toml; set
# here too so a tool that ignores that file cannot rebuild pyo3 differently).
export PYO3_PYTHON=/usr/bin/python3.11

started=$SECONDS
# step NAME CMD...: run one step, time it, and stop everything if it fails.
step() {
  local name=$1 t0=$SECONDS rc=0
  shift
  printf '\n==> %s: %s\n' "$name" "$*"
  "$@" || rc=$?
  if [ "$rc" -ne 0 ]; then
    printf '\ntest.sh: FAILED at step "%s" (exit %d, after %d s): %s\n' \
      "$name" "$rc" "$((SECONDS - t0))" "$*" >&2
    exit "$rc"
  fi
  printf '==> %s: ok in %d s\n' "$name" "$((SECONDS - t0))"
}

step setup scripts/setup-debian.sh
# playwright-core for the browser tests (updraft/tests/ui_browser.rs), in
# ~/.cache/updraft/ui-e2e; a no-op when it matches ui/e2e/package-lock.json.
step ui-e2e scripts/ui-e2e.sh install
# apache-airflow-client 3.1 (/api/v2) and 2.10 (/api/v1) for updraft/tests/api_client*.rs, in ~/.cache/updraft/api-clients.
step api-clients scripts/api-clients.sh install
step api-clients-v2 scripts/api-clients.sh install v2
# schemathesis for updraft/tests/api_fuzz.rs, in the same cache (its own venv).
step api-fuzz scripts/api-clients.sh install-fuzz
if [ -z "${UPDRAFT_TANSU_BIN:-}" ]; then
  step kafka-broker scripts/kafka.sh install
  UPDRAFT_TANSU_BIN=$(scripts/kafka.sh path)
fi
export UPDRAFT_TANSU_BIN

if [ "$quick" = 0 ]; then
  step fmt cargo fmt --all -- --check
  step clippy cargo clippy --workspace --all-targets -- -D warnings
fi
# Build the binaries first: end-to-end tests spawn the `updraft` binary.
step build cargo build --workspace
export UPDRAFT_BIN="$CARGO_TARGET_DIR/debug/updraft"
# The browser tests keep their screenshots of the main pages here (one
# folder per test), replaced on every run.
export UPDRAFT_SCREENSHOTS_DIR=${UPDRAFT_SCREENSHOTS_DIR:-$CARGO_TARGET_DIR/ui-screenshots}
rm -rf "$UPDRAFT_SCREENSHOTS_DIR"

if [ -z "${UPDRAFT_TEST_DATABASE_URL:-}" ]; then
  pgdir=$(mktemp -d "${TMPDIR:-/tmp}/updraft-test-pg.XXXXXX")
  # Stop and remove the cluster however we leave (INT/TERM go through exit so
  # that the EXIT trap runs).
  trap 'scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$pgdir"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  t0=$SECONDS
  UPDRAFT_TEST_DATABASE_URL=$(scripts/pg.sh start --fast "$pgdir") ||
    { echo 'test.sh: FAILED at step "postgres": could not start a private cluster' >&2; exit 1; }
  export UPDRAFT_TEST_DATABASE_URL
  printf '\n==> postgres: %s (%s) in %d s\n' "$UPDRAFT_TEST_DATABASE_URL" "$pgdir" "$((SECONDS - t0))"
fi

if command -v cargo-nextest >/dev/null 2>&1; then
  step test cargo nextest run --workspace --no-fail-fast
  # nextest does not run doctests.
  step doctest cargo test --workspace --doc
else
  step test cargo test --workspace
fi

if [ -d python/airflow_compat/tests ]; then
  step python /usr/bin/python3 -m unittest discover -s python/airflow_compat/tests -t python/airflow_compat
else
  printf '\n==> python: skipped (no python/airflow_compat/tests yet)\n'
fi

printf '\ntest.sh: all steps passed in %d s\n' "$((SECONDS - started))"
