#!/usr/bin/env bash
# Starts a throwaway PostgreSQL (Debian's packages) on loopback for the
# tests and benchmarks that need one, and prints the line that points them
# at it:
#
#   eval "$(Tests/postgres/start.sh)"   # exports CARAVAN_TEST_POSTGRES_URL
#   swift test ...
#   Tests/postgres/stop.sh
#
# Installs postgresql with apt-get when it is missing. The cluster lives in
# $CARAVAN_PG_DIR (default /tmp/caravan-postgres), listens on 127.0.0.1 only
# (port $CARAVAN_PG_PORT, default 54329) and takes password logins
# (scram-sha-256) for the superuser caravan/caravan, which the tests use to
# create and drop a database per test.
#
# The chaos harness runs it inside a network namespace of its own, with
# CARAVAN_PG_LISTEN (the address to listen on instead of 127.0.0.1) and
# CARAVAN_PG_ALLOW (a CIDR whose hosts may log in too).
set -euo pipefail

dir=${CARAVAN_PG_DIR:-/tmp/caravan-postgres}
port=${CARAVAN_PG_PORT:-54329}
listen=${CARAVAN_PG_LISTEN:-127.0.0.1}
allow=${CARAVAN_PG_ALLOW:-}

# shellcheck source=Tests/postgres/lib.sh
source "$(dirname "$0")/lib.sh"
bin=$(latest_bin)
if [ -z "$bin" ]; then
    echo "installing postgresql from Debian's packages" >&2
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    else
        sudo apt-get update -qq >&2 && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    fi
    bin=$(latest_bin)
fi

if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    pwfile=$(mktemp)
    echo caravan > "$pwfile"
    chmod 644 "$pwfile"
    as_owner "$bin/initdb" -D "$dir" -U caravan --pwfile="$pwfile" --auth=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >&2
    rm -f "$pwfile"
    if [ -n "$allow" ]; then
        echo "host all all $allow scram-sha-256" >> "$dir/pg_hba.conf"
    fi
fi

# A throwaway cluster need not survive a crash, so nothing waits for the
# disk: with fsync on, the first DROP DATABASE after the suites had created
# dozens of databases forced a checkpoint that spent 27 s in fsync while
# every test's statements queued behind it (Tests/run.sh has the figures).
if ! as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/server.log" \
        -o "-c listen_addresses=$listen -c port=$port -c unix_socket_directories=$dir -c max_connections=300 \
            -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >&2
fi

echo "export CARAVAN_TEST_POSTGRES_URL=postgres://caravan:caravan@$listen:$port/postgres"
