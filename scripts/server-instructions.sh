#!/usr/bin/env bash
# Server instructions per operation, rom against the hand-written program:
# the standard workload (benches/workload.rs) against a redis-server run
# under valgrind's callgrind, each timed phase counted alone. Instruction
# counts do not move with the machine's load, so they show a change of the
# server code that timings on a shared machine hide (they do not show cache
# misses: confirm a gain in time with `--compare`).
#
#   bash scripts/server-instructions.sh [--n 2000] [--m 100] [--phases a,g,h] ...
#
# (arguments go to the workload bench; about 2 minutes with the defaults).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)"; exit 1; }
command -v redis-server >/dev/null || bash scripts/ensure-redis.sh
dir=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/callgrind.out" \
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
  >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.2
done
cargo bench --bench workload -- --bench --url "redis://127.0.0.1:$port/" \
  --instructions "$dir/callgrind.out" --impls rom,hand --n 2000 --m 100 "$@"
