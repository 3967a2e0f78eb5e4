#!/usr/bin/env bash
# Fails, listing each break, when the .proto files are no longer compatible
# with the last release's (field numbers reused or retyped, something
# removed or renamed without `reserved`, a cardinality changed: see
# Generator/caravan_breaking.py). Services and the gateway are upgraded one
# at a time, so each release must work against the one before it.
#
# Usage: Proto/check-breaking.sh            compare with Proto/Release/descriptor-set.binpb
#        Proto/check-breaking.sh --release  at a release: record the current
#                                           .proto files as the last release's
set -euo pipefail

proto_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
baseline="$proto_dir/Release/descriptor-set.binpb"
die() { echo "check-breaking.sh: $*" >&2; exit 1; }
command -v protoc >/dev/null || die "protoc not found (apt-get install protobuf-compiler)"
source "$proto_dir/Generator/proto-env.sh"
ensure_protobuf
find_proto_files

work="$(mktemp -d "${TMPDIR:-/tmp}/caravan-check-breaking.XXXXXX")"
trap 'rm -rf "$work"' EXIT
(cd "$proto_dir" && protoc -I . --include_imports --descriptor_set_out="$work/current.binpb" "${files[@]}")

case "${1:-}" in
    --release)
        mkdir -p "$(dirname "$baseline")"
        cp "$work/current.binpb" "$baseline"
        echo "check-breaking.sh: recorded ${#files[@]} .proto files as the last release in ${baseline#"$proto_dir/"}" >&2
        exit 0 ;;
    "") ;;
    *) die "unknown argument $1 (see the top of this file)" ;;
esac

[[ -f "$baseline" ]] || die "no baseline at $baseline; record one with --release"
if ! python3 "$proto_dir/Generator/caravan_breaking.py" --against "$baseline" "$work/current.binpb" > "$work/breaks"; then
    echo "check-breaking.sh: the .proto files break compatibility with the last release:" >&2
    sed 's/^/  /' "$work/breaks" >&2
    echo "Keep the old element (or reserve its number and name) instead; see docs/DEPLOYMENT.md#upgrades." >&2
    exit 1
fi
echo "check-breaking.sh: compatible with the last release" >&2
