#!/usr/bin/env bash
# Fuzzes the frame decoder with libFuzzer + AddressSanitizer for a bounded
# time; exits non-zero when an input crashes it. See docs/PROTOCOL.md,
# "Fuzzing".
#
#   .ci/fuzz.sh                    build, then fuzz for FUZZ_SECONDS (default 60)
#   FUZZ_SECONDS=0 .ci/fuzz.sh     fuzz until stopped
#   FUZZ_JOBS=2 .ci/fuzz.sh        fuzz in 2 processes (libFuzzer -fork)
#   .ci/fuzz.sh FILE...            replay inputs (e.g. a crash-* file) and exit
#   FUZZ_CONFIG=debug .ci/fuzz.sh  a debug build (builds faster, runs ~15x slower)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
scratch="$root/.fuzz/build"
corpus="$root/.fuzz/corpus"
seeds="$root/Tests/Fuzz/corpus"

if ! ls /opt/swift/usr/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 \
    && ! ls "$(dirname "$(command -v swiftc)")"/../lib/clang/*/lib/linux/libclang_rt.fuzzer*.a >/dev/null 2>&1; then
    echo "fuzz.sh: libFuzzer (libclang_rt.fuzzer) is not in this Swift toolchain" >&2
    exit 1
fi

config=${FUZZ_CONFIG:-release}
# Optimised (preconditions stay on): ~7,000 inputs/s here against ~450 for debug.
flags=(-c "$config" -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING)
echo "fuzz.sh: building Tests/Fuzz (FrameFuzzer, $config) with -sanitize=fuzzer,address"
mkdir -p "$root/.fuzz"
if ! swift build --package-path Tests/Fuzz --scratch-path "$scratch" --product FrameFuzzer "${flags[@]}" \
    >"$root/.fuzz/build.log" 2>&1; then
    grep -v "Cannot export local symbol" "$root/.fuzz/build.log" | grep -E "error|warning: unre" | head -40 >&2 || true
    echo "fuzz.sh: the build failed (full log: .fuzz/build.log)" >&2
    exit 1
fi
bin="$(swift build --package-path Tests/Fuzz --scratch-path "$scratch" --show-bin-path "${flags[@]}")/FrameFuzzer"

# Let libFuzzer and ASan report crashes, not the Swift runtime's backtracer.
export SWIFT_BACKTRACE=enable=no
# Leak detection stays on (libFuzzer checks inputs that add coverage).

if [ $# -gt 0 ]; then
    exec "$bin" -runs=1 "$@"
fi

mkdir -p "$corpus"
args=(-artifact_prefix="$root/.fuzz/" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
[ "$seconds" != 0 ] && args+=(-max_total_time="$seconds")
[ "$jobs" -gt 1 ] && args+=(-fork="$jobs")
echo "fuzz.sh: fuzzing for ${seconds}s (0 = until stopped), corpus $corpus + seeds $seeds"
set +e
# The full log goes to .fuzz/last-run.log; the terminal gets the summary.
"$bin" "${args[@]}" "$corpus" "$seeds" 2>&1 | tee "$root/.fuzz/last-run.log" \
    | grep -v -e '^#[0-9]*[[:space:]]*\(NEW\|REDUCE\|pulse\)' -e '" # Uses: '
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
    echo "fuzz.sh: FrameFuzzer failed (exit $status); the input is in $root/.fuzz/crash-* (see .fuzz/last-run.log)" >&2
    exit "$status"
fi
echo "fuzz.sh: no crash"
