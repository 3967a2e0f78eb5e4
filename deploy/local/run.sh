#!/usr/bin/env bash
# Runs Caravan locally on its embedded defaults: builds in release mode,
# starts the servers as separate processes with their own logs, waits until
# each reports SERVING, shows a call, and stops them cleanly on Ctrl-C.
#
# Today the system is the echo server (the services land with their issues).
set -euo pipefail
cd "$(dirname "$0")/../.."
deploy/install-deps.sh

swift build -c release --product caravan
bin="$(swift build -c release --show-bin-path)"
state="${CARAVAN_STATE_DIR:-./data}"
mkdir -p "$state/logs"

pids=()
stop_all() {
    trap - INT TERM EXIT
    echo
    echo "Stopping…"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    echo "Stopped."
}
trap stop_all INT TERM EXIT

start() { # name, address, command…
    local name=$1 address=$2
    shift 2
    "$@" >>"$state/logs/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do
        if "$bin/caravan" health --timeout 500ms "$address" >/dev/null 2>&1; then
            echo "  $name  SERVING at $address  (log: $state/logs/$name.log)"
            return
        fi
        sleep 0.1
    done
    echo "$name did not become SERVING; see $state/logs/$name.log" >&2
    exit 1
}

echo "Starting Caravan:"
start echo 127.0.0.1:7100 "$bin/caravan" echo-server --host 127.0.0.1 --port 7100

echo
echo "A call: caravan call 127.0.0.1:7100 caravan.echo.v1.Echo/Unary '{\"text\":\"Salem from Horgos\"}'"
"$bin/caravan" call 127.0.0.1:7100 caravan.echo.v1.Echo/Unary '{"text":"Salem from Horgos"}'
echo
echo "Running. Try: $bin/caravan list 127.0.0.1:7100   — Ctrl-C stops everything."
wait
