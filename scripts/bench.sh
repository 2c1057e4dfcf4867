#!/usr/bin/env bash
# Runs every criterion benchmark, then prints the report tables with the issue targets.
# Takes several minutes; close other work first, the machines are noisy.
# Usage: scripts/bench.sh [alloc|simd]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
benches=("${@:-alloc simd}")
for b in ${benches[@]}; do
  cargo bench -p zenslab-benches --bench "$b"
done
cargo run -q -p zenslab-benches --release --bin report
