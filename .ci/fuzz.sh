#!/usr/bin/env bash
# Fuzzes what a peer can send — the frame decoder (FrameFuzzer), every
# message type in protobuf and in the HTTP door's JSON (MessageFuzzer), and
# the rest of an HTTP request at the gateway's door: query, headers, bearer
# token (HTTPDoorFuzzer) — with libFuzzer + AddressSanitizer for a bounded
# time each; exits non-zero when an input crashes one. See docs/PROTOCOL.md,
# "Fuzzing".
#
#   .ci/fuzz.sh                         build, then fuzz each target for FUZZ_SECONDS (default 60)
#   FUZZ_TARGETS=MessageFuzzer .ci/fuzz.sh   only that target (default "FrameFuzzer MessageFuzzer HTTPDoorFuzzer")
#   FUZZ_SECONDS=0 FUZZ_TARGETS=MessageFuzzer .ci/fuzz.sh   fuzz one target until stopped
#   FUZZ_JOBS=2 .ci/fuzz.sh             fuzz in 2 processes (libFuzzer -fork)
#   .ci/fuzz.sh FILE...                 replay inputs (e.g. a crash-* file) and exit; the target is
#                                       FUZZ_TARGET, else the one named in the first file's path
#                                       (.fuzz/HTTPDoorFuzzer/crash-…), else FrameFuzzer
#   FUZZ_CONFIG=debug .ci/fuzz.sh       a debug build (builds faster, runs ~15x slower)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
targets=${FUZZ_TARGETS:-FrameFuzzer MessageFuzzer HTTPDoorFuzzer}
scratch="$root/.fuzz/build"

if ! ls /opt/swift/usr/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 \
    && ! ls "$(dirname "$(command -v swiftc)")"/../lib/clang/*/lib/linux/libclang_rt.fuzzer*.a >/dev/null 2>&1; then
    echo "fuzz.sh: libFuzzer (libclang_rt.fuzzer) is not in this Swift toolchain" >&2
    exit 1
fi

if [ $# -gt 0 ]; then
    target=${FUZZ_TARGET:-}
    if [ -z "$target" ]; then
        case "$1" in
            *MessageFuzzer*) target=MessageFuzzer ;;
            *HTTPDoorFuzzer*) target=HTTPDoorFuzzer ;;
            *) target=FrameFuzzer ;;
        esac
    fi
    targets=$target
fi

config=${FUZZ_CONFIG:-release}
# Optimised (preconditions stay on): ~7,000 inputs/s here against ~450 for debug.
flags=(-c "$config" -Xswiftc "-sanitize=fuzzer,address" -Xswiftc -DFUZZING)
mkdir -p "$root/.fuzz"
for target in $targets; do
    echo "fuzz.sh: building Tests/Fuzz ($target, $config) with -sanitize=fuzzer,address"
    # The targets share the main package's build: the second one only links.
    if ! swift build --package-path Tests/Fuzz --scratch-path "$scratch" --product "$target" "${flags[@]}" \
        >"$root/.fuzz/build.log" 2>&1; then
        grep -v "Cannot export local symbol" "$root/.fuzz/build.log" | grep -E "error|warning: unre" | head -40 >&2 || true
        echo "fuzz.sh: the build failed (full log: .fuzz/build.log)" >&2
        exit 1
    fi
done
bin_dir="$(swift build --package-path Tests/Fuzz --scratch-path "$scratch" --show-bin-path "${flags[@]}")"

# Let libFuzzer and ASan report crashes, not the Swift runtime's backtracer.
export SWIFT_BACKTRACE=enable=no
# Leak detection stays on (libFuzzer checks inputs that add coverage).

if [ $# -gt 0 ]; then
    exec "$bin_dir/$targets" -runs=1 "$@"
fi

# Fuzzes one target; its corpus, log and any crash-* input go to .fuzz/TARGET/.
fuzz() {
    local target=$1 out="$root/.fuzz/$1"
    local corpus="$out/corpus" seeds args
    args=(-artifact_prefix="$out/" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
    mkdir -p "$corpus" || return 1
    case "$target" in
        FrameFuzzer) seeds="$root/Tests/Fuzz/corpus" ;;
        MessageFuzzer | HTTPDoorFuzzer)
            # Derived from the message types (and, for HTTPDoorFuzzer, signed
            # with its key) on every run, so they follow the .proto files.
            seeds="$out/seeds"
            rm -rf "$seeds"
            "$bin_dir/$target" --write-seeds "$seeds" "$out/seeds.dict" || return 1
            args+=(-dict="$out/seeds.dict")
            ;;
        *)
            echo "fuzz.sh: no target $target (FrameFuzzer, MessageFuzzer, HTTPDoorFuzzer)" >&2
            return 2
            ;;
    esac
    [ "$seconds" != 0 ] && args+=(-max_total_time="$seconds")
    [ "$jobs" -gt 1 ] && args+=(-fork="$jobs")
    echo "fuzz.sh: fuzzing $target for ${seconds}s (0 = until stopped), corpus $corpus + seeds $seeds"
    local status
    set +e
    # The full log goes to .fuzz/TARGET/last-run.log; the terminal gets the summary.
    "$bin_dir/$target" "${args[@]}" "$corpus" "$seeds" 2>&1 | tee "$out/last-run.log" \
        | grep -v -e '^#[0-9]*[[:space:]]*\(NEW\|REDUCE\|pulse\)' -e '" # Uses: '
    status=${PIPESTATUS[0]}
    set -e
    if [ "$status" -ne 0 ]; then
        echo "fuzz.sh: $target failed (exit $status); the input is in $out/crash-* (see $out/last-run.log)" >&2
        return "$status"
    fi
    echo "fuzz.sh: $target: no crash"
}

# FrameFuzzer's corpus used to be .fuzz/corpus; keep what it gathered.
if [ -d "$root/.fuzz/corpus" ] && [ ! -e "$root/.fuzz/FrameFuzzer/corpus" ]; then
    mkdir -p "$root/.fuzz/FrameFuzzer"
    mv "$root/.fuzz/corpus" "$root/.fuzz/FrameFuzzer/corpus"
fi
failed=0
for target in $targets; do
    fuzz "$target" || failed=$?
done
exit "$failed"
