#!/usr/bin/env bash
# Gateway benchmark: the partnership overview through `caravan-gateway`
# against the same backend calls made directly (one after another and
# concurrently), each section and single call alone, and throughput at
# C=64. Release build; the three services and the gateway run as separate
# processes on loopback, each with a fresh data directory (seed data only).
#
# Usage: Tools/benchmarks/gateway.sh [calls per mode per round, default 500] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/../.."
calls="${1:-500}"
rounds="${2:-3}"
base="${GATEWAY_BENCH_PORT:-7290}"

swift build -c release --product caravan >/dev/null
for product in caravan-trade caravan-logistics caravan-training caravan-gateway caravan-gateway-bench; do
    swift build -c release --product "$product" >/dev/null
done
bin="$(swift build -c release --show-bin-path)"
state="$(mktemp -d)"
pids=()
stop_all() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$state"
}
trap stop_all EXIT

port=$base
for service in trade logistics training; do
    port=$((port + 1))
    "$bin/caravan-$service" --port "$port" --data-dir "$state/$service" >"$state/$service.log" 2>&1 &
    pids+=($!)
done
"$bin/caravan-gateway" --port "$base" --http-port=-1 --trade "127.0.0.1:$((base + 1))" \
    --logistics "127.0.0.1:$((base + 2))" --training "127.0.0.1:$((base + 3))" >"$state/gateway.log" 2>&1 &
pids+=($!)
for port in "$base" $((base + 1)) $((base + 2)) $((base + 3)); do
    for _ in $(seq 600); do
        "$bin/caravan" health --timeout 500ms "127.0.0.1:$port" >/dev/null 2>&1 && break
        sleep 0.1
    done
done

"$bin/caravan-gateway-bench" --gateway "127.0.0.1:$base" --trade "127.0.0.1:$((base + 1))" \
    --logistics "127.0.0.1:$((base + 2))" --training "127.0.0.1:$((base + 3))" --calls "$calls" --rounds "$rounds" \
    || { tail -n 20 "$state"/*.log; exit 1; }
