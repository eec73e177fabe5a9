#!/usr/bin/env bash
# Makes a fresh clone ready: system packages (with --test), npm dependencies, TypeScript build.
# Idempotent and quick when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test_packages=false
system_only=false
for arg in "$@"; do
  case "$arg" in
    --test) want_test_packages=true ;;
    --system-only) system_only=true ;;
    *) echo "setup: unknown option $arg (use --test, --system-only)" >&2; exit 2 ;;
  esac
done

# Debian packages the test suite runs for real (see README "What the tests run").
TEST_PACKAGES=(syncthing gnome-keyring dbus dbus-user-session libsecret-tools
  postgresql-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl systemd docker-compose)

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need python3 python3
need make make
need g++ g++
if $want_test_packages; then
  for pkg in "${TEST_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

$system_only && exit 0

# npm ci when node_modules is absent or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (better-sqlite3 compiles from source: about a minute)"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building"
npx tsc -b
