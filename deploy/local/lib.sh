# shellcheck shell=bash
# Shared by deploy/local/run.sh and deploy/local/service.sh (sourced, not run).
#
# Layout under $CARAVAN_STATE_DIR (default ./data, relative to the repository):
#   <service>/         the service's SQLite database (--data-dir; none for a
#                      backend given CARAVAN_<SERVICE>_DATABASE_URL), and the
#                      marker synthetic-demo-data when demo data was loaded
#   logs/<service>.log standard output and error, appended
#   run/<service>.pid  the pid of the running process
#
# Every address and directory comes from the executables' own environment
# variables (CARAVAN_<SERVICE>_HOST, _PORT, _DATA_DIR, …), so what the script
# probes is what the process binds. CARAVAN_BIN names the directory holding
# the executables (default: the release build's bin path).
#
# Demo data: a backend starting on a new SQLite store first gets the
# labelled synthetic demo data of deploy/demo-data.sh, unless
# CARAVAN_DEMO_DATA=0 (run.sh --empty). Only a new store: the choice is made
# once per store, and a restart never loads it again.

# shellcheck disable=SC2034  # used by run.sh
CARAVAN_BACKENDS=(trade logistics training)
CARAVAN_ALL_SERVICES=(trade logistics training gateway)

caravan_state="${CARAVAN_STATE_DIR:-./data}"
caravan_bin="${CARAVAN_BIN:-}"  # the executables' directory; run.sh and service.sh settle it
caravan_start_timeout="${CARAVAN_START_TIMEOUT:-60}"  # seconds to reach SERVING
caravan_stop_timeout="${CARAVAN_STOP_TIMEOUT:-30}"    # seconds after SIGTERM (drain grace is 10 s)

# The backends that got demo data in this run (caravan_demo_report names them).
caravan_demo_loaded=()

# CARAVAN_DEMO_DATA: 1 (the default) loads demo data into a new store, 0
# starts it with the seed alone. Anything else is refused before anything
# starts, so a typo never loads what the user meant to keep out.
caravan_demo_check() {
    case "${CARAVAN_DEMO_DATA:-1}" in
        0 | 1) return 0 ;;
    esac
    echo "CARAVAN_DEMO_DATA must be 1 (load synthetic demo data into a new store; the default) or 0 (start empty); got '$CARAVAN_DEMO_DATA'" >&2
    return 2
}

caravan_default_port() {
    case "$1" in
        gateway) echo 7000 ;;
        trade) echo 7001 ;;
        logistics) echo 7002 ;;
        training) echo 7003 ;;
        *) return 1 ;;
    esac
}

caravan_is_service() {
    local name
    for name in "${CARAVAN_ALL_SERVICES[@]}"; do [[ "$1" == "$name" ]] && return 0; done
    return 1
}

caravan_env() { # service, NAME → value of CARAVAN_<SERVICE>_<NAME> (may be empty)
    local variable="CARAVAN_${1^^}_$2"
    echo "${!variable:-}"
}

caravan_host() { local host; host="$(caravan_env "$1" HOST)"; echo "${host:-127.0.0.1}"; }
caravan_port() { local port; port="$(caravan_env "$1" PORT)"; echo "${port:-$(caravan_default_port "$1")}"; }

# Where a client on this host reaches the service (0.0.0.0 / :: → loopback).
caravan_address() {
    local host
    host="$(caravan_host "$1")"
    case "$host" in 0.0.0.0 | "" ) host=127.0.0.1 ;; :: | "[::]") host="[::1]" ;; esac
    echo "$host:$(caravan_port "$1")"
}

# True while PID is a live process (a zombie, exited but not yet reaped, is not).
caravan_alive() {
    kill -0 "$1" 2>/dev/null || return 1
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 0
    [[ "$state" != Z ]]
}

caravan_pid_file() { echo "$caravan_state/run/$1.pid"; }
caravan_log_file() { echo "$caravan_state/logs/$1.log"; }

# The pid of SERVICE if its pid file names a live caravan-SERVICE process.
caravan_running_pid() {
    local file pid
    file="$(caravan_pid_file "$1")"
    [[ -f "$file" ]] || return 1
    pid="$(cat "$file" 2>/dev/null)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    caravan_alive "$pid" || return 1
    # Guard against a recycled pid: the process must be our executable.
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q "caravan-$1" || return 1
    echo "$pid"
}

caravan_bin_dir() {
    if [[ -n "${CARAVAN_BIN:-}" ]]; then
        echo "$CARAVAN_BIN"
    else
        swift build -c release --show-bin-path
    fi
}

# Starts SERVICE in the background and waits until `caravan health` says
# SERVING. Needs $caravan_bin. Returns 1 (with the log's tail) on failure.
caravan_start() {
    local service=$1 pid address log deadline
    if pid="$(caravan_running_pid "$service")"; then
        echo "  $service is already running (pid $pid)"
        return 0
    fi
    local executable="$caravan_bin/caravan-$service"
    if [[ ! -x "$executable" ]]; then
        echo "$executable is missing: build first (swift build -c release, or deploy/local/run.sh)" >&2
        return 1
    fi
    mkdir -p "$caravan_state/logs" "$caravan_state/run"
    log="$(caravan_log_file "$service")"
    local arguments=()
    if [[ "$service" == gateway ]]; then
        arguments=(--trade "$(caravan_address trade)" --logistics "$(caravan_address logistics)"
            --training "$(caravan_address training)")
    else
        # On PostgreSQL (CARAVAN_<SERVICE>_DATABASE_URL) a backend has no
        # data directory: it refuses one given beside the database.
        local database_variable="CARAVAN_${service^^}_DATABASE_URL"
        if [[ -z "${!database_variable:-}" ]]; then
            local data_variable="CARAVAN_${service^^}_DATA_DIR"
            export "$data_variable=${!data_variable:-$caravan_state/$service}"
            mkdir -p "${!data_variable}"
            caravan_first_start "$service" "${!data_variable}" "$log" || return 1
        elif [[ "${CARAVAN_DEMO_DATA:-1}" == 1 ]]; then
            # Whether a PostgreSQL database is new (it may be shared with
            # replicas elsewhere) is not something to guess from here, and
            # a wrong guess would load the demo data twice.
            echo "  $service keeps its data in PostgreSQL: no demo data loaded (docs/DEPLOYMENT.md#demo-data says how to load it by hand)"
        fi
    fi
    echo "--- $(date -u +%FT%TZ) starting caravan-$service ${arguments[*]}" >>"$log"
    # A session of its own: Ctrl-C in run.sh's terminal reaches run.sh only,
    # which then stops each service in order with SIGTERM. (setsid execs in
    # place here, so $! is the service's pid.)
    setsid "$executable" "${arguments[@]}" </dev/null >>"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$(caravan_pid_file "$service")"
    address="$(caravan_address "$service")"
    deadline=$((SECONDS + caravan_start_timeout))
    while ((SECONDS < deadline)); do
        if "$caravan_bin/caravan" health --timeout 500ms "$address" >/dev/null 2>&1; then
            echo "  $service SERVING at $address (pid $pid, log $log)"
            return 0
        fi
        if ! caravan_alive "$pid"; then
            echo "caravan-$service exited before SERVING; the end of $log:" >&2
            tail -n 20 "$log" >&2
            rm -f "$(caravan_pid_file "$service")"
            return 1
        fi
        sleep 0.2
    done
    echo "caravan-$service did not report SERVING at $address within ${caravan_start_timeout}s; see $log" >&2
    caravan_stop "$service" >/dev/null 2>&1 || true
    return 1
}

# Before SERVICE's first start on the SQLite store in DIRECTORY: loads the
# demo data into it (generator output to LOG) unless CARAVAN_DEMO_DATA=0.
# Does nothing for a store that exists. Returns 1 when a generator fails:
# starting with part of the data or none, silently, would hide the failure.
caravan_first_start() {
    local service=$1 directory=$2 log=$3 line started
    deploy/demo-data.sh is-new "$service" "$directory" || return 0
    if [[ "${CARAVAN_DEMO_DATA:-1}" == 0 ]]; then
        echo "  $service: new store, started empty (CARAVAN_DEMO_DATA=0): the seeded published facts only"
        return 0
    fi
    echo "--- $(date -u +%FT%TZ) loading demo data into $directory" >>"$log"
    started=${EPOCHREALTIME//[!0-9]/}  # microseconds, whatever the locale's decimal mark
    if ! line="$(deploy/demo-data.sh load "$service" "$directory" "$caravan_bin" 2>>"$log")"; then
        echo "caravan-$service: loading the demo data failed; the end of $log:" >&2
        tail -n 20 "$log" >&2
        echo "(CARAVAN_DEMO_DATA=0, or deploy/local/run.sh --empty, starts without it)" >&2
        return 1
    fi
    local tenths=$(((${EPOCHREALTIME//[!0-9]/} - started) / 100000))
    echo "  $line ($((tenths / 10)).$((tenths % 10)) s)"
    caravan_demo_loaded+=("$service")
}

# One line after the start: what was loaded, and how to do without it.
caravan_demo_report() {
    ((${#caravan_demo_loaded[@]})) || return 0
    echo "Loaded labelled synthetic demo data on first start (${caravan_demo_loaded[*]}): every figure from it is marked synthetic. To start empty instead: stop, delete $caravan_state, and run deploy/local/run.sh --empty (or set CARAVAN_DEMO_DATA=0)."
}

# Sends SIGTERM, waits for the drain, SIGKILL only after the timeout.
caravan_stop() {
    local service=$1 pid deadline
    if ! pid="$(caravan_running_pid "$service")"; then
        echo "  $service is not running"
        rm -f "$(caravan_pid_file "$service")"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + caravan_stop_timeout))
    while caravan_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if caravan_alive "$pid"; then
        echo "  $service (pid $pid) still running ${caravan_stop_timeout}s after SIGTERM: SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    # Reap it if it is our child (run.sh); harmless otherwise.
    wait "$pid" 2>/dev/null || true
    rm -f "$(caravan_pid_file "$service")"
    echo "  $service stopped (pid $pid)"
}
