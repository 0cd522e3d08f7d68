#!/usr/bin/env bash
# Runs every test of scimd on a fresh machine: installs what the tests need (the wasm32-wasip2
# target, a Python virtualenv with the third-party SCIM client), then the whole workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2

# The Keycloak walkthrough example is a shell script using curl and jq.
missing=()
for tool in curl jq; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get install -y "${missing[@]}" || { $SUDO apt-get update && $SUDO apt-get install -y "${missing[@]}"; }
fi

# The third-party SCIM client the interoperability test drives scimd with.
if [ ! -x target/pyclient/bin/python ]; then
  python3 -m venv target/pyclient
fi
target/pyclient/bin/pip install --quiet --disable-pip-version-check -r tests/clients/python/requirements.txt

cargo test --workspace --locked "$@"
