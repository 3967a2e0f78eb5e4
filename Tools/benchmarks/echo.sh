#!/usr/bin/env bash
# Unary echo benchmark: `caravan echo-server` and `caravan load` in separate
# processes on loopback, release build, 64-byte payload. Prints a Markdown
# table row per configuration (C = concurrency, K = connections).
#
# Usage: Tools/benchmarks/echo.sh [duration, default 10s] [rounds, default 3]
# ECHO_BENCH_SERVER_ARGS adds server flags, e.g. "--metrics-port 0" to
# measure with metrics on (docs/BENCHMARKS.md, "Observability overhead").
# Each configuration runs `rounds` times against a fresh server; the table
# shows the median round by throughput. ECHO_BENCH_TLS=1 runs the same over
# TLS, with certificates from deploy/tls/make-dev-certs.sh (docs/SECURITY.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
duration="${1:-10s}"
rounds="${2:-3}"
port="${ECHO_BENCH_PORT:-7190}"
read -r -a server_args <<<"${ECHO_BENCH_SERVER_ARGS:-}"

swift build -c release --product caravan >/dev/null
bin="$(swift build -c release --show-bin-path)/caravan"
payload="$(python3 -c 'import base64; print(base64.b64encode(bytes(range(64))).decode())')"

certs=""
if [[ "${ECHO_BENCH_TLS:-0}" == 1 ]]; then
    certs="$(mktemp -d)"
    deploy/tls/make-dev-certs.sh "$certs" 1 >/dev/null
    export CARAVAN_ECHO_TLS_CERT="$certs/trade.crt" CARAVAN_ECHO_TLS_KEY="$certs/trade.key" CARAVAN_TLS_CA="$certs/ca.crt"
fi

server_pid=""
stop_server() { [[ -n "$server_pid" ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true; server_pid=""; }
cleanup() { stop_server; if [[ -n "$certs" ]]; then rm -rf "$certs"; fi; }
trap cleanup EXIT

echo "| C | K | calls/s | p50 µs | p99 µs | p99.9 µs | errors |"
echo "|---|---|---|---|---|---|---|"
for config in "1 1" "64 1" "64 4"; do
    read -r concurrency connections <<<"$config"
    rows=()
    for _ in $(seq "$rounds"); do
        "$bin" echo-server --port "$port" "${server_args[@]}" >/dev/null 2>&1 &
        server_pid=$!
        until "$bin" health --timeout 500ms "127.0.0.1:$port" >/dev/null 2>&1; do sleep 0.1; done
        rows+=("$("$bin" load "127.0.0.1:$port" --call caravan.echo.v1.Echo/Unary \
            --data "{\"payload\":\"$payload\"}" --concurrency "$concurrency" --connections "$connections" \
            --duration "$duration" --format csv | tail -1)")
        stop_server
    done
    # CSV: method,address,C,K,calls,errors,duration,qps,p50,p75,p90,p95,p99,p999,max,mean
    printf '%s\n' "${rows[@]}" | sort -t, -k8 -g | sed -n "$(( (rounds + 1) / 2 ))p" |
        awk -F, '{ printf "| %s | %s | %.0f | %s | %s | %s | %s |\n", $3, $4, $8, $9, $13, $14, $6 }'
done
