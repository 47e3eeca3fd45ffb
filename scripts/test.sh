#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: installs what the tests need (Debian's chromium for
# the browser tests), then runs every Go test with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium for the browser tests…"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

go test -race "$@" ./...
