#!/usr/bin/env bash
# The main job on the built-in default target, the emulator: builds
# spikeforge, compiles an example network and runs it, writing the results
# (summary.json, .npy arrays) to out/. Give a network to run another one:
#   bash scripts/demo.sh examples/cuba.yaml
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
net="${1:-examples/lava_learning.yaml}"
name="$(basename "${net%.*}")"
# `cargo run` finds the binary wherever CARGO_TARGET_DIR points.
spikeforge() { cargo run --quiet --release --locked --bin spikeforge -- "$@"; }
spikeforge check "$net"
spikeforge run "$net" --target emu -o "out/$name"
