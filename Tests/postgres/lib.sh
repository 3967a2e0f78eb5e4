# shellcheck shell=bash
# Shared by start.sh and stop.sh (sourced).

# The newest installed PostgreSQL server's programs ("" when none is).
latest_bin() {
    local found="" candidate
    for candidate in /usr/lib/postgresql/*/bin; do
        [ -x "$candidate/initdb" ] && found=$candidate
    done
    echo "$found"
}

# Runs a server program as the cluster's owner: PostgreSQL refuses to run as
# root, so as root it runs as the postgres user.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
