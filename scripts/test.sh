#!/usr/bin/env bash
# The whole test suite: unit, integration (real redis-server and Redis Cluster
# started by the tests), compile-fail (trybuild), doc and book examples.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-redis.sh
exec cargo test --workspace --all-features --all-targets --no-fail-fast "$@" && true
