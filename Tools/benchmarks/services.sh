#!/usr/bin/env bash
# The services at the runtime's speed (issue 17), in one run, release build:
#
#  1. reads: a primary-key read through each service at C=1 on SQLite
#     (training GetProgram, trade GetFlow, logistics GetCity) beside an echo
#     of the same run: p50 and p50 / echo p50;
#  2. scenarios: each service's built-in scenario at C=16 (and C=1) on
#     SQLite with --sync full (fsync before every acknowledgement; commits
#     may share one) and on PostgreSQL: calls/s, p50, p99;
#  3. isolation: the p99 of a cheap call (trade GetFlow, C=1) alone and
#     while heavy reads run beside it (StreamFlows of 200,000 flows, C=2).
#
# Every measurement runs against a fresh data directory (or database).
# With BASELINE_BIN=DIR (release binaries of an earlier commit), each row
# is measured for those binaries too, interleaved with the current ones,
# so the two are compared in one run on one machine.
#
# Usage: Tools/benchmarks/services.sh [reads] [scenarios] [isolation]   (default: all three)
# Environment: CARAVAN_BIN_DIR (release binaries, default .build/release);
#   BENCH_DURATION (default 10s), BENCH_WARMUP (default 2s), BENCH_ROUNDS (reads, default 3)
#   CARAVAN_BENCH_POSTGRES_URL  an admin URL where databases may be created and dropped
#       (default $CARAVAN_TEST_POSTGRES_URL); without one the PostgreSQL columns are skipped
#   BASELINE_BIN  a directory with caravan, caravan-trade, caravan-logistics, caravan-training
# Needs the release build: swift build -c release
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=Tools/benchmarks/lib.sh
source Tools/benchmarks/lib.sh
parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=(reads scenarios isolation)
bin="${CARAVAN_BIN_DIR:-.build/release}"
[[ -x $bin/caravan ]] || { echo "no release build: swift build -c release" >&2; exit 1; }
duration="${BENCH_DURATION:-10s}"
warmup="${BENCH_WARMUP:-2s}"
rounds="${BENCH_ROUNDS:-3}"
admin="${CARAVAN_BENCH_POSTGRES_URL:-${CARAVAN_TEST_POSTGRES_URL:-}}"
baseline="${BASELINE_BIN:-}"
builds=("$bin")
[[ -n "$baseline" ]] && builds+=("$baseline")
work=$(mktemp -d)
databases=()
cleanup() {
    bench_stop_all "$work"
    for database in "${databases[@]}"; do
        psql -q "$admin" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

label() { [[ "$1" == "$bin" ]] && echo "this build" || echo "baseline"; }

# start NAME BINDIR ARGS...: starts a server (echo… is the echo server,
# SERVICE-… caravan-SERVICE); prints its address once it listens.
start() {
    local name=$1 dir=$2
    if [[ $name == echo* ]]; then
        bench_start "$work/$name.log" "$dir/caravan" echo-server --port 0
    else
        bench_start "$work/$name.log" "$dir/caravan-${name%%-*}" --port 0 --log-level warning --call-log-level off "${@:3}"
    fi
}

stop() { bench_stop "$work/$1.log"; }

# load ADDRESS CONCURRENCY ARGS...: one closed-loop run; prints its CSV row
# (method,address,C,K,calls,errors,duration,qps,p50,p75,p90,p95,p99,p999,max,mean).
load() {
    "$bin/caravan" load "$1" --concurrency "$2" --duration "$duration" --warmup "$warmup" --timeout 10s \
        --format csv "${@:3}" | sed -n 2p
}

payload=$(python3 -c 'import base64; print(base64.b64encode(bytes(range(64))).decode())')

reads() {
    echo "## Primary-key reads at C=1 (SQLite), $rounds rounds of $duration, interleaved"
    echo
    echo "| build | call | p50 µs (median of rounds) | p50 / echo p50 (median of rounds) | p99 µs | calls/s |"
    echo "|---|---|---|---|---|---|"
    local echo_address
    echo_address=$(start echo "$bin")
    declare -A address
    for dir in "${builds[@]}"; do
        local tag
        tag=$(label "$dir" | tr ' ' _)
        # A few thousand flows, so GetFlow reads a real row of a real table.
        "$dir/caravan-trade" --data-dir "$work/reads-$tag/trade" --generate-synthetic-flows 5000 >/dev/null 2>&1
        address["$tag training"]=$(start "training-$tag" "$dir" --data-dir "$work/reads-$tag/training")
        address["$tag trade"]=$(start "trade-$tag" "$dir" --data-dir "$work/reads-$tag/trade")
        address["$tag logistics"]=$(start "logistics-$tag" "$dir" --data-dir "$work/reads-$tag/logistics")
    done
    declare -A rows
    for _ in $(seq "$rounds"); do
        local echo_row
        echo_row=$(load "$echo_address" 1 --call caravan.echo.v1.Echo/Unary --data "{\"payload\":\"$payload\"}")
        rows["echo"]+="$echo_row"$'\n'
        local echo_p50
        echo_p50=$(cut -d, -f9 <<<"$echo_row")
        for dir in "${builds[@]}"; do
            local tag
            tag=$(label "$dir" | tr ' ' _)
            for call in "training caravan.training.v1.TrainingService/GetProgram {\"id\":\"prog-1\"}" \
                "trade caravan.trade.v1.TradeService/GetFlow {\"id\":\"1\"}" \
                "logistics caravan.logistics.v1.LogisticsService/GetCity {\"id\":\"xian\"}"; do
                read -r service method data <<<"$call"
                local row
                row=$(load "${address["$tag $service"]}" 1 --call "$method" --data "$data")
                rows["$tag ${method##*/}"]+="$(awk -F, -v e="$echo_p50" '{ printf "%s,%.3f", $0, $9 / e }' <<<"$row")"$'\n'
            done
        done
    done
    # The median round by p50, and the median of the ratios.
    summarize() {
        local name=$1 call=$2
        local data=${rows["$call"]}
        local middle=$(( (rounds + 1) / 2 ))
        local p50 ratio p99 qps
        p50=$(sed '/^$/d' <<<"$data" | cut -d, -f9 | sort -g | sed -n "${middle}p")
        p99=$(sed '/^$/d' <<<"$data" | cut -d, -f13 | sort -g | sed -n "${middle}p")
        qps=$(sed '/^$/d' <<<"$data" | cut -d, -f8 | sort -g | sed -n "${middle}p")
        ratio=$(sed '/^$/d' <<<"$data" | cut -d, -f17 | sort -g | sed -n "${middle}p")
        printf "| %s | %s | %.1f | %s | %.1f | %.0f |\n" "$name" "${call#* }" "$p50" "${ratio:-1}" "$p99" "$qps"
    }
    summarize "—" "echo"
    for dir in "${builds[@]}"; do
        local tag
        tag=$(label "$dir" | tr ' ' _)
        for method in GetProgram GetFlow GetCity; do summarize "$(label "$dir")" "$tag $method"; done
        for service in training trade logistics; do stop "$service-$tag"; done
    done
    stop echo
    echo
}

scenarios() {
    echo "## Built-in scenarios, closed loop, $duration after $warmup (SQLite --sync full; PostgreSQL synchronous_commit on)"
    echo
    echo "| build | service | store | C | calls/s | p50 ms | p99 ms | errors |"
    echo "|---|---|---|---|---|---|---|---|"
    local n=0
    for service in trade logistics training; do
        for concurrency in 1 16; do
            for store in sqlite postgres; do
                [[ $store == postgres && -z "$admin" ]] && continue
                for dir in "${builds[@]}"; do
                    n=$((n + 1))
                    local name="$service-s$n" address
                    if [[ $store == sqlite ]]; then
                        address=$(start "$name" "$dir" --data-dir "$work/$name" --sync full)
                    else
                        local database="caravan_bench_${service}_$$_$n"
                        psql -q "$admin" -c "CREATE DATABASE $database" >/dev/null
                        databases+=("$database")
                        address=$(start "$name" "$dir" --database "${admin%/*}/$database")
                    fi
                    load "$address" "$concurrency" --scenario "$service" |
                        awk -F, -v b="$(label "$dir")" -v s="$service" -v st="$store" -v c="$concurrency" \
                            '{ printf "| %s | %s | %s | %s | %.0f | %.2f | %.2f | %d |\n", b, s, st, c, $8, $9 / 1000, $13 / 1000, $6 }'
                    stop "$name"
                done
            done
        done
    done
    echo
}

isolation() {
    echo "## A cheap call beside heavy ones (trade, SQLite, 200,000 synthetic flows)"
    echo
    echo "| build | GetFlow C=1 alone: p50 µs | p99 µs | beside StreamFlows C=2: p50 µs | p99 µs | StreamFlows calls/s |"
    echo "|---|---|---|---|---|---|"
    for dir in "${builds[@]}"; do
        local tag
        tag=$(label "$dir" | tr ' ' _)
        "$dir/caravan-trade" --data-dir "$work/iso-$tag" --generate-synthetic-flows 200000 >/dev/null 2>&1
        local address
        address=$(start "trade-iso-$tag" "$dir" --data-dir "$work/iso-$tag")
        local alone beside heavy
        alone=$(load "$address" 1 --call caravan.trade.v1.TradeService/GetFlow --data '{"id":"1"}')
        load "$address" 2 --call caravan.trade.v1.TradeService/StreamFlows --data '{}' >"$work/heavy.csv" &
        local heavy_pid=$!
        sleep 1
        beside=$(load "$address" 1 --call caravan.trade.v1.TradeService/GetFlow --data '{"id":"1"}')
        wait "$heavy_pid"
        heavy=$(cat "$work/heavy.csv")
        printf "| %s | %.0f | %.0f | %.0f | %.0f | %.1f |\n" "$(label "$dir")" "$(cut -d, -f9 <<<"$alone")" \
            "$(cut -d, -f13 <<<"$alone")" "$(cut -d, -f9 <<<"$beside")" "$(cut -d, -f13 <<<"$beside")" \
            "$(cut -d, -f8 <<<"$heavy")"
        stop "trade-iso-$tag"
    done
    echo
}

bench_run_parts "${parts[@]}"
