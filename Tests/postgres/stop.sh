#!/usr/bin/env bash
# Stops the PostgreSQL that start.sh started and removes its files.
set -euo pipefail
dir=${CARAVAN_PG_DIR:-/tmp/caravan-postgres}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
[ -n "$bin" ] && [ -f "$dir/PG_VERSION" ] || exit 0
if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -m fast -w stop >&2 || true
else
    "$bin/pg_ctl" -D "$dir" -m fast -w stop >&2 || true
fi
rm -rf "$dir"
