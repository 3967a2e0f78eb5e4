#!/usr/bin/env bash
# Fails (with a diff) when the committed generated code differs from what
# Proto/generate.sh makes from the current .proto files: someone edited a
# .proto without regenerating, or edited generated code by hand.
set -euo pipefail

proto_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/caravan-check-generated.XXXXXX")"
trap 'rm -rf "$work"' EXIT

"$proto_dir/generate.sh" --out "$work/fresh"

# Only generated files are compared: all of CCaravanProto/ and OpenAPI/,
# and the *.pb.swift files of Swift/<Module>/.
collect() {
    (cd "$1" && { find CCaravanProto OpenAPI -type f; find Swift -type f -name '*.pb.swift'; } 2>/dev/null | LC_ALL=C sort)
}
mkdir -p "$work/committed"
while IFS= read -r file; do
    mkdir -p "$work/committed/$(dirname "$file")"
    cp "$proto_dir/$file" "$work/committed/$file"
done < <(collect "$proto_dir")

if ! diff -ruN "$work/committed" "$work/fresh" > "$work/diff"; then
    sed -e "s|$work/committed/|Proto/|g" -e "s|$work/fresh/|Proto/ (regenerated) |g" "$work/diff" | head -n 400
    echo >&2
    echo "check-generated.sh: generated code is stale; run Proto/generate.sh and commit the result" >&2
    exit 1
fi
echo "check-generated.sh: generated code is up to date" >&2
