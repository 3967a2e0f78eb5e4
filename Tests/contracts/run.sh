#!/usr/bin/env bash
# The HTTP door's contract, against the release build (run it after
# `swift build -c release`): the OpenAPI document is valid, the examples of
# docs/HTTP.md run, schemathesis finds no answer outside the document, no
# 5xx and no refused write that stored something (auth off and on), and
# the protobuf breaking-change checker flags what it must. Installs its
# Python tools (Tests/contracts/requirements.txt) into .build/contracts-venv.
# CARAVAN_FUZZ_EXAMPLES bounds the fuzzing (examples per operation, default 10);
# CARAVAN_BIN_DIR runs against another build than .build/release.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=.build/contracts-venv
requirements=Tests/contracts/requirements.txt
if [[ ! -x $venv/bin/python ]] || ! cmp -s "$requirements" "$venv/requirements.txt"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" \
        -r Proto/Generator/requirements.txt
    cp "$requirements" "$venv/requirements.txt"
fi

# -p no:cacheprovider: no .pytest_cache in the tree. A run that collects
# no test fails (pytest exits 5), and so does one in which nothing passed.
set +e
"$venv/bin/python" -m pytest -p no:cacheprovider -q -rs Tests/contracts "$@" | tee /tmp/caravan-contract-tests.$$
status=${PIPESTATUS[0]}
set -e
summary="$(tail -n 1 /tmp/caravan-contract-tests.$$)"
rm -f /tmp/caravan-contract-tests.$$
if ((status == 5)); then
    echo "Tests/contracts: pytest collected no tests" >&2
    exit 1
fi
if ((status == 0)) && ! grep -q "passed" <<<"$summary"; then
    echo "Tests/contracts: no test passed ($summary)" >&2
    exit 1
fi
exit "$status"
