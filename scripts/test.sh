#!/usr/bin/env bash
# Runs every test of scimd on a fresh machine: installs what the tests need (the wasm32-wasip2
# target, curl and jq, a Python virtualenv with the third-party SCIM client, Node.js packages
# for the jco host, cargo-machete), then the whole workspace, the lints (clippy with warnings
# as errors, unused dependencies), then the golden cases in Node.js.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2

# The Keycloak walkthrough example is a shell script using curl and jq.
missing=()
for tool in curl jq; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
# The Node.js host of examples/node-gateway.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
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

# Lints are part of the tests: clippy's warnings fail the run, and so does a dependency no
# code uses (cargo-machete, from crates.io).
cargo clippy --workspace --all-targets --locked -- -D warnings
command -v cargo-machete >/dev/null 2>&1 || cargo install cargo-machete --locked --version 0.9.2
cargo machete

# The same component in another host: Node.js runs it through jco and must give the Rust
# host's answers to every golden case (conformance/), and the example gateway must work.
# The component the host embeds: host/build.rs builds it there (and honours the same variable).
guest=${SCIMD_GUEST_TARGET_DIR:-target/guest}/wasm32-wasip2/release/scimd_guest.wasm
[ -f "$guest" ] || { echo "no $guest: cargo test should have built it" >&2; exit 1; }
npm ci --prefix examples/node-gateway --no-audit --no-fund --loglevel=error
node examples/node-gateway/golden.mjs "$guest" conformance
node examples/node-gateway/demo-check.mjs "$guest"
