#!/usr/bin/env bash
# rom beside the Python rom: runs ../shared/bench/ref-python/rom_workload.py and
# rom's workload bench (sync) against one throwaway redis-server, one after the
# other, and prints the rom-rs / Python-rom ratio of ops/s per phase.
#
#   bash scripts/bench-python.sh [N] [M]      (defaults: 10000 1000)
#
# Needs python3; installs the `rom` and `redis` packages with pip when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
M=${2:-1000}
REF=../shared/bench/ref-python
bash scripts/ensure-redis.sh
python3 -c 'import rom, redis' 2>/dev/null || python3 -m pip install --quiet rom redis
WORK=$(mktemp -d)
PORT=$((20000 + RANDOM % 20000))
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$WORK" --logfile "$WORK/redis.log" --daemonize no >/dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

echo "== Python rom (N=$N, M=$M)"
(cd "$REF" && python3 rom_workload.py --port "$PORT" --n "$N" --m "$M" --json "$WORK/python.jsonl")
redis-cli -p "$PORT" flushall >/dev/null
echo "== rom (N=$N, M=$M)"
cargo bench --quiet --bench workload -- --url "redis://127.0.0.1:$PORT/3" --impls rom \
  --n "$N" --m "$M" | tee "$WORK/rom.txt"

python3 - "$WORK/python.jsonl" "$WORK/rom.txt" <<'PY'
import json, sys
py = {}
for line in open(sys.argv[1]):
    rec = json.loads(line)
    for p in rec["phases"]:
        py[p["phase"].split("_")[0]] = p["ops_per_s"]
rs = {}
for line in open(sys.argv[2]):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) > 3 and cells[1] == "rom":
        try:
            rs[cells[0].split(" ")[0]] = float(cells[2])
        except ValueError:
            pass
print("\n| phase | rom-rs ops/s | Python rom ops/s | rom-rs / Python rom |")
print("|---|---:|---:|---:|")
for k in sorted(set(py) & set(rs)):
    print(f"| {k} | {rs[k]:.0f} | {py[k]:.0f} | {rs[k] / py[k]:.1f}x |")
PY
