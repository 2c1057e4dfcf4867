#!/usr/bin/env bash
# The whole zenslab test suite, exactly as CI runs it (see README "Quick start").
# Every stage must pass; the script stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
started=$SECONDS
stage() { echo; echo "== [$((SECONDS - started))s] $*"; }

stage "format"
cargo fmt --all --check
(cd kernel && cargo fmt --check)

stage "clippy (host workspace, all targets)"
cargo clippy --workspace --all-targets --release -- -D warnings

stage "clippy (kernel, its own workspace and target)"
(cd kernel && cargo clippy --release -- -D warnings)

stage "no_std build of the library crates for x86_64-unknown-none"
cargo build -p alloc-pool -p simd-kernels -p ktap-abi -p kernel-core -p zenslab-model --target x86_64-unknown-none --release

stage "unit, property, stress, accuracy-sweep and boot tests (release)"
cargo test --workspace --release

stage "the kernel ELF really runs AVX2+FMA (objdump: ymm FMA present, no soft-float calls)"
elf=kernel/target/x86_64-unknown-linux-gnu/release/zenslab-kernel
fma=$(objdump -d --no-show-raw-insn "$elf" | grep -cE 'vfn?m(add|sub)[0-9]+ps[^%]*%ymm' || true)
softfloat=$(objdump -d "$elf" | grep -cE '<__(add|mul|div)sf3>' || true)
echo "ymm FMA instructions: $fma, soft-float helpers: $softfloat"
[ "$fma" -gt 0 ] && [ "$softfloat" -eq 0 ]

stage "alloc-pool tests in debug (the hardened checks are on in debug builds)"
cargo test -p alloc-pool --features std

stage "loom model checks of the pool's concurrent protocols"
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR=target/loom \
  cargo test -p alloc-pool --release --test loom

stage "Miri on the pool's unit tests"
cargo +nightly miri test -p alloc-pool --lib

stage "benchmarks compile (run them with scripts/bench.sh)"
cargo bench --workspace --no-run

stage "instruction-count guard (Callgrind, run twice: counts must be identical) and its self-test"
bash scripts/perf-guard.sh --repeat
bash scripts/perf-guard.sh --selftest

stage "done in $((SECONDS - started))s"
