#!/usr/bin/env bash
# Unary echo side by side: raw C (epoll), gRPC C++ and Caravan — and, when
# CARAVAN_BASELINE_BIN names another build's `caravan`, that build too — in
# interleaved rounds, so every peer of a round sees the same machine.
# Workloads as in ../shared/peers (docs/BENCHMARKS.md, "Against gRPC C++"):
#   64 B C=1 K=1, 64 B C=64 K=1, 4 KiB C=16 K=1.
#
# Usage: Tools/benchmarks/peers.sh [rounds, default 3] [seconds per run, default 10]
# PEERS_DIR: the peers' folder (default ../shared/peers next to the project).
# Prints one JSON line per run to $OUT (default /tmp/caravan-peers-<time>.jsonl)
# and a Markdown table: each peer's median over the rounds, and Caravan over
# gRPC C++ per round (min–max).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-3}"
seconds="${2:-10}"
peers_dir="${PEERS_DIR:-$(cd ../shared/peers 2>/dev/null && pwd || true)}"
[[ -x "$peers_dir/run-all.sh" ]] || { echo "peers not found (set PEERS_DIR)" >&2; exit 1; }
out="${OUT:-/tmp/caravan-peers-$(date -u +%Y%m%dT%H%M%SZ).jsonl}"
port=7191

swift build -c release --product caravan >/dev/null
caravan="$(swift build -c release --show-bin-path)/caravan"
"$peers_dir/run-all.sh" --build-only --peers "raw-c grpc-cpp" >&2

server_pid=""
stop_server() { if [[ -n "$server_pid" ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi; server_pid=""; }
trap stop_server EXIT

# One Caravan run: echo-server and load from the same build, as JSON with the peers' field names.
run_caravan() { # name binary payload C K
    local name="$1" bin="$2" payload="$3" c="$4" k="$5" data
    data="$(python3 -c "import base64,sys; print(base64.b64encode(bytes(int(sys.argv[1]))).decode())" "$payload")"
    "$bin" echo-server --port "$port" >/dev/null 2>&1 &
    server_pid=$!
    until "$bin" health --timeout 500ms "127.0.0.1:$port" >/dev/null 2>&1; do sleep 0.1; done
    "$bin" load "127.0.0.1:$port" --call caravan.echo.v1.Echo/Unary --data "{\"payload\":\"$data\"}" \
        --concurrency "$c" --connections "$k" --warmup 2s --duration "${seconds}s" --format json |
        python3 -c "import json,sys; r=json.load(sys.stdin); print(json.dumps({'peer':sys.argv[1],'payload':int(sys.argv[2]),'concurrency':r['concurrency'],'connections':r['connections'],'qps':r['qps'],'p50_us':r['p50_us'],'p99_us':r['p99_us'],'errors':r['errors']}))" "$name" "$payload"
    stop_server
}

for round in $(seq "$rounds"); do
    for config in "64 1 1" "64 64 1" "4096 16 1"; do
        read -r payload c k <<<"$config"
        load=$(cut -d' ' -f1 /proc/loadavg)
        {
            "$peers_dir/run-all.sh" --peers "raw-c grpc-cpp" -P "$payload" -C "$c" -K "$k" -D "$seconds"
            run_caravan caravan "$caravan" "$payload" "$c" "$k"
            if [[ -n "${CARAVAN_BASELINE_BIN:-}" ]]; then
                run_caravan caravan-baseline "$CARAVAN_BASELINE_BIN" "$payload" "$c" "$k"
            fi
        } | while read -r line; do echo "${line%\}},\"round\":$round,\"load1\":$load}"; done | tee -a "$out" >&2
    done
done
echo "results: $out" >&2

python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
configs = sorted({(r["payload"], r["concurrency"], r["connections"]) for r in rows}, key=lambda c: (c[0], c[1]))
peers = [p for p in ["raw-c", "grpc-cpp", "caravan", "caravan-baseline"] if any(r["peer"] == p for r in rows)]
print("| config | " + " | ".join(f"{p} calls/s (p50 µs)" for p in peers) + " | caravan / grpc-cpp calls/s | caravan / grpc-cpp p50 |")
print("|---" * (len(peers) + 3) + "|")
for payload, c, k in configs:
    cells = []
    for peer in peers:
        runs = [r for r in rows if r["peer"] == peer and (r["payload"], r["concurrency"], r["connections"]) == (payload, c, k)]
        cells.append(f"{statistics.median(r['qps'] for r in runs):,.0f} ({statistics.median(r['p50_us'] for r in runs):.0f})" if runs else "–")
    ratios, p50s = [], []
    for rnd in sorted({r["round"] for r in rows}):
        pick = {r["peer"]: r for r in rows if r["round"] == rnd and (r["payload"], r["concurrency"], r["connections"]) == (payload, c, k)}
        if "caravan" in pick and "grpc-cpp" in pick and pick["grpc-cpp"]["qps"] > 0:
            ratios.append(pick["caravan"]["qps"] / pick["grpc-cpp"]["qps"])
            p50s.append(pick["caravan"]["p50_us"] / pick["grpc-cpp"]["p50_us"])
    span = lambda xs: f"{min(xs):.2f}–{max(xs):.2f}×" if xs else "–"
    print(f"| {payload} B, C={c}, K={k} | " + " | ".join(cells) + f" | {span(ratios)} | {span(p50s)} |")
PY
