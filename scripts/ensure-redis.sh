#!/usr/bin/env bash
# Installs Debian's redis-server when it is missing (tests and examples start
# their own throwaway servers from it; none is left running).
set -euo pipefail
if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then
  exit 0
fi
echo "redis-server not found: installing Debian's redis-server package" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
# the package starts a system service; rom never uses it
$SUDO service redis-server stop >/dev/null 2>&1 || true
