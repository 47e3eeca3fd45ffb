#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: installs what the tests need (Debian's chromium for
# the browser tests with the CJK and emoji fonts of their screenshots, Debian's prometheus package
# for its promtool, which the alert-rule and /metrics tests run, Debian's postgresql for the
# PostgreSQL store's tests, Debian's haproxy and nginx for the balancer tests in deploy/), then
# runs every Go test with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium for the browser tests…"
  apt_install chromium
fi

# The screenshots the browser tests take (docs/screenshots) show Chinese and the widget's emoji as
# a resident sees them only with these fonts; without them chromium draws boxes.
fonts_missing=()
if [ ! -d /usr/share/fonts/opentype/noto ] || ! compgen -G "/usr/share/fonts/opentype/noto/NotoSansCJK*" >/dev/null; then fonts_missing+=(fonts-noto-cjk); fi
if ! compgen -G "/usr/share/fonts/truetype/noto/NotoColorEmoji*" >/dev/null; then fonts_missing+=(fonts-noto-color-emoji); fi
if [ "${#fonts_missing[@]}" -gt 0 ]; then
  echo "installing ${fonts_missing[*]} for the browser tests' screenshots…"
  apt_install "${fonts_missing[@]}"
fi

# apt_install_quiet installs packages without starting the services they bring (their servers are
# never wanted: the tests start what they need themselves). A policy-rc.d that answers 101 makes
# the package scripts leave services alone (Docker images ship one already; if not, one is put there
# for the install and taken away after).
apt_install_quiet() {
  local policy=/usr/sbin/policy-rc.d own_policy= status=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    own_policy=1
  fi
  apt_install --no-install-recommends "$@" || status=$?
  if [ -n "$own_policy" ]; then $SUDO rm -f "$policy"; fi
  return "$status"
}

if ! command -v promtool >/dev/null 2>&1; then
  echo "installing promtool (Debian's prometheus package) for the metrics tests…"
  apt_install_quiet prometheus
  if [ -d /run/systemd/system ]; then
    # Not at boot either.
    $SUDO systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
  if ! command -v promtool >/dev/null 2>&1; then
    echo "promtool is still missing after installing Debian's prometheus package" >&2
    exit 1
  fi
fi

# The PostgreSQL store's tests start a throwaway server of their own (intake/postgres/pgtest) from
# the package's binaries; the cluster and service the package sets up are not used.
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  echo "installing PostgreSQL for the PostgreSQL store's tests…"
  apt_install_quiet postgresql
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now postgresql.service >/dev/null 2>&1 || true
  fi
fi

# The balancer tests (deploy/) run haproxy on deploy/haproxy.cfg in front of two nodes, and check
# deploy/nginx.conf with nginx -t; both run from the package's binaries under the tests' own
# settings, never as the package's services.
lb_missing=()
if [ ! -x /usr/sbin/haproxy ] && ! command -v haproxy >/dev/null 2>&1; then lb_missing+=(haproxy); fi
if [ ! -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null 2>&1; then lb_missing+=(nginx); fi
if [ "${#lb_missing[@]}" -gt 0 ]; then
  echo "installing ${lb_missing[*]} for the balancer tests…"
  apt_install_quiet "${lb_missing[@]}"
  if [ -d /run/systemd/system ]; then
    for p in "${lb_missing[@]}"; do $SUDO systemctl disable --now "$p.service" >/dev/null 2>&1 || true; done
  fi
fi

# -timeout: the race detector makes the bot's learning tests take several minutes on a busy
# 2-core machine; the default of 10 minutes a package is too close.
go test -race -timeout 40m "$@" ./...
