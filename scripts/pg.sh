#!/usr/bin/env bash
# A private PostgreSQL cluster on loopback, for tests and local runs.
#
#   scripts/pg.sh start [--fast] DIR   initdb DIR if new, start it on a free
#                                      127.0.0.1 port, print its URL on stdout
#   scripts/pg.sh stop DIR             stop it (no error if it is not running)
#   scripts/pg.sh url DIR              print the URL of the running cluster
#
# --fast turns fsync, synchronous_commit and full_page_writes off: a crash can
# corrupt the cluster, which is fine for throw-away test clusters only.
#
# The URL always names the user: sqlx 0.9 defaults to the user "anonymous".
# Authentication is `trust`: any local user can connect over 127.0.0.1. The
# cluster never listens on anything but loopback and its own socket in DIR.
set -euo pipefail

die() { printf 'pg.sh: %s\n' "$*" >&2; exit 1; }
usage() { die "usage: $0 start [--fast] DIR | stop DIR | url DIR"; }

# Server binaries live in /usr/lib/postgresql/<ver>/bin on Debian, not on PATH.
# PG_BINDIR overrides the lookup.
pg_bindir() {
  local d
  if [ -n "${PG_BINDIR:-}" ]; then
    echo "$PG_BINDIR"; return
  fi
  if d=$(pg_config --bindir 2>/dev/null) && [ -x "$d/initdb" ]; then
    echo "$d"; return
  fi
  d=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n1 || true)
  [ -n "$d" ] || die "no initdb found (pg_config --bindir, /usr/lib/postgresql/*/bin): run scripts/setup-debian.sh"
  dirname "$d"
}

# initdb and postgres refuse to run as root: as root, run them as `postgres`,
# from / so they never trip over an unreadable current directory.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    # runuser is in /usr/sbin, which a non-login PATH may lack.
    (cd / && "$(command -v runuser || echo /usr/sbin/runuser)" -u postgres -- "$@")
  else
    "$@"
  fi
}

# A port that nothing listens on right now: the kernel's choice for bind(0).
# Another process could take it before postgres binds it; start() retries then.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

url_for() { printf 'postgres://postgres@127.0.0.1:%s/postgres\n' "$1"; }

is_running() { as_owner "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; }

# Is the server on this port ours? Other clusters may listen on 127.0.0.1 too.
answers_as_ours() {
  local got
  got=$("$BIN/psql" "$(url_for "$1")" -XAtq -c 'SHOW data_directory' 2>/dev/null) || return 1
  [ "$got" = "$DIR" ]
}

cmd_start() {
  local fast=$1 port opts size attempt
  if [ "$(id -u)" -eq 0 ]; then
    getent passwd postgres >/dev/null || die "no 'postgres' OS user: run scripts/setup-debian.sh"
    chown postgres: "$DIR"
    # Every parent of DIR must be searchable by postgres (e.g. not under /root).
    as_owner test -w "$DIR" -a -x "$DIR" || die "user postgres cannot write $DIR: use a directory outside private homes, e.g. under /tmp"
  fi

  if [ ! -f "$DIR/PG_VERSION" ]; then
    [ -z "$(ls -A "$DIR")" ] || die "$DIR is neither empty nor a PostgreSQL data directory"
    local sync=()
    [ "$fast" = 1 ] && sync=(--no-sync)
    # --locale=C: no dependency on the machine's generated locales, and
    # byte-order collation, the same on every machine.
    local out
    out=$(as_owner "$BIN/initdb" -D "$DIR" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C "${sync[@]}" 2>&1) || { printf '%s\n' "$out" >&2; die "initdb failed"; }
  fi

  if is_running; then
    port=$(cat "$DIR/port" 2>/dev/null) || die "$DIR is running but has no port file"
    answers_as_ours "$port" || die "$DIR is running but 127.0.0.1:$port does not answer as it"
    url_for "$port"
    return
  fi

  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    opts="-p $port -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=400"
    [ "$fast" = 1 ] && opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    size=$(stat -c %s "$DIR/log" 2>/dev/null || echo 0)
    if as_owner "$BIN/pg_ctl" -D "$DIR" -o "$opts" -l "$DIR/log" -w -t 60 start >/dev/null; then
      if answers_as_ours "$port"; then
        echo "$port" >"$DIR/port"
        url_for "$port"
        return
      fi
      as_owner "$BIN/pg_ctl" -D "$DIR" -m immediate -w stop >/dev/null 2>&1 || true
      die "started $DIR but 127.0.0.1:$port does not answer as it (see $DIR/log)"
    fi
    # Lost the race for the port to someone else: try another one.
    if tail -c +"$((size + 1))" "$DIR/log" 2>/dev/null | grep -q 'could not bind'; then
      echo "pg.sh: port $port was taken, retrying (attempt $attempt)" >&2
      continue
    fi
    tail -n 20 "$DIR/log" >&2 || true
    die "pg_ctl start failed (see $DIR/log)"
  done
  die "no free port after 5 attempts"
}

cmd_stop() {
  [ -f "$DIR/PG_VERSION" ] || return 0
  if is_running; then
    as_owner "$BIN/pg_ctl" -D "$DIR" -m fast -w -t 60 stop >/dev/null
  fi
  rm -f "$DIR/port"
}

cmd_url() {
  is_running || die "no cluster running in $DIR"
  local port
  port=$(cat "$DIR/port" 2>/dev/null) || die "$DIR has no port file"
  url_for "$port"
}

[ $# -ge 1 ] || usage
cmd=$1; shift
fast=0
if [ "$cmd" = start ] && [ "${1:-}" = --fast ]; then
  fast=1; shift
fi
[ $# -eq 1 ] || usage
[ "$cmd" = start ] && mkdir -p "$1"
[ -d "$1" ] || die "no such directory: $1"
# Absolute and symlink-free: postgres reports data_directory that way, and we
# compare against it.
DIR=$(cd "$1" && pwd -P)
BIN=$(pg_bindir)
# pg_ctl hands -o to a shell, and the socket path (DIR/.s.PGSQL.NNNNN) must fit
# in sockaddr_un's 108 bytes.
case $DIR in *[[:space:]]*) die "DIR must not contain white space: $DIR" ;; esac
[ "${#DIR}" -le 90 ] || die "DIR path too long for a Unix socket (max 90 characters): $DIR"

case $cmd in
  start) cmd_start "$fast" ;;
  stop) cmd_stop ;;
  url) cmd_url ;;
  *) usage ;;
esac
