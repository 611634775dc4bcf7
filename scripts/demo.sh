#!/usr/bin/env bash
# The main job on the built-in default: builds spikeforge and runs an example
# network. Extra arguments replace the example, e.g. `scripts/demo.sh examples/song2000.yaml`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
net="${1:-examples/lava_learning.yaml}"
cargo build --release --locked --bin spikeforge
./target/release/spikeforge check "$net"
