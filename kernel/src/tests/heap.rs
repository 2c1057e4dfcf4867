//! Global-allocator tests: Box, Vec, String.

use crate::check;
use crate::ktap::TestResult;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Box, Vec growth and String formatting through the global allocator.
pub fn box_vec_string() -> TestResult {
    let b = Box::new([7u64; 33]);
    check!(b.iter().all(|&x| x == 7), "boxed array contents");
    let mut v: Vec<u32> = Vec::new();
    for i in 0..10_000u32 {
        v.push(i.wrapping_mul(2_654_435_761));
    }
    let sum = v.iter().fold(0u64, |a, &x| a.wrapping_add(u64::from(x)));
    let expect = (0..10_000u32).fold(0u64, |a, i| {
        a.wrapping_add(u64::from(i.wrapping_mul(2_654_435_761)))
    });
    check!(sum == expect, "vec checksum {sum} != {expect}");
    let mut s = String::new();
    for i in 0..200 {
        s.push_str(&format!("{i},"));
    }
    check!(
        s.starts_with("0,1,2,") && s.ends_with("198,199,"),
        "string contents"
    );
    check!(s.len() == 690, "string length {}", s.len());
    Ok(())
}
