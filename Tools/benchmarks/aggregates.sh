#!/usr/bin/env bash
# What the gateway's aggregates read, at 0, 10,000 and 1,000,000 stored rows
# (issue 17): each read is a maintained total or an indexed read, so its
# cost should not grow with the rows. Release build, SQLite, a fresh data
# directory per size, filled by the services' synthetic-data generators:
#
#   trade      GetSummary 2024 (the overview's trade section)      over N flows
#   trade      HubStats 2024 without top creators (the hub section) over N sessions
#   trade      HubStats all time with the top 10 creators (the scenario's) over N sessions
#   logistics  CountShipments (the logistics section)               over N shipments
#   training   Statistics by country (the training section)         over N enrolments
#
# Then the partnership overview through the gateway, C=1, on the seed data
# and on 1,000,000 shipments, 1,000,000 flows and 100,000 enrolments, the two
# stacks measured in turns.
#
# Usage: Tools/benchmarks/aggregates.sh [reads] [overview]   (default: both)
# Environment: CARAVAN_BIN_DIR (release binaries, default .build/release),
#   AGG_SIZES (default "0 10000 1000000"), BENCH_DURATION (default 5s),
#   BENCH_WARMUP (default 1s), BENCH_ROUNDS (overview, default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=Tools/benchmarks/lib.sh
source Tools/benchmarks/lib.sh
parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=(reads overview)
bin="${CARAVAN_BIN_DIR:-.build/release}"
[[ -x $bin/caravan ]] || { echo "no release build: swift build -c release" >&2; exit 1; }
read -r -a sizes <<<"${AGG_SIZES:-0 10000 1000000}"
duration="${BENCH_DURATION:-5s}"
warmup="${BENCH_WARMUP:-1s}"
rounds="${BENCH_ROUNDS:-3}"
work=$(mktemp -d)
cleanup() {
    bench_stop_all "$work"
    rm -rf "$work"
}
trap cleanup EXIT

# start NAME ARGS...: starts caravan-<service> (NAME is service-tag); prints its
# address once it listens.
start() {
    bench_start "$work/$1.log" "$bin/caravan-${1%%-*}" --port 0 --log-level warning --call-log-level off "${@:2}"
}

stop() { bench_stop "$work/$1.log"; }

# p50 and p99 in µs of one C=1 run: "p50 | p99".
measure() {
    "$bin/caravan" load "$1" --call "$2" --data "$3" --concurrency 1 --duration "$duration" --warmup "$warmup" \
        --timeout 10s --format csv | sed -n 2p | awk -F, '{ printf "%.0f | %.0f | %d", $9, $13, $6 }'
}

year_start=$(date -u -d 2024-01-01 +%s)
year_end=$(date -u -d 2025-01-01 +%s)

reads() {
    echo "## Aggregate reads by rows stored (SQLite, C=1, $duration each)"
    echo
    echo "| read | rows stored | p50 µs | p99 µs | errors | generating took |"
    echo "|---|---|---|---|---|---|"
    for size in "${sizes[@]}"; do
        local dir="$work/reads-$size" took
        for pair in "trade flows" "trade sessions" "logistics shipments" "training enrolments"; do
            read -r service kind <<<"$pair"
            took="—"
            if [[ $size -gt 0 ]]; then
                local start_time=$SECONDS
                "$bin/caravan-$service" --data-dir "$dir/$service" "--generate-synthetic-$kind" "$size" >/dev/null 2>&1
                took="$((SECONDS - start_time)) s"
            fi
            echo "$took" >"$work/took-$size-$kind"
        done
        local trade logistics training
        trade=$(start "trade-$size" --data-dir "$dir/trade")
        logistics=$(start "logistics-$size" --data-dir "$dir/logistics")
        training=$(start "training-$size" --data-dir "$dir/training")
        echo "| GetSummary 2024 | $size flows | $(measure "$trade" caravan.trade.v1.TradeService/GetSummary '{"year":2024}') | $(cat "$work/took-$size-flows") |"
        echo "| HubStats 2024, totals only | $size sessions | $(measure "$trade" caravan.trade.v1.TradeService/HubStats "{\"hub\":\"horgos\",\"from_unix_seconds\":$year_start,\"to_unix_seconds\":$year_end,\"omit_top_creators\":true}") | $(cat "$work/took-$size-sessions") |"
        echo "| HubStats all time, top 10 creators | $size sessions | $(measure "$trade" caravan.trade.v1.TradeService/HubStats '{"hub":"horgos","top_creators_limit":10}') | |"
        echo "| CountShipments | $size shipments | $(measure "$logistics" caravan.logistics.v1.LogisticsService/CountShipments '{}') | $(cat "$work/took-$size-shipments") |"
        echo "| Statistics by country | $size enrolments | $(measure "$training" caravan.training.v1.TrainingService/Statistics '{}') | $(cat "$work/took-$size-enrolments") |"
        stop "trade-$size"
        stop "logistics-$size"
        stop "training-$size"
        rm -rf "$dir"
    done
    echo
}

# stack TAG DATA-DIR: the three services and a gateway; prints the gateway's address.
stack() {
    local tag=$1 dir=$2 trade logistics training
    trade=$(start "trade-$tag" --data-dir "$dir/trade")
    logistics=$(start "logistics-$tag" --data-dir "$dir/logistics")
    training=$(start "training-$tag" --data-dir "$dir/training")
    bench_start "$work/gateway-$tag.log" "$bin/caravan-gateway" --port 0 --http-port=-1 --log-level warning \
        --call-log-level off --trade "$trade" --logistics "$logistics" --training "$training"
}

overview() {
    echo "## The partnership overview on the seed data and on 1,000,000 shipments, 1,000,000 flows, 100,000 enrolments"
    echo
    "$bin/caravan-trade" --data-dir "$work/big/trade" --generate-synthetic-flows 1000000 >/dev/null 2>&1
    "$bin/caravan-logistics" --data-dir "$work/big/logistics" --generate-synthetic-shipments 1000000 >/dev/null 2>&1
    "$bin/caravan-training" --data-dir "$work/big/training" --generate-synthetic-enrolments 100000 >/dev/null 2>&1
    local seed big
    seed=$(stack seed "$work/seed")
    big=$(stack big "$work/big")
    echo "| round | seed data p50 µs | p99 µs | big data p50 µs | p99 µs | big / seed p50 |"
    echo "|---|---|---|---|---|---|"
    for round in $(seq "$rounds"); do
        local a b
        a=$(measure "$seed" caravan.gateway.v1.Gateway/PartnershipOverview '{"year":2024}')
        b=$(measure "$big" caravan.gateway.v1.Gateway/PartnershipOverview '{"year":2024}')
        awk -v r="$round" -v a="$a" -v b="$b" 'BEGIN {
            split(a, x, " [|] "); split(b, y, " [|] ");
            printf "| %d | %s | %s | %s | %s | %.2f |\n", r, x[1], x[2], y[1], y[2], y[1] / x[1] }'
    done
    echo
}

bench_run_parts "${parts[@]}"
