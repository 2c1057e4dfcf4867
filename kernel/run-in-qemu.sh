#!/bin/sh
# Cargo `runner` for the kernel: boots the ELF given as $1 through the host runner (root workspace).
# The nested cargo must not see this workspace's build settings.
set -e
kernel="$(realpath "$1")"
shift
cd "$(dirname "$0")/.."
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET
exec cargo run -q -p qemu --release -- --kernel "$kernel" "$@"
