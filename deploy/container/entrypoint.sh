#!/bin/sh
# The image's entry point: runs caravan-$CARAVAN_SERVICE with container
# defaults (bind every interface; the database in /var/lib/caravan), each of
# which the executable's own environment variable or a flag overrides.
# A backend given PostgreSQL (CARAVAN_<SERVICE>_DATABASE_URL or --database)
# gets no data directory default: the executable refuses both at once.
#
# With CARAVAN_DEMO_DATA=1 (compose.yaml sets it unless told 0) a backend
# starting on a new SQLite store (a new volume) first gets the labelled
# synthetic demo data (caravan-demo-data, deploy/demo-data.sh in the
# repository), which leaves a marker in the volume so a restart never loads
# it again. The image alone defaults to 0: a cluster or a host running it
# for real data must not find made-up figures in a new store.
set -eu
service="${CARAVAN_SERVICE:?CARAVAN_SERVICE is not set}"
bin_dir="${CARAVAN_BIN_DIR:-/usr/local/bin}"
prefix="CARAVAN_$(printf '%s' "$service" | tr '[:lower:]' '[:upper:]')"
eval ": \"\${${prefix}_HOST:=0.0.0.0}\"; export ${prefix}_HOST"
if [ "$service" != gateway ]; then
    eval "database=\${${prefix}_DATABASE_URL:-}"
    data_dir=
    one_shot=
    previous=
    for argument in "$@"; do
        case "$argument" in
            --database | --database=*) database=flag ;;
            --data-dir=*) data_dir="${argument#--data-dir=}" ;;
            # A tool's run (it writes or copies and exits): no demo data.
            --generate-* | --copy-from-sqlite | --copy-from-sqlite=* | --benchmark-routes | -h | --help) one_shot=1 ;;
        esac
        if [ "$previous" = --data-dir ]; then data_dir="$argument"; fi
        previous="$argument"
    done
    if [ -z "$database" ]; then
        eval ": \"\${${prefix}_DATA_DIR:=/var/lib/caravan}\"; export ${prefix}_DATA_DIR"
        eval "data_dir=\${data_dir:-\$${prefix}_DATA_DIR}"
    fi
    case "${CARAVAN_DEMO_DATA:-0}" in
        0) ;;
        1)
            if [ -n "$one_shot" ]; then
                :
            elif [ -n "$database" ]; then
                # Whether a PostgreSQL database is new (replicas share it)
                # is not something to guess here: a wrong guess loads twice.
                echo "caravan-$service keeps its data in PostgreSQL: no demo data loaded (docs/DEPLOYMENT.md#demo-data)" >&2
            elif "$bin_dir/caravan-demo-data" is-new "$service" "$data_dir"; then
                line="$("$bin_dir/caravan-demo-data" load "$service" "$data_dir" "$bin_dir")"
                echo "$line. To start empty instead: docker compose down -v (removes the volumes), then CARAVAN_DEMO_DATA=0 docker compose up"
            fi
            ;;
        *)
            echo "CARAVAN_DEMO_DATA must be 1 (load synthetic demo data into a new store) or 0 (start empty); got '$CARAVAN_DEMO_DATA'" >&2
            exit 2
            ;;
    esac
fi
exec "$bin_dir/caravan-$service" "$@"
