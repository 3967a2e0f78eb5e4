#!/usr/bin/env bash
# Runs the whole of Caravan on this machine, each service as its own process:
# builds in release mode once, starts caravan-trade (:7001),
# caravan-logistics (:7002), caravan-training (:7003) and, when the package
# has it, caravan-gateway (:7000, HTTP :8080), each with its own data
# directory (./data/<service>) and log (./data/logs/<service>.log), waits
# until each reports SERVING (`caravan health`), prints the addresses, and
# on Ctrl-C stops them all with SIGTERM and waits for their drain.
#
# On a backend's first start (no store in its data directory yet) it loads
# labelled synthetic demo data first (deploy/demo-data.sh: flows for every
# partner and year, hub sessions, shipments, enrolments), so the dashboard
# has something to show; a restart never loads it again.
#   deploy/local/run.sh --empty     new stores start with the seed alone
#                                   (the same as CARAVAN_DEMO_DATA=0)
#
# One service alone, while the others keep serving (from another terminal):
#   deploy/local/service.sh restart logistics
#
# Settings: the executables' own environment variables
# (CARAVAN_<SERVICE>_HOST, _PORT, _DATA_DIR or _DATABASE_URL, _LOG_LEVEL,
# _SYNC; see docs/DEPLOYMENT.md), CARAVAN_STATE_DIR (default ./data), CARAVAN_BIN
# (a directory of already-built executables: skips the build) and
# CARAVAN_DEMO_DATA (1, the default, or 0).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=deploy/local/lib.sh
source deploy/local/lib.sh

usage() {
    echo "usage: $0 [--empty]   (--empty: new stores start without the synthetic demo data)" >&2
    exit "$1"
}
for argument in "$@"; do
    case "$argument" in
        --empty) export CARAVAN_DEMO_DATA=0 ;;
        -h | --help) usage 0 ;;
        *) echo "unknown argument '$argument'" >&2; usage 2 ;;
    esac
done
caravan_demo_check || exit 2

services=("${CARAVAN_BACKENDS[@]}")
if [[ -n "${CARAVAN_BIN:-}" ]]; then
    # Executables built elsewhere (tests, an installed copy): no build.
    caravan_bin="$CARAVAN_BIN"
    [[ -x "$caravan_bin/caravan-gateway" ]] && services+=(gateway)
else
    deploy/install-deps.sh
    echo "Building (release)…"
    swift build -c release
    caravan_bin="$(swift build -c release --show-bin-path)"
    # The gateway is started only when the package has that product.
    if swift build -c release --product caravan-gateway >/dev/null 2>&1 \
        && [[ -x "$caravan_bin/caravan-gateway" ]]; then
        services+=(gateway)
    fi
fi
[[ " ${services[*]} " == *" gateway "* ]] \
    || echo "(no caravan-gateway executable: starting the backends only)"

for service in "${services[@]}"; do
    if pid="$(caravan_running_pid "$service")"; then
        echo "caravan-$service is already running (pid $pid, $(caravan_pid_file "$service")):" >&2
        echo "stop it first: deploy/local/service.sh stop $service" >&2
        exit 1
    fi
done

stopping=0
stop_all() {
    ((stopping)) && return
    stopping=1
    trap - INT TERM EXIT
    echo
    echo "Stopping (SIGTERM, then waiting for each to drain)…"
    local index
    # The gateway first, then the backends: reverse start order.
    for ((index = ${#services[@]} - 1; index >= 0; index--)); do
        caravan_stop "${services[index]}" || true
    done
    echo "Stopped."
}
trap stop_all EXIT
trap 'exit 0' INT
trap 'exit 143' TERM

echo "Starting Caravan (state in $caravan_state):"
for service in "${services[@]}"; do
    caravan_start "$service" || exit 1
done

echo
echo "Caravan is running:"
for service in "${services[@]}"; do
    printf '  %-10s RPC  %s\n' "$service" "$(caravan_address "$service")"
done
if [[ " ${services[*]} " == *" gateway "* ]] && "$caravan_bin/caravan-gateway" --help 2>&1 | grep -qi http; then
    printf '  %-10s HTTP http://127.0.0.1:%s/\n' gateway "${CARAVAN_GATEWAY_HTTP_PORT:-8080}"
fi
echo
caravan_demo_report
echo "Try: $caravan_bin/caravan list $(caravan_address trade)"
echo "One service alone: deploy/local/service.sh stop|start|restart|status SERVICE"
echo "Ctrl-C stops everything."

# Keep running while anything is up; a service restarted with service.sh is
# not our child, so watch the pid files rather than `wait`.
while true; do
    any=0
    for service in "${services[@]}"; do
        # Not `caravan_running_pid … >/dev/null`: bash runs a trap inside
        # the function it interrupts, under that function's redirection, so
        # a Ctrl-C landing there would send stop_all's report to /dev/null.
        if [[ -n "$(caravan_running_pid "$service")" ]]; then any=1; fi
    done
    if ((!any)); then
        echo "Every service has stopped."
        break
    fi
    sleep 1 &
    wait $! || true
done
