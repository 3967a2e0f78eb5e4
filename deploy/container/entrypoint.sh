#!/bin/sh
# The image's entry point: runs caravan-$CARAVAN_SERVICE with container
# defaults (bind every interface; the database in /var/lib/caravan), each of
# which the executable's own environment variable or a flag overrides.
set -eu
service="${CARAVAN_SERVICE:?CARAVAN_SERVICE is not set}"
prefix="CARAVAN_$(printf '%s' "$service" | tr '[:lower:]' '[:upper:]')"
eval ": \"\${${prefix}_HOST:=0.0.0.0}\"; export ${prefix}_HOST"
if [ "$service" != gateway ]; then
    eval ": \"\${${prefix}_DATA_DIR:=/var/lib/caravan}\"; export ${prefix}_DATA_DIR"
fi
exec "${CARAVAN_BIN_DIR:-/usr/local/bin}/caravan-$service" "$@"
