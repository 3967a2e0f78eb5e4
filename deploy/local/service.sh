#!/usr/bin/env bash
# Stops, starts or restarts one Caravan service alone while the others keep
# serving; the companion of deploy/local/run.sh (same state directory, pid
# files under ./data/run, logs under ./data/logs).
#
#   deploy/local/service.sh stop|start|restart|status SERVICE
#   SERVICE: trade, logistics, training or gateway
#
# It does not build: it runs the release build's executables (or those in
# CARAVAN_BIN). `start` returns once the service reports SERVING; `stop`
# sends SIGTERM and waits for the drain (CARAVAN_STOP_TIMEOUT, default 30 s,
# then SIGKILL). `start` on a backend's new store loads the synthetic demo
# data first, as run.sh does, unless CARAVAN_DEMO_DATA=0.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=deploy/local/lib.sh
source deploy/local/lib.sh

usage() {
    echo "usage: $0 stop|start|restart|status SERVICE   (SERVICE: ${CARAVAN_ALL_SERVICES[*]})" >&2
    exit 2
}

(($# == 2)) || usage
command=$1
service=$2
case "$command" in stop | start | restart | status) ;; *) echo "unknown command '$command'" >&2; usage ;; esac
caravan_is_service "$service" || { echo "unknown service '$service'" >&2; usage; }

case "$command" in
    status)
        if pid="$(caravan_running_pid "$service")"; then
            echo "$service running (pid $pid) at $(caravan_address "$service")"
        else
            echo "$service not running"
            exit 3
        fi
        ;;
    stop)
        caravan_stop "$service"
        ;;
    start | restart)
        caravan_demo_check || exit 2
        caravan_bin="$(caravan_bin_dir)"
        [[ "$command" == restart ]] && caravan_stop "$service"
        caravan_start "$service"
        caravan_demo_report
        ;;
esac
