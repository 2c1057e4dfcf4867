//! `qemu`: builds and boots the zenslab test kernel and judges its KTAP report.
//! Exit codes: 0 passed, 1 failed, 2 crashed, 3 timed out, 4 runner error. See `qemu --help`.

#![deny(unsafe_code)]

fn main() {
    std::process::exit(qemu::main_with_args(std::env::args_os()));
}
