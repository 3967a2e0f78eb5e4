#!/bin/sh
# The image's HEALTHCHECK: `caravan health` against this container's own
# service; exits 0 only when it reports SERVING.
set -eu
service="${CARAVAN_SERVICE:?CARAVAN_SERVICE is not set}"
prefix="CARAVAN_$(printf '%s' "$service" | tr '[:lower:]' '[:upper:]')"
case "$service" in
    gateway) port=7000 ;; trade) port=7001 ;; logistics) port=7002 ;; training) port=7003 ;;
    *) echo "unknown service $service" >&2; exit 1 ;;
esac
eval "port=\${${prefix}_PORT:-$port}"
exec "${CARAVAN_BIN_DIR:-/usr/local/bin}/caravan" health --timeout 3s "127.0.0.1:$port"
