#!/usr/bin/env bash
# The chaos harness (Tests/chaos/chaos.py): the release build under load on
# hosts of its own while a seeded fault schedule runs, then an independent
# check of the stores (docs/RELIABILITY.md). Without arguments, the bounded
# CI run: seed 21, 120 s of load on SQLite, then on PostgreSQL; about 4½
# minutes with start-up and checks on a busy 2-core machine. Arguments go to
# chaos.py (--seed, --duration, --stores, --rate, --bin, --out; see --help).
#
# Needs root (network namespaces, iptables, a tmpfs mount) and a release
# build (`swift build -c release`). Installs what it lacks: iproute2,
# iptables (its nftables backend), libfaketime (Debian) and PostgreSQL
# (Tests/postgres/start.sh installs it when first started).
set -euo pipefail
cd "$(dirname "$0")/../.."

apt_packages=()
command -v ip >/dev/null || apt_packages+=(iproute2)
command -v iptables >/dev/null || apt_packages+=(iptables)
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] || apt_packages+=(libfaketime)
if ((${#apt_packages[@]})); then
    echo "Installing (apt): ${apt_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null \
        || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null; }
fi
# shellcheck source=Tests/postgres/lib.sh
source Tests/postgres/lib.sh
if [ -z "$(latest_bin)" ]; then
    echo "Installing (apt): postgresql"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
fi

# The checker's, the schedule's and the availability figures' own tests
# first (a second or two, no build needed): a harness whose checker cannot
# fail proves nothing.
python3 -c 'import pytest' 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check pytest 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages pytest
python3 -m pytest -q -p no:cacheprovider Tests/chaos

exec python3 -u Tests/chaos/chaos.py "$@"
