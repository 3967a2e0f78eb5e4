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
# The gateway's deadline tests measure time against fan-out; they run on
# their own, after the rest, so that other suites' start-up work (seeding
# databases, starting processes) on the two cores cannot eat their deadlines.
swift test --skip-build --skip 'CaravanGatewayTests|GatewayEndToEnd' "$@"
swift test --skip-build --filter 'CaravanGatewayTests|GatewayEndToEnd' "$@"
