#!/usr/bin/env bash
# How much load one core of `caravan load` drives: the load tool pinned to
# CPU 0, `caravan echo-server` (handlers on its event loop) pinned to CPU 1,
# release build, loopback. Prints a Markdown table with, per run, the CPU
# each process used (user + system time / wall time), so a row limited by
# the server rather than the load tool shows as such.
#
# Usage: Tools/benchmarks/load-capacity.sh [duration, default 10s] [open-loop rates ...]
# Environment: CARAVAN (the caravan binary; default the release build), PORT (default 7191).
set -euo pipefail
cd "$(dirname "$0")/../.."
duration="${1:-10s}"
shift || true
rates=("$@")
[[ ${#rates[@]} -gt 0 ]] || rates=(10000 20000 40000 60000 80000 100000 120000 150000)
bin="${CARAVAN:-.build/release/caravan}"
port="${PORT:-7191}"
[[ -x "$bin" ]] || { echo "no caravan binary at $bin: swift build -c release --product caravan" >&2; exit 1; }
payload='{"payload":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="}'
ticks=$(getconf CLK_TCK)

taskset -c 1 "$bin" echo-server --port "$port" --log-level warning >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
until "$bin" health --timeout 500ms "127.0.0.1:$port" >/dev/null 2>&1; do sleep 0.1; done

server_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }

# run LABEL INTENDED ARGS... : one row.
run() {
    local label="$1" intended="$2"
    shift 2
    local before after row usage
    before=$(server_ticks)
    row="$(/usr/bin/time -f '%U %S %e' -o /tmp/load-capacity.time taskset -c 0 "$bin" load "127.0.0.1:$port" "$@" \
        --duration "$duration" --format csv | sed -n 2p)"
    after=$(server_ticks)
    usage=$(cat /tmp/load-capacity.time)
    # CSV: method,address,C,K,calls,errors,duration,qps,p50,p75,p90,p95,p99,p999,max,mean
    awk -F, -v label="$label" -v intended="$intended" -v usage="$usage" -v server=$((after - before)) -v ticks="$ticks" '{
        split(usage, u, " ")
        printf "| %s | %s | %.0f | %.0f | %.1f | %.1f | %d | %.0f%% | %.0f%% |\n", label, intended, $8, ($5 > 0 ? $8 * ($5 - $6) / $5 : 0), $9, $13, $6,
            (u[1] + u[2]) / u[3] * 100, server / ticks / u[3] * 100 }' <<<"$row"
}

echo "| load | intended calls/s | made calls/s | OK calls/s | p50 µs | p99 µs | errors | load tool CPU | server CPU |"
echo "|---|---|---|---|---|---|---|---|---|"
behind=0
for rate in "${rates[@]}"; do
    line="$(run "open loop, Unary 64 B" "$rate" --call caravan.echo.v1.Echo/Unary --data "$payload" --rps "$rate" --warmup 1s)"
    echo "$line"
    achieved=$(awk -F'|' '{ print $5 }' <<<"$line")  # OK calls/s
    if awk -v a="$achieved" -v r="$rate" 'BEGIN { exit !(a < 0.95 * r) }'; then
        behind=$((behind + 1))
        [[ $behind -lt 2 ]] || break
    fi
done
run "closed loop C=64, Unary 64 B" "—" --call caravan.echo.v1.Echo/Unary --data "$payload" -c 64
run "closed loop C=64, Unary templated" "—" --call caravan.echo.v1.Echo/Unary --data '{"text":"call {{n}} from {{worker}}"}' -c 64
run "closed loop C=64, scenario echo-mix" "—" --scenario Tools/benchmarks/echo-mix.json -c 64
