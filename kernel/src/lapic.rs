//! Local APIC (xAPIC, MMIO at the MADT's address, identity-mapped): ID, enable, IPIs, EOI.

use crate::memory::MAPPED_LIMIT;
use core::sync::atomic::{AtomicU64, Ordering};

const REG_ID: usize = 0x20;
const REG_EOI: usize = 0xb0;
const REG_SVR: usize = 0xf0;
const REG_ICR_LOW: usize = 0x300;
const REG_ICR_HIGH: usize = 0x310;
const REG_LVT_TIMER: usize = 0x320;
const REG_TIMER_INITIAL: usize = 0x380;
const REG_TIMER_DIVIDE: usize = 0x3e0;
/// LVT timer mode bit: periodic.
const LVT_TIMER_PERIODIC: u32 = 1 << 17;
/// Divide configuration value for "divide by 16".
const TIMER_DIVIDE_BY_16: u32 = 0b0011;
/// ICR delivery-status bit (send pending).
const ICR_PENDING: u32 = 1 << 12;
/// ICR delivery modes (bits 8..=10).
const ICR_FIXED: u32 = 0b000 << 8;
const ICR_INIT: u32 = 0b101 << 8;
const ICR_STARTUP: u32 = 0b110 << 8;
/// ICR level (bit 14): assert.
const ICR_ASSERT: u32 = 1 << 14;
/// ICR trigger mode (bit 15): level.
const ICR_LEVEL: u32 = 1 << 15;

/// Vector for spurious interrupts (no EOI).
pub const SPURIOUS_VECTOR: u8 = 0x4f;

/// Physical (= virtual) base of the LAPIC registers; 0 until [`set_base`].
static BASE: AtomicU64 = AtomicU64::new(0);

/// Why the LAPIC cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LapicError {
    /// The base is 0, unaligned or outside the identity map.
    BadBase(u64),
}

/// Records the LAPIC base from the MADT.
pub fn set_base(base: u64) -> Result<(), LapicError> {
    if base == 0 || !base.is_multiple_of(4096) || base + 4096 > MAPPED_LIMIT {
        return Err(LapicError::BadBase(base));
    }
    BASE.store(base, Ordering::Release);
    Ok(())
}

fn reg(offset: usize) -> *mut u32 {
    let base = BASE.load(Ordering::Acquire);
    assert!(base != 0, "LAPIC used before set_base");
    (base as usize + offset) as *mut u32
}

fn read(offset: usize) -> u32 {
    // SAFETY: `reg` points into the 4 KiB LAPIC register page validated by `set_base`
    // (identity-mapped); LAPIC registers are 32-bit, 16-byte aligned, read with one access.
    unsafe { reg(offset).read_volatile() }
}

fn write(offset: usize, value: u32) {
    // SAFETY: as in `read`; writing a LAPIC register has no effect on Rust-visible memory.
    unsafe { reg(offset).write_volatile(value) }
}

/// This CPU's local APIC ID.
pub fn id() -> u32 {
    read(REG_ID) >> 24
}

/// Software-enables this CPU's LAPIC with the spurious vector.
pub fn enable() {
    write(REG_SVR, read(REG_SVR) | 0x100 | u32::from(SPURIOUS_VECTOR));
}

/// Address of the EOI register (written by the wake-up stub to end an interrupt).
pub fn eoi_address() -> u64 {
    reg(REG_EOI) as u64
}

const _: () =
    assert!(ICR_INIT | ICR_LEVEL | ICR_ASSERT == 0xc500 && ICR_STARTUP | ICR_ASSERT == 0x4600);

/// Sends an IPI with the raw ICR low word to `apic_id` and waits until it was accepted.
fn send(apic_id: u32, low: u32) {
    write(REG_ICR_HIGH, apic_id << 24);
    write(REG_ICR_LOW, low);
    while read(REG_ICR_LOW) & ICR_PENDING != 0 {
        core::hint::spin_loop();
    }
}

/// INIT IPI (level assert).
pub fn send_init(apic_id: u32) {
    send(apic_id, ICR_INIT | ICR_LEVEL | ICR_ASSERT);
    // INIT level de-assert (needed by older CPUs, harmless now).
    send(apic_id, ICR_INIT | ICR_LEVEL);
}

/// Start-up IPI: the AP starts in real mode at `page << 12`.
pub fn send_sipi(apic_id: u32, page: u8) {
    send(apic_id, ICR_STARTUP | ICR_ASSERT | u32::from(page));
}

/// Fixed-delivery IPI with `vector`.
pub fn send_fixed(apic_id: u32, vector: u8) {
    send(apic_id, ICR_FIXED | ICR_ASSERT | u32::from(vector));
}

/// Starts this CPU's LAPIC timer in periodic mode: `vector` every `initial_count` ticks of the
/// bus clock divided by 16 (QEMU: 1 GHz / 16, so 3 125 000 is 50 ms; on hardware the period
/// differs, which is why the watchdog checks the TSC rather than counting interrupts).
pub fn start_periodic_timer(vector: u8, initial_count: u32) {
    write(REG_TIMER_DIVIDE, TIMER_DIVIDE_BY_16);
    write(REG_LVT_TIMER, LVT_TIMER_PERIODIC | u32::from(vector));
    write(REG_TIMER_INITIAL, initial_count);
}
