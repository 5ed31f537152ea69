#!/usr/bin/env bash
# The browser side of the web UI's end-to-end tests (ui/e2e/, run by
# updraft/tests/ui_browser.rs): playwright-core from npm, driving Debian's
# /usr/bin/chromium (scripts/setup-debian.sh installs it).
#
#   scripts/ui-e2e.sh install   `npm ci` ui/e2e's lock file into the cache
#                               unless the cache already holds that lock;
#                               print the node_modules path
#   scripts/ui-e2e.sh path      print the node_modules path (error if the
#                               cache is missing or holds another lock)
#
# node_modules lives outside the clone, in ~/.cache/updraft/ui-e2e (override
# with UPDRAFT_UI_E2E_CACHE), so a fresh clone or CI reuses it; it is
# reinstalled when ui/e2e/package-lock.json changes. No browser is downloaded
# (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1, and no install scripts run): the tests
# launch /usr/bin/chromium (or UPDRAFT_CHROMIUM).
set -euo pipefail

die() { printf 'ui-e2e.sh: %s\n' "$*" >&2; exit 1; }

root=$(cd "$(dirname "$0")/.." && pwd -P)
src="$root/ui/e2e"
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
cache=${UPDRAFT_UI_E2E_CACHE:-$HOME/.cache/updraft/ui-e2e}
modules="$cache/node_modules"

lock_sum() { sha256sum "$src/package-lock.json" | cut -d' ' -f1; }

# The cache holds exactly this lock file's packages.
is_current() {
  [ -f "$cache/lock.sha256" ] && [ "$(cat "$cache/lock.sha256")" = "$(lock_sum)" ] &&
    [ -f "$modules/playwright-core/package.json" ]
}

cmd_install() {
  if is_current; then
    echo "$modules"
    return
  fi
  command -v node >/dev/null 2>&1 || die "node not found (Debian: apt-get install nodejs npm)"
  command -v npm >/dev/null 2>&1 || die "npm not found (Debian: apt-get install npm)"
  mkdir -p "$cache"
  # Test processes may call this at once (nextest runs each test alone): one
  # npm ci at a time, and the others then find it done.
  exec 9>"$cache/.install.lock"
  flock 9
  if is_current; then
    echo "$modules"
    return
  fi
  echo "ui-e2e.sh: npm ci of ui/e2e/package-lock.json into $cache" >&2
  rm -f "$cache/lock.sha256"
  cp "$src/package.json" "$src/package-lock.json" "$cache/"
  # stdout stays the path only.
  (cd "$cache" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund \
    --loglevel=error >&2) || die "npm ci failed in $cache (see above)"
  [ -f "$modules/playwright-core/package.json" ] || die "npm ci finished but $modules/playwright-core is missing"
  lock_sum >"$cache/lock.sha256"
  echo "$modules"
}

cmd_path() {
  is_current || die "$modules is missing or out of date: run scripts/ui-e2e.sh install"
  echo "$modules"
}

case ${1:-} in
  install) cmd_install ;;
  path) cmd_path ;;
  *) die "usage: $0 install | path" ;;
esac
