#!/usr/bin/env bash
# The whole zenslab test suite, exactly as CI runs it (see README "Quick start").
# Every stage must pass; the script stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
started=$SECONDS
stage() { echo; echo "== [$((SECONDS - started))s] $*"; }

# Clippy lints the host workspace while it is compiled: `cargo clippy` would first build every
# dependency in check mode (metadata only), which a full build cannot reuse. clippy-driver as
# the workspace wrapper lints the same targets (lib, bins, tests and examples through
# `cargo test --no-run`, benches through `cargo bench --no-run`) and applies only to workspace
# members, so the dependencies are built once; CLIPPY_ARGS is how `cargo clippy -- -D warnings`
# hands it the flags. clippy-driver turns MIR optimisations off, so what it compiles is not the
# shipped code: the tests and the guard then rebuild the (small) workspace crates without it.
linted() {
  RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver)" \
    CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" "$@"
}

stage "format"
cargo fmt --all --check
(cd kernel && cargo fmt --check)

# Miri interprets on one core for minutes, with its own toolchain and target directory: it
# runs beside the other stages and is waited for near the end.
stage "Miri on the pool's unit tests: started in the background"
miri_log=$(mktemp)
cargo +nightly miri test -p alloc-pool --lib >"$miri_log" 2>&1 &
miri_pid=$!
trap 'kill "$miri_pid" 2>/dev/null || true; rm -f "$miri_log"' EXIT

stage "clippy (kernel, its own workspace and target)"
(cd kernel && cargo clippy --release -- -D warnings)

stage "no_std build of the library crates for x86_64-unknown-none"
cargo build -p alloc-pool -p simd-kernels --target x86_64-unknown-none --release

stage "clippy -D warnings on the host workspace while its tests build (release)"
linted cargo test --workspace --release --no-run

stage "unit, property, stress, accuracy-sweep and boot tests (release)"
cargo test --workspace --release

stage "the kernel ELF really runs AVX2+FMA (objdump: ymm FMA present, no soft-float calls)"
elf=kernel/target/x86_64-unknown-linux-gnu/release/zenslab-kernel
fma=$(objdump -d --no-show-raw-insn "$elf" | grep -cE 'vfn?m(add|sub)[0-9]+ps[^%]*%ymm' || true)
softfloat=$(objdump -d "$elf" | grep -cE '<__(add|mul|div)sf3>' || true)
echo "ymm FMA instructions: $fma, soft-float helpers: $softfloat"
[ "$fma" -gt 0 ] && [ "$softfloat" -eq 0 ]

stage "benchmarks compile, clippy -D warnings on them (run them with scripts/bench.sh)"
linted cargo bench --workspace --no-run

stage "instruction-count guard (Callgrind, run twice: counts must be identical) and its self-test"
bash scripts/perf-guard.sh --repeat
bash scripts/perf-guard.sh --selftest

stage "alloc-pool tests in debug (the hardened checks are on in debug builds)"
cargo test -p alloc-pool --features std

stage "loom model checks of the pool's concurrent protocols"
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR=target/loom \
  cargo test -p alloc-pool --release --test loom

stage "Miri on the pool's unit tests: waiting for the background run"
if wait "$miri_pid"; then
  grep -E '^test result' "$miri_log"
else
  cat "$miri_log"
  echo "Miri failed"
  exit 1
fi

stage "done in $((SECONDS - started))s"
