#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
# The gateway dashboard's test loads the page in a real headless browser.
if ! command -v chromium >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
fi
# The storage tests run on SQLite and on PostgreSQL: start a throwaway
# PostgreSQL on loopback unless one is given (CARAVAN_TEST_POSTGRES_URL) or
# CARAVAN_SKIP_POSTGRES=1, in which case those tests report themselves skipped.
if [ -z "${CARAVAN_TEST_POSTGRES_URL:-}" ] && [ "${CARAVAN_SKIP_POSTGRES:-0}" != 1 ]; then
    eval "$(Tests/postgres/start.sh)"
    trap 'Tests/postgres/stop.sh' EXIT
fi
swift build --build-tests
# One run, every suite in parallel, at most CARAVAN_TEST_WIDTH tests at a
# time (default 8). Unbounded, Swift Testing starts all ~330 tests at once
# on a cooperative pool of one thread per core: on two cores the CPU-bound
# ones (seeding databases, property tests, load runs) held both threads so
# long that calls with a 10 s deadline to in-process fakes timed out
# (29 failures in a run). With 8 at a time the same run passed, in about
# the same wall time (one run each, same machine, load average 13-21 from
# other sessions: width 8 93 s, width 4 151 s, unbounded 106 s with the
# failures).
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${CARAVAN_TEST_WIDTH:-8}"
swift test --skip-build "$@"
