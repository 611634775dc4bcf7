#!/usr/bin/env bash
# Runs the whole spikeforge test suite on a fresh machine.
#
# Installs everything a test needs first: the rustup target and component
# for the bare-metal kernel builds. Python peers (numpy, Brian2, nir, Lava on
# Python 3.10) are installed by the tests themselves into cached venvs under
# target/peer-venvs (network access to PyPI on first use).
# .ci/run calls exactly this script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== spikeforge test suite: setting up"
# The no_std kernel is built for the firmware targets: Cortex-M4F (stable
# target) and ARM968 (armv5te, tier 3: core is built from source).
rustup target add thumbv7em-none-eabihf
rustup component add rust-src

echo "== cargo test (all crates)"
cargo test --workspace --locked

echo "== kernel builds bare-metal: thumbv7em-none-eabihf (SpiNNaker2 Cortex-M4F)"
cargo build --locked -p spikeforge-kernel --target thumbv7em-none-eabihf

echo "== kernel builds bare-metal: armv5te-none-eabi (SpiNNaker ARM968, -Zbuild-std=core)"
RUSTC_BOOTSTRAP=1 cargo build --locked -p spikeforge-kernel --target armv5te-none-eabi -Zbuild-std=core

echo "== all tests passed"
