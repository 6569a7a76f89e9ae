#!/usr/bin/env bash
# The whole test suite: unit, integration (real redis-server and Redis Cluster
# started by the tests), compile-fail (trybuild), doc and book examples.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-redis.sh
# --all-targets builds and tests lib, bins, tests, examples and benches (benches
# run in test mode: a quick smoke); --doc then runs the doc tests and the book
cargo test --workspace --all-features --all-targets --no-fail-fast "$@"
cargo test --workspace --all-features --doc --no-fail-fast "$@"
# TLS through native-tls alone (with every feature on, redis-rs uses rustls)
cargo test -p rom --no-default-features --features tls-native-tls,tokio --test tls "$@"
