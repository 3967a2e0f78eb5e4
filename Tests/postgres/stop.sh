#!/usr/bin/env bash
# Stops the PostgreSQL that start.sh started and removes its files.
set -euo pipefail
dir=${CARAVAN_PG_DIR:-/tmp/caravan-postgres}
# shellcheck source=Tests/postgres/lib.sh
source "$(dirname "$0")/lib.sh"
bin=$(latest_bin)
[ -n "$bin" ] && [ -f "$dir/PG_VERSION" ] || exit 0
as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >&2 || true
rm -rf "$dir"
