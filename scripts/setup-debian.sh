#!/usr/bin/env bash
# Prepare a Debian 12 machine to build, run and test Updraft.
#
# Idempotent and cheap when nothing is missing (dpkg-query/command -v only, no
# apt-get, no network), because scripts/test.sh and scripts/run.sh call it on
# every run. Installs only what is missing.
set -euo pipefail

# Debian packages we need, and why:
#   postgresql          initdb/pg_ctl/postgres for the private test cluster (scripts/pg.sh)
#                       and for `updraft standalone`'s embedded database
#   python3-dev         libpython3.11 + headers for PyO3 (PYO3_PYTHON=/usr/bin/python3.11)
#   python3-venv        venvs for DAG dependencies, made from the same interpreter
#   python3-pendulum, -dateutil, -yaml, -requests
#                       what example DAGs and the airflow compatibility package import
#   build-essential, pkg-config
#                       C compiler for -sys crates (librdkafka is built from source)
#   curl, ca-certificates
#                       fetching rustup when no Rust toolchain is present
#   chromium            the headless browser of the web UI's end-to-end tests
#                       (updraft/tests/ui_browser.rs, driven by playwright-core:
#                       scripts/ui-e2e.sh); Node.js and npm come with the machine
packages=(
  postgresql
  python3-dev python3-venv python3-pendulum python3-dateutil python3-yaml python3-requests
  build-essential pkg-config
  curl ca-certificates
  chromium
)

log() { printf 'setup-debian: %s\n' "$*" >&2; }

missing=()
for p in "${packages[@]}"; do
  # `dpkg -s` also succeeds for removed-but-not-purged packages; the status
  # string is the reliable test.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    log "missing packages: ${missing[*]}; not root and no sudo: install them by hand"
    exit 1
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Always refresh the lists first: on a fresh image they may be empty or stale
  # (stale lists give 404s for superseded .debs).
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The server binaries are not on PATH on Debian; pg.sh looks them up the same way.
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  log "postgresql is installed but no /usr/lib/postgresql/*/bin/initdb was found"
  exit 1
fi

# Rust: rustup installs into ~/.cargo/bin, which a non-login shell may not have
# on PATH yet.
if ! command -v cargo >/dev/null 2>&1 && [ -x "${HOME:-/nonexistent}/.cargo/bin/cargo" ]; then
  PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  log "no cargo found: installing Rust with rustup (stable, with rustfmt and clippy)"
  if ! curl --proto '=https' --tlsv1.2 -fsS https://sh.rustup.rs -o /tmp/rustup-init.sh.$$ ||
    ! sh /tmp/rustup-init.sh.$$ -y --profile minimal --component rustfmt,clippy; then
    rm -f /tmp/rustup-init.sh.$$
    log "could not install Rust with rustup (its download site may be unreachable from here)."
    log "Install a Rust toolchain >= the workspace's rust-version (Cargo.toml) with rustfmt"
    log "and clippy by other means, put cargo on PATH, and run this again."
    exit 1
  fi
  rm -f /tmp/rustup-init.sh.$$
  log "Rust installed in ~/.cargo/bin; add it to PATH (. ~/.cargo/env)"
fi

# Debian's own `cargo` package (1.6x) is far too old for this workspace: say so
# now instead of failing later on an obscure edition/MSRV error.
need=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$(dirname "$0")/../Cargo.toml" 2>/dev/null | head -n1)
have=$(rustc --version 2>/dev/null | awk '{print $2}' || true)
if [ -n "$need" ] && [ -n "$have" ] &&
  [ "$(printf '%s\n%s\n' "$need" "${have%%-*}" | sort -V | head -n1)" != "$need" ]; then
  log "warning: rustc $have is older than the workspace's rust-version $need (rustup update stable)"
fi

# fmt and clippy are steps of scripts/test.sh; with rustup, the proxies exist
# even when the component is not installed, so ask them.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  if command -v rustup >/dev/null 2>&1 && rustup component add rustfmt clippy; then
    :
  else
    log "warning: cargo fmt / cargo clippy are not available; scripts/test.sh --quick skips them"
  fi
fi
