#!/usr/bin/env bash
# Instruction-count guard: runs the hot paths of the pool and the SIMD kernels under Valgrind's
# Callgrind and compares instructions per iteration with benches/perf-baseline.json.
# Exit 0: every case within its threshold (2 % unless the baseline's "overrides" give another
# with a reason); 1: a regression (or a case missing from the baseline); 2: the run failed.
#
#   scripts/perf-guard.sh              check against the baseline
#   scripts/perf-guard.sh --repeat     check, and fail unless two runs count exactly the same
#   scripts/perf-guard.sh --update     rewrite the baseline (say why in the commit) and append
#                                      the counts to benches/perf-history.jsonl, tagged with
#                                      the commit they were measured on (HEAD) and the date
#   scripts/perf-guard.sh --filter F   only cases whose name contains F (repeatable)
#   scripts/perf-guard.sh --selftest   build with `--cfg zenslab_perf_selftest`, which adds a
#                                      few instructions to SlabPool's alloc fast path and to
#                                      the AVX2 ReLU loop, and require the guard to fail on
#                                      exactly those while an untouched case still passes
#
# Counts depend on the code and the compiler (the pinned toolchain), not on the CPU: Valgrind
# reports AVX2+FMA (never AVX-512) to the dispatcher, and the guard refuses a run in which
# glibc or any other shared object executed inside the measured region (glibc picks its
# memcpy & co. by CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "perf-guard: valgrind is not installed" >&2; exit 2; }
target="${CARGO_TARGET_DIR:-target}"
# The counts are of the code as shipped: clippy-driver as a wrapper turns MIR optimisations off
# (pool pairs then count 5-13 % more instructions).
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS

if [ "${1:-}" = "--selftest" ]; then
  # An explicit --target puts the injected build in target/<triple>/ (the main build stays
  # valid) and keeps RUSTFLAGS off build scripts and proc macros, which are reused.
  triple=$(rustc -vV | sed -n 's/^host: //p')
  RUSTFLAGS="--cfg zenslab_perf_selftest" \
    cargo build -q --release --target "$triple" -p zenslab-benches --bin perf-guard
  guard="$target/$triple/release/perf-guard"
  set +e
  out=$("$guard" check --filter pool/pair/64/cached --filter simd/relu/1024 2>&1)
  rc=$?
  set -e
  echo "$out"
  for case in pool/pair/64/cached simd/relu/1024; do
    grep -qE "^$case .*REGRESSION$" <<<"$out" ||
      { echo "perf-guard selftest: the injected work in $case was NOT caught" >&2; exit 1; }
  done
  [ "$rc" -eq 1 ] || { echo "perf-guard selftest: expected exit 1, got $rc" >&2; exit 1; }
  # Control: a case the injection does not touch must still match the baseline.
  "$guard" check --filter simd/exp/1024 | tail -n 1
  echo "perf-guard selftest: the injected regressions were caught"
  exit 0
fi

cargo build -q --release -p zenslab-benches --bin perf-guard
exec "$target/release/perf-guard" check "$@"
