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
# Three phases, each suite running in parallel within its phase:
# 1. the runtime, tools and everything else, on their own: their socket
#    tests have timeouts of a second or two that the storage suites' load
#    (PostgreSQL servers, databases created per test) would eat on two cores;
# 2. the services' storage suites, on SQLite and PostgreSQL, and the
#    PostgreSQL end-to-end tests;
# 3. the gateway's deadline tests, which measure time against fan-out.
storage='CaravanTradeTests|CaravanLogisticsTests|CaravanTrainingTests|CaravanPostgresTests|PostgresEndToEnd'
gateway='CaravanGatewayTests|GatewayEndToEnd'
swift test --skip-build --skip "$storage|$gateway" "$@"
swift test --skip-build --filter "$storage" "$@"
swift test --skip-build --filter "$gateway" "$@"
