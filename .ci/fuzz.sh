#!/usr/bin/env bash
# Fuzzes the frame decoder with libFuzzer + AddressSanitizer for a bounded
# time; exits non-zero when an input crashes it. See docs/PROTOCOL.md,
# "Fuzzing".
#
#   .ci/fuzz.sh                    build, then fuzz for FUZZ_SECONDS (default 60)
#   FUZZ_SECONDS=0 .ci/fuzz.sh     fuzz until stopped
#   FUZZ_JOBS=2 .ci/fuzz.sh        fuzz in 2 processes (libFuzzer -fork)
#   .ci/fuzz.sh FILE...            replay inputs (e.g. a crash-* file) and exit
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

flags=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING)
echo "fuzz.sh: building Tests/Fuzz (FrameFuzzer) with -sanitize=fuzzer,address"
swift build --package-path Tests/Fuzz --scratch-path "$scratch" --product FrameFuzzer "${flags[@]}" 2>&1 \
    | grep -v "Cannot export local symbol" || true
bin="$(swift build --package-path Tests/Fuzz --scratch-path "$scratch" --show-bin-path "${flags[@]}")/FrameFuzzer"
[ -x "$bin" ] || { echo "fuzz.sh: the build failed" >&2; exit 1; }

# Let libFuzzer and ASan report crashes, not the Swift runtime's backtracer.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}"

if [ $# -gt 0 ]; then
    exec "$bin" -runs=1 "$@"
fi

mkdir -p "$corpus"
args=(-artifact_prefix="$root/.fuzz/" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
[ "$seconds" != 0 ] && args+=(-max_total_time="$seconds")
[ "$jobs" -gt 1 ] && args+=(-fork="$jobs")
echo "fuzz.sh: fuzzing for ${seconds}s (0 = until stopped), corpus $corpus + seeds $seeds"
set +e
"$bin" "${args[@]}" "$corpus" "$seeds" 2>&1 | tee "$root/.fuzz/last-run.log" | grep -v "^#[0-9]*[[:space:]]*\(NEW\|REDUCE\|pulse\)"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
    echo "fuzz.sh: FrameFuzzer failed (exit $status); the input is in $root/.fuzz/crash-* (see .fuzz/last-run.log)" >&2
    exit "$status"
fi
echo "fuzz.sh: no crash"
