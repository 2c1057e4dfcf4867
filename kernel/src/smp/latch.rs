//! A one-shot rendezvous for a set of CPUs with a bounded wait that names the CPUs that did
//! not arrive.

use super::{Missing, apic_id};
use crate::acpi::MAX_CPUS;
use crate::time::Deadline;
use core::sync::atomic::{AtomicU64, Ordering};

/// A one-shot rendezvous for `expected` CPUs (indices `0..expected`) with a bounded wait that
/// names the CPUs that did not arrive.
#[derive(Debug)]
pub struct Latch {
    expected: usize,
    arrived: AtomicU64,
}

impl Latch {
    /// A latch for CPUs `0..expected` (at most 64).
    pub fn new(expected: usize) -> Self {
        assert!(expected <= 64, "latch supports at most 64 CPUs");
        Self {
            expected,
            arrived: AtomicU64::new(0),
        }
    }

    /// Marks `cpu` as arrived and waits until all expected CPUs have, or `timeout_ms` passed:
    /// then the first missing CPU is returned.
    pub fn arrive_and_wait(&self, cpu: usize, timeout_ms: u64) -> Result<(), Missing> {
        self.arrived.fetch_or(1 << cpu, Ordering::AcqRel);
        self.wait(timeout_ms)
    }

    /// Waits (without arriving) until all expected CPUs arrived or `timeout_ms` passed.
    pub fn wait(&self, timeout_ms: u64) -> Result<(), Missing> {
        let all = if self.expected == 64 {
            u64::MAX
        } else {
            (1u64 << self.expected) - 1
        };
        let deadline = Deadline::after_ms(timeout_ms);
        loop {
            let arrived = self.arrived.load(Ordering::Acquire);
            if arrived & all == all {
                return Ok(());
            }
            if deadline.expired() {
                let cpu = (!arrived & all).trailing_zeros() as usize;
                return Err(Missing {
                    cpu,
                    apic_id: if cpu < MAX_CPUS {
                        apic_id(cpu)
                    } else {
                        u32::MAX
                    },
                    timeout_ms,
                });
            }
            core::hint::spin_loop();
        }
    }
}
