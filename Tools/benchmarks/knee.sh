#!/usr/bin/env bash
# Steps a scenario's open-loop rate against a running server and prints a
# Markdown table, rate by rate: intended calls/s, achieved calls/s, p50, p99,
# p99.9 (latency from each call's intended start: coordinated omission
# corrected) and errors. The knee is where achieved falls behind intended or
# p99 leaves the flat part of the curve; the script marks those rows and
# stops after two marked rows in a row.
#
# Usage: Tools/benchmarks/knee.sh SCENARIO ADDRESS [RATE ...]
#   SCENARIO  a built-in scenario (trade, logistics, training, gateway) or a scenario file
#   ADDRESS   host:port of a server already running
#   RATE      calls per second to try, in order (default 100 200 500 1000 2000 3000 5000 8000)
# Environment: CARAVAN (the caravan binary; default the release build),
#   KNEE_DURATION (per step, default 10s), KNEE_WARMUP (default 2s).
set -euo pipefail
if [[ $# -lt 2 ]]; then
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
    exit 64
fi
scenario="$1"
address="$2"
shift 2
rates=("$@")
[[ ${#rates[@]} -gt 0 ]] || rates=(100 200 500 1000 2000 3000 5000 8000)
cd "$(dirname "$0")/../.."
caravan="${CARAVAN:-.build/release/caravan}"
duration="${KNEE_DURATION:-10s}"
warmup="${KNEE_WARMUP:-2s}"
[[ -x "$caravan" ]] || { echo "no caravan binary at $caravan: swift build -c release --product caravan" >&2; exit 1; }

echo "| intended calls/s | achieved calls/s | p50 ms | p99 ms | p99.9 ms | errors | |"
echo "|---|---|---|---|---|---|---|"
baseline_p99=""
past=0
for rate in "${rates[@]}"; do
    # CSV row 2 is the whole run: method,address,C,K,calls,errors,duration,qps,p50,p75,p90,p95,p99,p999,max,mean
    row="$("$caravan" load "$address" --scenario "$scenario" --rps "$rate" --duration "$duration" \
        --warmup "$warmup" --timeout 5s --format csv | sed -n 2p)"
    IFS=, read -r _ _ _ _ calls errors _ qps p50 _ _ _ p99 p999 _ _ <<<"$row"
    # The flat part of the curve: the lowest p99 so far (the first rows may be noisy).
    if [[ -z "$baseline_p99" ]] || awk -v a="$p99" -v b="$baseline_p99" 'BEGIN { exit !(a < b) }'; then
        baseline_p99="$p99"
    fi
    note=$(awk -v rate="$rate" -v qps="$qps" -v p99="$p99" -v base="$baseline_p99" -v errors="$errors" -v calls="$calls" 'BEGIN {
        n = ""
        if (qps < 0.95 * rate) n = n "achieved < intended; "
        if (p99 > 10 * base && p99 > 10000) n = n "p99 ×" int(p99 / base) "; "
        if (calls > 0 && errors / calls > 0.01) n = n "errors > 1%; "
        print n }')
    awk -v rate="$rate" -v qps="$qps" -v p50="$p50" -v p99="$p99" -v p999="$p999" -v errors="$errors" -v note="$note" \
        'BEGIN { printf "| %d | %.0f | %.2f | %.2f | %.2f | %d | %s |\n", rate, qps, p50 / 1000, p99 / 1000, p999 / 1000, errors, (note == "" ? "" : "past the knee: " note) }'
    # Two marked rows in a row end the scan (one may be a noisy moment on a shared machine).
    if [[ -n "$note" ]]; then
        past=$((past + 1))
        [[ $past -lt 2 ]] || break
    else
        past=0
    fi
done
