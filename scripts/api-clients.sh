#!/usr/bin/env bash
# The official Airflow REST API client from PyPI, for the tests that run it
# against a real Updraft (updraft/tests/api_client.rs).
#
#   scripts/api-clients.sh install [v3|v2]   create the venv and pip install
#                                    the pinned client unless already there;
#                                    print the venv's python
#   scripts/api-clients.sh path [v3|v2]      print the venv's python (error if
#                                    the venv is missing or holds another pin)
#   scripts/api-clients.sh install-fuzz
#                                    the same for schemathesis (pinned, in a
#                                    venv of its own: its dependencies must
#                                    not move the client's); print the path
#                                    of its `schemathesis` command
#
# v3 (the default) is Airflow 3.1's client for /api/v2; v2 is Airflow 2.10's
# client for /api/v1 (updraft/tests/api_client_v1.rs). Each venv lives
# outside the clone, in ~/.cache/updraft/api-clients/<v3|v2> (override the
# root with UPDRAFT_API_CLIENTS_CACHE), so a fresh clone or CI reuses it; it
# is rebuilt when its pin below changes.
set -euo pipefail

die() { printf 'api-clients.sh: %s\n' "$*" >&2; exit 1; }

# Airflow 3.1's client targets /api/v2.
PIN_V3='apache-airflow-client==3.1.*'
# Property-based fuzzing from our OpenAPI document (updraft/tests/api_fuzz.rs).
PIN_FUZZ='schemathesis==4.32.5'
# Airflow 2.10's client targets /api/v1.
PIN_V2='apache-airflow-client==2.10.*'

: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
cache=${UPDRAFT_API_CLIENTS_CACHE:-$HOME/.cache/updraft/api-clients}
flavor=${2:-v3}
case "$flavor" in
  v3) PIN=$PIN_V3 ;;
  v2) PIN=$PIN_V2 ;;
  *) die "unknown client flavor '$flavor' (v3 or v2)" ;;
esac
venv="$cache/$flavor"
fuzz_venv="$cache/fuzz"
python=${UPDRAFT_API_CLIENTS_PYTHON:-python3}

is_current() {
  [ -x "$venv/bin/python" ] && [ -f "$venv/pin" ] && [ "$(cat "$venv/pin")" = "$PIN" ] &&
    "$venv/bin/python" -c 'import airflow_client.client' 2>/dev/null
}

cmd_install() {
  if is_current; then
    echo "$venv/bin/python"
    return
  fi
  mkdir -p "$cache"
  # Test processes may call this at once: one install at a time.
  exec 9>"$cache/.install-$flavor.lock"
  flock 9
  if is_current; then
    echo "$venv/bin/python"
    return
  fi
  command -v "$python" >/dev/null 2>&1 || die "$python not found"
  echo "api-clients.sh: pip install '$PIN' into $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2 || die "python -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$PIN" >&2 ||
    die "pip install $PIN failed (see above)"
  echo "$PIN" >"$venv/pin"
  is_current || die "installed, but airflow_client.client does not import"
  echo "$venv/bin/python"
}

cmd_path() {
  is_current || die "no current venv in $venv: run scripts/api-clients.sh install"
  echo "$venv/bin/python"
}

fuzz_is_current() {
  [ -x "$fuzz_venv/bin/schemathesis" ] && [ -f "$fuzz_venv/pin" ] &&
    [ "$(cat "$fuzz_venv/pin")" = "$PIN_FUZZ" ]
}

cmd_install_fuzz() {
  if fuzz_is_current; then
    echo "$fuzz_venv/bin/schemathesis"
    return
  fi
  mkdir -p "$cache"
  exec 9>"$cache/.install-fuzz.lock"
  flock 9
  if fuzz_is_current; then
    echo "$fuzz_venv/bin/schemathesis"
    return
  fi
  command -v "$python" >/dev/null 2>&1 || die "$python not found"
  echo "api-clients.sh: pip install '$PIN_FUZZ' into $fuzz_venv" >&2
  rm -rf "$fuzz_venv"
  "$python" -m venv "$fuzz_venv" >&2 || die "python -m venv failed (Debian: apt-get install python3-venv)"
  "$fuzz_venv/bin/pip" install --quiet --disable-pip-version-check "$PIN_FUZZ" >&2 ||
    die "pip install $PIN_FUZZ failed (see above)"
  echo "$PIN_FUZZ" >"$fuzz_venv/pin"
  fuzz_is_current || die "installed, but no schemathesis command in $fuzz_venv"
  echo "$fuzz_venv/bin/schemathesis"
}

case "${1:-}" in
  install) cmd_install ;;
  install-fuzz) cmd_install_fuzz ;;
  path) cmd_path ;;
  *) die "usage: scripts/api-clients.sh install|path [v3|v2] | install-fuzz" ;;
esac
