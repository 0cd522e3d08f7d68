#!/usr/bin/env bash
# Runs every test of scimd on a fresh machine: installs what the tests need (the wasm32-wasip2
# target, a Python virtualenv with the third-party SCIM client), then the whole workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2

# The third-party SCIM client the interoperability test drives scimd with.
if [ ! -x target/pyclient/bin/python ]; then
  python3 -m venv target/pyclient
fi
target/pyclient/bin/pip install --quiet --disable-pip-version-check -r tests/clients/python/requirements.txt

cargo test --workspace --locked "$@"
