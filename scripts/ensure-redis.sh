#!/usr/bin/env bash
# Installs what the tests need from Debian when it is missing: redis-server
# (tests and examples start their own throwaway servers from it; none is left
# running) and luacheck (package lua-check, which tests/lua.rs runs over rom's
# Lua library), openssl (tests/tls.rs makes its certificates with it), and
# libssl-dev with pkg-config (the feature tls-native-tls builds against
# OpenSSL, and the tests build every feature).
set -euo pipefail
need=()
if ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/bin/redis-server ]; then
  need+=(redis-server)
fi
if ! command -v luacheck >/dev/null 2>&1; then
  need+=(lua-check)
fi
if ! command -v openssl >/dev/null 2>&1; then
  need+=(openssl)
fi
if ! command -v pkg-config >/dev/null 2>&1; then
  need+=(pkg-config)
fi
if ! pkg-config --exists openssl 2>/dev/null; then
  need+=(libssl-dev)
fi
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${need[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
# the redis package starts a system service; rom never uses it
$SUDO service redis-server stop >/dev/null 2>&1 || true
