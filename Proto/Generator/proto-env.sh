# Sourced by Proto/generate.sh and Proto/check-breaking.sh (with
# $proto_dir set and a die function defined): the pinned protobuf Python
# package, and the list of .proto files.

# Installs the `protobuf` Python package pinned in requirements.txt if python3 lacks it.
ensure_protobuf() {
    local requirements="$proto_dir/Generator/requirements.txt" wanted
    wanted="$(sed -n 's/^protobuf==//p' "$requirements")"
    if [[ "$(python3 -c 'import google.protobuf as p; print(p.__version__)' 2>/dev/null || true)" != "$wanted" ]]; then
        echo "$(basename "$0"): installing protobuf==$wanted for python3" >&2
        python3 -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2 ||
            die "pip install -r $requirements failed"
    fi
}

# Sets `files` to every .proto file under Proto/caravan, in a stable order (LC_ALL=C: byte order).
find_proto_files() {
    mapfile -t files < <(cd "$proto_dir" && find caravan -name '*.proto' -type f | LC_ALL=C sort)
    [[ ${#files[@]} -gt 0 ]] || die "no .proto files under $proto_dir/caravan"
}
