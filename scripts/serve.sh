#!/usr/bin/env bash
# Builds scimd (with its default SCIM engine component inside) and starts it.
# Arguments go to `scimd serve`; defaults: --listen 127.0.0.1:8080 --data-dir ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2
cargo build --release --locked -p scimd
exec target/release/scimd serve "$@"
