//! Sets `cfg(hardened)` when the `hardened` feature is on or debug assertions are enabled.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(hardened)");
    println!("cargo::rerun-if-changed=build.rs");
    let feature = std::env::var_os("CARGO_FEATURE_HARDENED").is_some();
    let debug = std::env::var_os("CARGO_CFG_DEBUG_ASSERTIONS").is_some();
    if feature || debug {
        println!("cargo::rustc-cfg=hardened");
    }
}
