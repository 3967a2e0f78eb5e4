# Shared by the benchmark scripts: starting and stopping servers, running parts.
# shellcheck shell=bash

# bench_start LOG COMMAND...: runs COMMAND in the background, its output in
# LOG and its pid in LOG.pid; prints the address it listens on once it
# says so (every Caravan server prints "… listening on HOST:PORT").
bench_start() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    echo $! >"$log.pid"
    for _ in $(seq 600); do
        if grep -q "listening on" "$log"; then
            sed -n 's/.* listening on //p' "$log" | head -1
            return
        fi
        sleep 0.1
    done
    echo "$* did not start:" >&2
    cat "$log" >&2
    exit 1
}

# bench_stop LOG: stops the server bench_start started with LOG, and waits for it.
bench_stop() {
    if [[ -e "$1.pid" ]]; then
        kill "$(cat "$1.pid")" 2>/dev/null || true
        while kill -0 "$(cat "$1.pid")" 2>/dev/null; do sleep 0.1; done
        rm -f "$1.pid"
    fi
}

# bench_stop_all DIR: stops every server started with a log in DIR.
bench_stop_all() {
    for file in "$1"/*.pid; do
        if [[ -e $file ]]; then kill "$(cat "$file")" 2>/dev/null || true; fi
    done
}

# bench_run_parts PART...: runs each part (a function), between lines that
# say when and at what load average the measurement ran.
bench_run_parts() {
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC'); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    for part in "$@"; do "$part"; done
    echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
}
