#!/usr/bin/env bash
# Installs what building, running and testing Caravan needs on Debian 12
# (run as root; safe to run again). Swift 6.3 itself is expected on PATH.
set -euo pipefail

packages=(libprotobuf-c-dev protobuf-c-compiler protobuf-compiler pkg-config libsqlite3-dev python3 python3-pip valgrind)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "Installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The Python protobuf package is the independent reference implementation
# the message tests compare bytes against.
requirements="$(dirname "$0")/../Proto/Generator/requirements.txt"
if ! python3 -c 'import google.protobuf' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check -r "$requirements" 2>/dev/null \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages -r "$requirements"
fi

command -v swift >/dev/null || { echo "swift is not on PATH (expected Swift 6.3)" >&2; exit 1; }
