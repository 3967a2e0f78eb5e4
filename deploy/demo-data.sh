#!/bin/sh
# The demo data a backend's new SQLite store gets on its first start, so a
# first run shows the system at work: labelled synthetic trade flows for
# every Central Asian partner and every year 2015–2024, Horgos hub sessions,
# shipments under way and delivered, trainees enrolled and wait-listed.
# Every row is written by the executables' own generators, which mark it
# synthetic (answers and the dashboard say so). Shared by deploy/local
# (lib.sh) and the container image's entry point, which copies it to
# /usr/local/bin/caravan-demo-data; they decide whether demo data is
# wanted (CARAVAN_DEMO_DATA), this decides whether the store is new and
# loads it.
#
#   demo-data.sh is-new SERVICE DATA_DIR     exit 0 when SERVICE has no store
#                                            in DATA_DIR yet (nor a marker)
#   demo-data.sh load SERVICE DATA_DIR BIN_DIR
#                                            load it into that new store
#
# `load` writes into a staging directory inside DATA_DIR and moves the
# finished database into place only when every generator has succeeded:
# an interrupted or failed load leaves no half-filled store behind (which a
# restart would take for an existing one and never complete), and the next
# start tries again. Then it writes the marker DATA_DIR/synthetic-demo-data,
# saying what was loaded; is-new says no while it or the database exists,
# so a restart never loads it twice. The generators' output goes to
# standard error; the one line saying what was loaded to standard output.
# PostgreSQL stores are not handled here: a shell cannot tell cheaply and
# safely whether a shared database is new, so callers never load into one.
set -eu

marker=synthetic-demo-data

# Sizes: enough that every partner has flows in every year and every
# dashboard panel has something to show, small enough that a first start
# takes a second or two (docs/DEPLOYMENT.md#demo-data has the timings).
# 300 enrolments fill most of the eight seeded programs' 228 seats and put
# the rest on wait-lists.
trade_flows=5000
hub_sessions=1000
shipments=2000
enrolments=300

usage() {
    echo "usage: $0 is-new SERVICE DATA_DIR | load SERVICE DATA_DIR BIN_DIR" >&2
    exit 2
}

[ $# -ge 3 ] || usage
command=$1
service=$2
data_dir=$3
case "$service" in trade | logistics | training) ;; *) echo "$0: not a backend: '$service'" >&2; exit 2 ;; esac

case "$command" in
    is-new)
        [ $# -eq 3 ] || usage
        [ ! -e "$data_dir/$service.sqlite" ] && [ ! -e "$data_dir/$marker" ]
        exit
        ;;
    load) [ $# -eq 4 ] || usage ;;
    *) usage ;;
esac
executable="$4/caravan-$service"

if [ -e "$data_dir/$service.sqlite" ] || [ -e "$data_dir/$marker" ]; then
    echo "$0: $service already has a store in $data_dir: demo data goes only into a new one" >&2
    exit 1
fi
staging="$data_dir/.demo-data-loading"
# Left over from an interrupted load: it never became the store.
rm -rf "$staging"
mkdir -p "$staging"

generate() {
    # The flag wins over CARAVAN_<SERVICE>_DATA_DIR, which the caller may
    # have set to the real directory.
    "$executable" --data-dir "$staging" "$@" >&2 || {
        echo "$0: caravan-$service $* failed (its output is above)" >&2
        rm -rf "$staging"
        exit 1
    }
}

case "$service" in
    trade)
        generate --generate-synthetic-flows "$trade_flows"
        generate --generate-synthetic-sessions "$hub_sessions"
        what="$trade_flows trade flows (every partner, 2015–2024) and $hub_sessions Horgos hub sessions (2020–2024)"
        ;;
    logistics)
        generate --generate-synthetic-shipments "$shipments"
        what="$shipments shipments booked in the last year (most delivered, some under way)"
        ;;
    training)
        generate --generate-synthetic-enrolments "$enrolments"
        what="$enrolments trainees enrolled in the seeded programs or wait-listed"
        ;;
esac

# A generator closes its database cleanly, so SQLite has folded its -wal
# into the file and removed it; anything else there is moved before the
# database, which is the file whose arrival makes the store exist.
for file in "$staging"/* "$staging"/.[!.]*; do
    [ -e "$file" ] || continue
    [ "$file" = "$staging/$service.sqlite" ] && continue
    mv -f "$file" "$data_dir/"
done
mv -f "$staging/$service.sqlite" "$data_dir/$service.sqlite"
rmdir "$staging"
cat >"$data_dir/$marker" <<EOF
Labelled synthetic demo data, loaded on this store's first start ($(date -u +%Y-%m-%dT%H:%M:%SZ)) by deploy/demo-data.sh:
$what.
Every generated row is marked synthetic, and so is every figure computed from it.
To start without it: stop caravan-$service, delete this directory (its store), and start again with
CARAVAN_DEMO_DATA=0 (deploy/local/run.sh --empty). This file keeps a restart from loading it again.
EOF
echo "$service: loaded labelled synthetic demo data: $what"
