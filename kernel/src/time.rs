//! Time: the ACPI PM timer (3.579545 MHz) as reference, the TSC calibrated against it, and
//! deadlines for bounded waits.

use crate::cpu::rdtsc;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::port::Port;

/// PM timer frequency in Hz.
const PM_TIMER_HZ: u64 = 3_579_545;

/// TSC ticks per millisecond (0 = not calibrated yet: deadlines use a conservative default).
static TSC_PER_MS: AtomicU64 = AtomicU64::new(0);

/// Fallback when no PM timer exists: assumes a 3 GHz TSC.
const DEFAULT_TSC_PER_MS: u64 = 3_000_000;

/// Reads the PM timer counter.
fn pm_read(port: u16, mask: u32) -> u32 {
    let mut p: Port<u32> = Port::new(port);
    // SAFETY: `port` is the FADT's PM_TMR_BLK; reading it has no side effects.
    unsafe { p.read() & mask }
}

/// Calibrates the TSC against the PM timer over about `ms` milliseconds. Without a PM timer
/// the default stays. Returns TSC ticks per millisecond.
pub fn calibrate(pm_port: Option<u16>, pm_32bit: bool, ms: u64) -> u64 {
    let Some(port) = pm_port else {
        return tsc_per_ms();
    };
    let mask = if pm_32bit { u32::MAX } else { 0x00ff_ffff };
    let want = PM_TIMER_HZ * ms / 1000;
    let pm0 = pm_read(port, mask);
    let tsc0 = rdtsc();
    let mut elapsed;
    loop {
        elapsed = u64::from(pm_read(port, mask).wrapping_sub(pm0) & mask);
        if elapsed >= want {
            break;
        }
        core::hint::spin_loop();
    }
    let tsc = rdtsc() - tsc0;
    let per_ms = (tsc * PM_TIMER_HZ / (elapsed * 1000)).max(1);
    TSC_PER_MS.store(per_ms, Ordering::Relaxed);
    per_ms
}

/// TSC ticks per millisecond (calibrated, or the default).
pub fn tsc_per_ms() -> u64 {
    match TSC_PER_MS.load(Ordering::Relaxed) {
        0 => DEFAULT_TSC_PER_MS,
        v => v,
    }
}

/// A point in time after which a bounded wait gives up.
#[derive(Clone, Copy, Debug)]
pub struct Deadline(u64);

impl Deadline {
    /// `ms` milliseconds from now.
    pub fn after_ms(ms: u64) -> Self {
        Self(rdtsc().saturating_add(ms.saturating_mul(tsc_per_ms())))
    }

    /// Whether the deadline has passed.
    pub fn expired(self) -> bool {
        rdtsc() >= self.0
    }
}

/// Busy-waits about `us` microseconds.
pub fn delay_us(us: u64) {
    let end = rdtsc().saturating_add(us.saturating_mul(tsc_per_ms()) / 1000);
    while rdtsc() < end {
        core::hint::spin_loop();
    }
}
