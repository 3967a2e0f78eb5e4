#!/usr/bin/env bash
# Benchmarks caravan-trade over 1,000,000 synthetic flows (docs/benchmarks/trade.md).
#
# Usage: docs/benchmarks/trade-bench.sh [SCRATCH] [DATA_DIR] [OUT_DIR]
#   SCRATCH   SwiftPM scratch path holding release/ (default .build)
#   DATA_DIR  where the benchmark database is made (default /tmp/caravan-trade-bench)
#   OUT_DIR   where the JSON reports go (default /tmp/caravan-trade-bench-out)
# Needs: swift build -c release --product caravan-trade and --product caravan first.
set -euo pipefail
scratch="${1:-.build}"
data="${2:-/tmp/caravan-trade-bench}"
out="${3:-/tmp/caravan-trade-bench-out}"
bin="$scratch/release"
mkdir -p "$out"

if [[ ! -f "$data/trade.sqlite" ]]; then
    "$bin/caravan-trade" --data-dir "$data" --generate-synthetic-flows 1000000
fi
ls -l "$data"
du -sh "$data"

log="$out/server.log"
"$bin/caravan-trade" --port 0 --data-dir "$data" --log-level warning >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
address="$(sed -n 's/.*listening on //p' "$log")"
[[ -n "$address" ]] || { cat "$log"; exit 1; }

run() { # name, data, method, concurrency, count
    "$bin/caravan" load "$address" --call "caravan.trade.v1.TradeService/$3" --data "$2" \
        -c "$4" -n "$5" --format json >"$out/$1-c$4.json"
    python3 - "$out/$1-c$4.json" "$1" "$4" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]:<22} -c {sys.argv[3]:>2}  p50 {r['p50_us']/1000:7.3f} ms  p99 {r['p99_us']/1000:7.3f} ms  "
      f"{r['qps']:8.0f} calls/s  errors {r['errors']}")
PY
}
for c in 1 16; do
    n=$((c == 1 ? 10000 : 40000))
    run summary-year    '{"year":2024}'                                         GetSummary    $c $n
    run summary-country '{"year":2024,"country":"KZ"}'                          GetSummary    $c $n
    run top-categories  '{"year":2024,"limit":5}'                               TopCategories $c $n
    run list-first-page '{"pageSize":100}'                                      ListFlows     $c $n
    run list-filtered   '{"filter":{"yearFrom":2020,"country":"UZ","category":"cotton"},"pageSize":100}' ListFlows $c $n
    run get-flow        '{"id":"123456"}'                                       GetFlow       $c $n
done
