#!/bin/sh
# The image's entry point: runs caravan-$CARAVAN_SERVICE with container
# defaults (bind every interface; the database in /var/lib/caravan), each of
# which the executable's own environment variable or a flag overrides.
# A backend given PostgreSQL (CARAVAN_<SERVICE>_DATABASE_URL or --database)
# gets no data directory default: the executable refuses both at once.
set -eu
service="${CARAVAN_SERVICE:?CARAVAN_SERVICE is not set}"
prefix="CARAVAN_$(printf '%s' "$service" | tr '[:lower:]' '[:upper:]')"
eval ": \"\${${prefix}_HOST:=0.0.0.0}\"; export ${prefix}_HOST"
if [ "$service" != gateway ]; then
    eval "database=\${${prefix}_DATABASE_URL:-}"
    for argument in "$@"; do
        case "$argument" in
            --database | --database=*) database=flag ;;
        esac
    done
    if [ -z "$database" ]; then
        eval ": \"\${${prefix}_DATA_DIR:=/var/lib/caravan}\"; export ${prefix}_DATA_DIR"
    fi
fi
exec "${CARAVAN_BIN_DIR:-/usr/local/bin}/caravan-$service" "$@"
