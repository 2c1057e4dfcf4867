//! Hardened-mode reports end the process: each bad operation runs in a child process (this
//! test binary re-executed with `HARDENED_CASE` set), which must die by SIGABRT (not unwind,
//! not exit) with the report, naming the address, on its stderr.
#![cfg(all(unix, any(debug_assertions, feature = "hardened")))]

use core::alloc::{GlobalAlloc, Layout};
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use alloc_pool::{Config, NoCpuCache, SlabPool};
use allocator_api2::alloc::Allocator;

const CASE_VAR: &str = "HARDENED_CASE";

fn l(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

/// Tells the parent which address the report must name.
fn target(p: *mut u8) {
    eprintln!("target {:#x}", p.addr());
}

/// Runs the bad operation `case` on a fresh uncached pool. Only returns if hardened mode
/// missed it.
fn run_case(case: &str) {
    let pool: &'static SlabPool<NoCpuCache> = Box::leak(Box::new(SlabPool::with_config(Config {
        max_cpus: 1,
        ..Config::DEFAULT
    })));
    pool.init_from_slice(Box::leak(Box::new_uninit_slice(1 << 20)))
        .unwrap();
    // SAFETY: each case commits exactly one misuse, which hardened mode must catch before
    // the pool acts on it; everything else is used as allowed.
    unsafe {
        match case {
            "double_free" => {
                let p = pool.alloc(l(128));
                target(p);
                pool.dealloc(p, l(128));
                pool.dealloc(p, l(128));
            }
            "foreign_pointer" => {
                let local = Box::leak(Box::new([0u64; 16])).as_mut_ptr().cast::<u8>();
                target(local);
                pool.dealloc(local, l(128));
            }
            "wrong_class" => {
                let p = pool.alloc(l(128));
                target(p);
                pool.dealloc(p, l(512));
            }
            "realloc_freed" => {
                let p = pool.alloc(l(100));
                target(p);
                pool.dealloc(p, l(100));
                let _ = pool.realloc(p, l(100), 120);
            }
            "grow_freed" => {
                let p = (&pool).allocate(l(100)).unwrap().cast::<u8>();
                target(p.as_ptr());
                (&pool).deallocate(p, l(100));
                let _ = (&pool).grow(p, l(100), l(1000));
            }
            "corrupted_link" => {
                let a = pool.alloc(l(64));
                let b = pool.alloc(l(64));
                pool.dealloc(a, l(64));
                pool.dealloc(b, l(64));
                target(b);
                // A write after free into the link word of `b`, the head of the free list.
                b.cast::<usize>().write(0x4141_4141_4141);
                let _ = pool.alloc(l(64));
                let _ = pool.alloc(l(64));
            }
            "write_after_free" => {
                let p = pool.alloc(l(256));
                pool.dealloc(p, l(256));
                target(p);
                p.add(100).write(0);
                let _ = pool.alloc(l(256));
            }
            other => panic!("unknown case {other}"),
        }
    }
}

/// The child side: runs only when re-executed with `HARDENED_CASE` set.
#[test]
#[ignore = "run by the other tests in a child process"]
fn child() {
    if let Ok(case) = std::env::var(CASE_VAR) {
        run_case(&case);
        eprintln!("hardened mode missed {case}");
    }
}

/// Runs `case` in a child and checks it died of SIGABRT with a report naming the target
/// address and containing `what`.
fn expect_report(case: &str, what: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CASE_VAR, case)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(6),
        "{case}: not ended by SIGABRT ({:?}); stderr:\n{stderr}",
        out.status
    );
    let addr = stderr
        .lines()
        .find_map(|line| line.strip_prefix("target "))
        .unwrap_or_else(|| panic!("{case}: no target line in:\n{stderr}"));
    let report = stderr
        .lines()
        .find(|line| line.starts_with("alloc-pool: "))
        .unwrap_or_else(|| panic!("{case}: no report in:\n{stderr}"));
    assert!(
        report.contains(&format!("at {addr} ")) && report.contains(what),
        "{case}: report {report:?} should name {addr} and say {what:?}"
    );
    assert!(!stderr.contains("panicked"), "{case}: unwound:\n{stderr}");
}

#[test]
fn double_free_is_reported() {
    expect_report("double_free", "double free");
}

#[test]
fn foreign_pointer_is_reported() {
    expect_report("foreign_pointer", "does not own");
}

#[test]
fn free_with_another_class_is_reported() {
    expect_report("wrong_class", "another class");
}

#[test]
fn realloc_of_a_freed_block_is_reported() {
    expect_report("realloc_freed", "reallocation of a freed block");
}

#[test]
fn grow_of_a_freed_block_is_reported() {
    expect_report("grow_freed", "reallocation of a freed block");
}

#[test]
fn corrupted_free_list_link_is_reported_before_it_is_followed() {
    expect_report("corrupted_link", "corrupted free-list link");
}

#[test]
fn write_after_free_is_reported_when_handed_out_again() {
    expect_report("write_after_free", "write after free");
}
