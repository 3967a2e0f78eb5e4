#!/usr/bin/env bash
# Unary echo, two builds of `caravan` side by side in interleaved rounds:
# calls/s, p50, and the CPU time each call cost the server and the client
# (user + system, from /proc and time(1)). On a machine shared with other
# work the calls/s swing with what else runs; CPU per call swings much less,
# so it is the figure to compare builds by.
#
# Usage: Tools/benchmarks/cpu-per-call.sh NEW_CARAVAN OLD_CARAVAN [rounds=4] [seconds=5]
set -euo pipefail
new="$1" old="$2" rounds="${3:-4}" seconds="${4:-5}"
port=7391
out="$(mktemp)"
ticks=$(getconf CLK_TCK)

cpu_seconds() { # pid -> utime+stime in seconds
    awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$1/stat"
}

run() { # label binary payload concurrency
    local label="$1" bin="$2" payload="$3" c="$4" data server before after
    data="$(python3 -c "import base64,sys; print(base64.b64encode(bytes(int(sys.argv[1]))).decode())" "$payload")"
    "$bin" echo-server --port "$port" >/dev/null 2>&1 &
    server=$!
    until "$bin" health --timeout 500ms "127.0.0.1:$port" >/dev/null 2>&1; do sleep 0.1; done
    before=$(cpu_seconds "$server")
    /usr/bin/time -f "%U %S" -o "$out.time" "$bin" load "127.0.0.1:$port" --call caravan.echo.v1.Echo/Unary \
        --data "{\"payload\":\"$data\"}" --concurrency "$c" --connections 1 --duration "${seconds}s" --format json >"$out.json"
    after=$(cpu_seconds "$server")
    kill -TERM "$server"
    wait "$server" 2>/dev/null || true
    python3 - "$label" "$payload" "$c" "$before" "$after" "$out.json" "$out.time" <<'PY'
import json, sys
label, payload, c, before, after, report, times = sys.argv[1:8]
r = json.load(open(report))
user, system = map(float, open(times).read().split())
calls = r["calls"]
print(json.dumps({"build": label, "payload": int(payload), "concurrency": int(c), "qps": r["qps"], "p50_us": r["p50_us"],
    "server_cpu_us_per_call": (float(after) - float(before)) * 1e6 / calls,
    "client_cpu_us_per_call": (user + system) * 1e6 / calls}))
PY
}

for round in $(seq "$rounds"); do
    for config in "64 1" "64 64" "4096 16"; do
        read -r payload c <<<"$config"
        if ((round % 2)); then order=("new $new" "old $old"); else order=("old $old" "new $new"); fi
        for entry in "${order[@]}"; do
            read -r label bin <<<"$entry"
            run "$label" "$bin" "$payload" "$c" | sed "s/}\$/, \"round\": $round, \"load1\": $(cut -d' ' -f1 /proc/loadavg)}/"
        done
    done
done
rm -f "$out" "$out.json" "$out.time"
