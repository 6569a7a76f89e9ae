#!/usr/bin/env bash
# Runs rom's main example (examples/users.rs) against a throwaway redis-server
# that the example starts in a temp dir and stops when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-redis.sh
exec cargo run --quiet --features testing --example users
