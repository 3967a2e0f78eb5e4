#!/usr/bin/env bash
# Each service's built-in load scenario against SQLite and against
# PostgreSQL, side by side, as a Markdown table: closed loop at each
# concurrency, calls/s, p50 and p99 (ms), errors.
#
# Usage: Tools/benchmarks/storage.sh [SERVICE ...]   (default: trade logistics training)
# Environment: CARAVAN_BIN_DIR (release binaries, default .build/release);
#   CARAVAN_BENCH_POSTGRES_URL  an admin URL where the script may create and drop
#       databases (default: $CARAVAN_TEST_POSTGRES_URL; `eval "$(Tests/postgres/start.sh)"`
#       starts one on loopback)
#   BENCH_CONCURRENCY  (default "1 16"), BENCH_DURATION (default 15s), BENCH_WARMUP (default 3s)
#   BENCH_SYNC  SQLite durability, full or normal (default full: an fsync per commit,
#       as PostgreSQL's default synchronous_commit does)
# Needs the release build: swift build -c release
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=Tools/benchmarks/lib.sh
source Tools/benchmarks/lib.sh
services=("$@")
[[ ${#services[@]} -gt 0 ]] || services=(trade logistics training)
admin="${CARAVAN_BENCH_POSTGRES_URL:-${CARAVAN_TEST_POSTGRES_URL:-}}"
# shellcheck disable=SC2016 # the command is shown, not run
[[ -n "$admin" ]] || { echo 'set CARAVAN_BENCH_POSTGRES_URL (or eval "$(Tests/postgres/start.sh)")' >&2; exit 64; }
bin="${CARAVAN_BIN_DIR:-.build/release}"
[[ -x $bin/caravan ]] || { echo "no release build: swift build -c release" >&2; exit 1; }
read -r -a levels <<<"${BENCH_CONCURRENCY:-1 16}"
duration="${BENCH_DURATION:-15s}"
warmup="${BENCH_WARMUP:-3s}"
sync="${BENCH_SYNC:-full}"
work=$(mktemp -d)
databases=()
cleanup() {
    bench_stop_all "$work"
    for database in "${databases[@]}"; do psql -q "$admin" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# Starts a service; prints its address once it listens.
start() {
    bench_start "$work/$1-$RANDOM" "$bin/caravan-$1" --port 0 --log-level warning "${@:2}"
}

# calls/s, p50 ms, p99 ms, errors of one closed-loop run.
measure() {
    local row
    row=$("$bin/caravan" load "$1" --scenario "$2" --concurrency "$3" --duration "$duration" --warmup "$warmup" \
        --timeout 10s --format csv | sed -n 2p)
    IFS=, read -r _ _ _ _ _ errors _ qps p50 _ _ _ p99 _ _ _ <<<"$row"
    awk -v q="$qps" -v a="$p50" -v b="$p99" -v e="$errors" 'BEGIN { printf "%.0f | %.2f | %.2f | %d", q, a / 1000, b / 1000, e }'
}

echo "| service | concurrency | SQLite calls/s | p50 ms | p99 ms | errors | PostgreSQL calls/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for service in "${services[@]}"; do
    database="caravan_bench_${service}_$$"
    psql -q "$admin" -c "CREATE DATABASE $database" >/dev/null
    databases+=("$database")
    sqlite=$(start "$service" --data-dir "$work/$service" --sync "$sync")
    postgres=$(start "$service" --database "${admin%/*}/$database")
    for concurrency in "${levels[@]}"; do
        echo "| $service | $concurrency | $(measure "$sqlite" "$service" "$concurrency") | $(measure "$postgres" "$service" "$concurrency") |"
    done
done
