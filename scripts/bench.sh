#!/usr/bin/env bash
# The performance benchmark: the emulator and Brian2's C++ standalone device
# on identical networks, in one run, with our/Brian2 ratios.
#
#   bash scripts/bench.sh [--quick] [--reps N] [--brian2-threads "0 2"]
#
# 1. builds and runs the emulator's bench binary (targets/emu/benches/emulator.rs;
#    each case in a fresh child process) -> target/bench/emulator.json;
# 2. creates target/bench/venv (brian2, numpy<2.4; Brian2 2.9 fails with numpy 2.4)
#    unless it exists, and runs scripts/bench_brian2.py, which exports each
#    network from the bench binary, builds it in Brian2 (C++ standalone, g++),
#    times Brian2's loop and writes target/bench/results.json with both sets
#    of figures and the ratios.
#
# The emulator is compiled with -C target-cpu=native, as Brian2 compiles its
# generated C++ with -march=native (its default compiler flags); set
# SPIKEFORGE_BENCH_RUSTFLAGS to override. This is an explicit command, not
# part of the test suite. The machine should be quiet: the load average is
# recorded before and after.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

quick=()
reps=()
brian_reps=5
brian_threads="0"
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=(--quick); brian_reps=3 ;;
        --reps) reps=(--reps "$2"); brian_reps="$2"; shift ;;
        --brian2-threads) brian_threads="$2"; shift ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

out=target/bench
mkdir -p "$out"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/bench/cargo}"
export RUSTFLAGS="${SPIKEFORGE_BENCH_RUSTFLAGS:--C target-cpu=native}"

echo "== load before: $(cat /proc/loadavg)" >&2
echo "== building the emulator benchmark (RUSTFLAGS=$RUSTFLAGS)" >&2
cargo bench --locked -p spikeforge-emu --bench emulator --no-run >&2
bin=$(cargo bench --locked -p spikeforge-emu --bench emulator --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "emulator" and m.get("executable"):
        print(m["executable"])')

echo "== emulator" >&2
"$bin" "${quick[@]}" "${reps[@]}" --out "$out/emulator.json"

venv="$out/venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import brian2' 2>/dev/null; then
    echo "== creating $venv (brian2, numpy<2.4)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q brian2 "numpy<2.4"
fi

echo "== Brian2 C++ standalone" >&2
# shellcheck disable=SC2086
"$venv/bin/python" scripts/bench_brian2.py --bench-bin "$bin" --ours "$out/emulator.json" \
    --out "$out/results.json" --reps "$brian_reps" --workdir "$out/brian2" --threads $brian_threads
echo "== load after: $(cat /proc/loadavg)" >&2
