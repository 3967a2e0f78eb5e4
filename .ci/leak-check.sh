#!/usr/bin/env bash
# Leak check of the message layer: runs caravan-proto-leakcheck (an
# encode/decode loop over the kitchen-sink and echo messages, error paths
# included; Tests/LeakCheck) under valgrind. Fails on any definitely lost
# block (a malloc in the protobuf-c tree or the arenas that is never freed)
# and on any invalid memory access.
#
# Environment: LEAKCHECK_ITERATIONS (default 100), SCRATCH_PATH (a SwiftPM
# scratch path; default .build, shared with the test build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v valgrind >/dev/null; then
    echo "leak-check.sh: installing valgrind" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >&2
fi

scratch=()
if [[ -n "${SCRATCH_PATH:-}" ]]; then scratch=(--scratch-path "$SCRATCH_PATH"); fi
swift build "${scratch[@]}" --product caravan-proto-leakcheck
binary="$(swift build "${scratch[@]}" --show-bin-path)/caravan-proto-leakcheck"

# valgrind 3.19 (Debian bookworm) gives up on the DWARF 5 debug info Swift
# emits; a copy without debug info keeps function names in the report.
work="$(mktemp -d "${TMPDIR:-/tmp}/caravan-leakcheck.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$binary" "$work/caravan-proto-leakcheck"
strip --strip-debug "$work/caravan-proto-leakcheck"

valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 \
    "$work/caravan-proto-leakcheck" "${LEAKCHECK_ITERATIONS:-100}"
echo "leak-check.sh: no leaks"
