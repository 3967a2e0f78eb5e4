#!/usr/bin/env bash
# Stops the PostgreSQL that start.sh started and removes its files.
set -euo pipefail
dir=${CARAVAN_PG_DIR:-/tmp/caravan-postgres}
# The newest installed server's programs ("" when none is).
latest_bin() {
    local found=""
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/initdb" ] && found=$dir
    done
    echo "$found"
}
bin=$(latest_bin)
[ -n "$bin" ] && [ -f "$dir/PG_VERSION" ] || exit 0
if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -m fast -w stop >&2 || true
else
    "$bin/pg_ctl" -D "$dir" -m fast -w stop >&2 || true
fi
rm -rf "$dir"
