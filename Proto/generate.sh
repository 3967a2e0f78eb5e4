#!/usr/bin/env bash
# Regenerates all code derived from Proto/caravan/**/*.proto:
#
#   Proto/CCaravanProto/       protoc-c output (C target CCaravanProto):
#                              caravan/**/*.pb-c.c, include/caravan/**/*.pb-c.h,
#                              include/caravan_proto_shim.h, include/CCaravanProto.h
#   Proto/Swift/<Module>/      Swift value types, service stubs and a
#                              <Module>Schemas.pb.swift registry per module
#                              (and CaravanGatewayAPI/GatewayOpenAPI.pb.swift)
#   Proto/OpenAPI/             gateway.openapi.json: the gateway's HTTP/JSON door
#
# Usage: Proto/generate.sh [--out DIR]
#   --out DIR   write CCaravanProto/, Swift/ and OpenAPI/ under DIR instead of Proto/
#               (Proto/check-generated.sh uses this to compare).
#
# Needs protoc, protoc-c (matching the installed libprotobuf-c), pkg-config
# and python3; installs the pinned `protobuf` Python package if it is missing.
set -euo pipefail

proto_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="$proto_dir"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) out_dir="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "generate.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

die() { echo "generate.sh: $*" >&2; exit 1; }

for tool in protoc protoc-c pkg-config python3; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install protobuf-compiler protobuf-c-compiler libprotobuf-c-dev pkg-config python3)"
done

# protoc-c must match the library the C code is compiled against: its
# output refuses to build against other versions, and its layouts follow it.
protoc_c_version="$(protoc-c --version | awk '/protobuf-c/ {print $2}')"
lib_version="$(pkg-config --modversion libprotobuf-c)"
[[ "$protoc_c_version" == "$lib_version" ]] ||
    die "protoc-c $protoc_c_version does not match libprotobuf-c $lib_version"

source "$proto_dir/Generator/proto-env.sh"
ensure_protobuf

work="$(mktemp -d "${TMPDIR:-/tmp}/caravan-generate.XXXXXX")"
trap 'rm -rf "$work"' EXIT

find_proto_files

(cd "$proto_dir" && protoc -I . --include_imports --include_source_info \
    --descriptor_set_out="$work/all.pb" "${files[@]}")

mkdir -p "$work/swift" "$work/c/include" "$work/c-raw" "$work/openapi"
python3 "$proto_dir/Generator/caravan_swift_gen.py" \
    --descriptor-set "$work/all.pb" \
    --swift-out "$work/swift" \
    --c-include-out "$work/c/include" \
    --c-descriptor-set-out "$work/c.pb" \
    --openapi-out "$work/openapi/gateway.openapi.json" \
    "${files[@]}"

# protoc-c reads the C-compatible descriptor set (proto3 `optional` and map
# entries rewritten as one-field oneofs; see caravan_swift_gen.py).
protoc-c --descriptor_set_in="$work/c.pb" --c_out="$work/c-raw" "${files[@]}"

# Sources stay in their package folders; headers go under include/ so that
# protoc-c's `#include "caravan/echo/v1/echo.pb-c.h"` lines resolve.
for f in "${files[@]}"; do
    stem="${f%.proto}"
    mkdir -p "$work/c/$(dirname "$stem")" "$work/c/include/$(dirname "$stem")"
    mv "$work/c-raw/$stem.pb-c.c" "$work/c/$stem.pb-c.c"
    mv "$work/c-raw/$stem.pb-c.h" "$work/c/include/$stem.pb-c.h"
done

# Replace the previous output, touching only files whose content changed
# (unchanged files keep their timestamps, so builds do not redo them).
# CCaravanProto/ is generated as a whole; in Swift/<Module>/ only *.pb.swift
# files are ours.
sync_file() { # source destination
    if ! cmp -s "$1" "$2"; then
        mkdir -p "$(dirname "$2")"
        cp "$1" "$2"
    fi
}
mkdir -p "$out_dir/CCaravanProto"
(cd "$work/c" && find . -type f) | while read -r f; do sync_file "$work/c/$f" "$out_dir/CCaravanProto/$f"; done
(cd "$out_dir/CCaravanProto" && find . -type f) | while read -r f; do
    [[ -e "$work/c/$f" ]] || rm -f "$out_dir/CCaravanProto/$f"
done
find "$out_dir/CCaravanProto" -type d -empty -delete
for module_dir in "$work/swift"/*/; do
    module="$(basename "$module_dir")"
    mkdir -p "$out_dir/Swift/$module"
    for f in "$module_dir"*.pb.swift; do sync_file "$f" "$out_dir/Swift/$module/$(basename "$f")"; done
    for f in "$out_dir/Swift/$module"/*.pb.swift; do
        [[ -e "$module_dir$(basename "$f")" ]] || rm -f "$f"
    done
done

mkdir -p "$out_dir/OpenAPI"
sync_file "$work/openapi/gateway.openapi.json" "$out_dir/OpenAPI/gateway.openapi.json"

echo "generate.sh: generated ${#files[@]} files into $out_dir/CCaravanProto and $out_dir/Swift" >&2
