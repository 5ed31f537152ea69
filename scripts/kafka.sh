#!/usr/bin/env bash
# A Kafka-protocol broker (tansu 0.6.0) on loopback, for tests and local runs.
#
#   scripts/kafka.sh install     install tansu into ~/.cache/updraft/tansu-0.6.0
#                                unless it is there; print the binary's path
#   scripts/kafka.sh path        print the binary's path (error if not installed)
#   scripts/kafka.sh start DIR   start it on a free 127.0.0.1 port with memory
#                                storage (logs in DIR/tansu.log, pid in
#                                DIR/tansu.pid); print the bootstrap address
#   scripts/kafka.sh stop DIR    stop it (no error if it is not running)
#
# Storage is memory: topics and messages are gone when the broker stops.
# tansu does not create topics on first use: create them (`updraft kafka
# topics create`, or an admin client) before producing.
#
# UPDRAFT_TANSU_BIN overrides where the binary is looked for. The install
# compiles tansu from crates.io (`cargo install --locked`, feature dynostore
# for the memory storage): ~15-20 minutes on 2 cores, once per machine.
set -euo pipefail

die() { printf 'kafka.sh: %s\n' "$*" >&2; exit 1; }
usage() { die "usage: $0 install | path | start DIR | stop DIR"; }

TANSU_VERSION=0.6.0
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
ROOT_DIR="$HOME/.cache/updraft/tansu-$TANSU_VERSION"
DEFAULT_BIN="$ROOT_DIR/bin/tansu"

# The binary to run: UPDRAFT_TANSU_BIN, else the cached install, else PATH.
tansu_bin() {
  if [ -n "${UPDRAFT_TANSU_BIN:-}" ]; then
    [ -x "$UPDRAFT_TANSU_BIN" ] || die "UPDRAFT_TANSU_BIN=$UPDRAFT_TANSU_BIN is not an executable"
    echo "$UPDRAFT_TANSU_BIN"; return
  fi
  if [ -x "$DEFAULT_BIN" ]; then
    echo "$DEFAULT_BIN"; return
  fi
  command -v tansu 2>/dev/null || die "no tansu binary (UPDRAFT_TANSU_BIN, $DEFAULT_BIN, PATH): run scripts/kafka.sh install"
}

cmd_install() {
  if [ -x "$DEFAULT_BIN" ]; then
    echo "$DEFAULT_BIN"; return
  fi
  command -v cargo >/dev/null 2>&1 || PATH="$HOME/.cargo/bin:$PATH"
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust (rustup) first"
  echo "kafka.sh: installing tansu $TANSU_VERSION into $ROOT_DIR (compiles ~15-20 min, once)" >&2
  # A target dir of its own, removed afterwards: 1.4 GiB of artifacts that
  # nothing else reuses. stdout stays the binary's path only.
  local build
  build=$(mktemp -d "${TMPDIR:-/tmp}/tansu-build.XXXXXX")
  local rc=0
  CARGO_TARGET_DIR="$build" cargo install tansu --version "$TANSU_VERSION" --locked \
    --features dynostore --root "$ROOT_DIR" >&2 || rc=$?
  rm -rf "$build"
  [ "$rc" -eq 0 ] || die "cargo install tansu $TANSU_VERSION failed (exit $rc, see above)"
  [ -x "$DEFAULT_BIN" ] || die "cargo install finished but $DEFAULT_BIN is missing"
  echo "$DEFAULT_BIN"
}

# A port that nothing listens on right now: the kernel's choice for bind(0).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

is_running() {
  local pid
  pid=$(cat "$DIR/tansu.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null
}

cmd_start() {
  local bin port pid attempt i size
  if is_running; then
    port=$(cat "$DIR/port" 2>/dev/null) || die "$DIR has a running broker but no port file"
    answers "$port" || die "$DIR has a running broker but 127.0.0.1:$port does not answer"
    echo "127.0.0.1:$port"
    return
  fi
  bin=$(tansu_bin)
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    size=$(stat -c %s "$DIR/tansu.log" 2>/dev/null || echo 0)
    # setsid: the broker outlives this script and is not hit by the
    # caller's Ctrl-C; `stop` ends it.
    setsid "$bin" broker \
      --listener-url "tcp://127.0.0.1:$port" \
      --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine memory://tansu/ \
      >>"$DIR/tansu.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$DIR/tansu.pid"
    for i in $(seq 1 100); do
      if answers "$port"; then
        echo "$port" >"$DIR/port"
        echo "127.0.0.1:$port"
        return
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    rm -f "$DIR/tansu.pid"
    if tail -c +"$((size + 1))" "$DIR/tansu.log" 2>/dev/null | grep -qi 'address.*in use'; then
      echo "kafka.sh: port $port was taken, retrying (attempt $attempt)" >&2
      continue
    fi
    tail -n 20 "$DIR/tansu.log" >&2 || true
    die "tansu did not answer on 127.0.0.1:$port within 10 s (see $DIR/tansu.log)"
  done
  die "no free port after 5 attempts"
}

cmd_stop() {
  local pid i
  if is_running; then
    pid=$(cat "$DIR/tansu.pid")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$DIR/tansu.pid" "$DIR/port"
}

[ $# -ge 1 ] || usage
cmd=$1; shift
case $cmd in
  install) [ $# -eq 0 ] || usage; cmd_install; exit ;;
  path) [ $# -eq 0 ] || usage; tansu_bin; exit ;;
  start | stop) [ $# -eq 1 ] || usage ;;
  *) usage ;;
esac
[ "$cmd" = start ] && mkdir -p "$1"
[ -d "$1" ] || die "no such directory: $1"
DIR=$(cd "$1" && pwd -P)
case $cmd in
  start) cmd_start ;;
  stop) cmd_stop ;;
esac
