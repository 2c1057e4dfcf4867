//! The per-test watchdog: the BSP's LAPIC timer interrupts every 50 ms while a test runs with
//! interrupts enabled; its stub compares the TSC with the test's deadline in a few
//! instructions and, once it has passed, ends the run through
//! [`crate::fatal::test_timed_out`] (`not ok N <test> # TIMEOUT`, QEMU exit 39).
//!
//! Limits: a test hung with interrupts disabled on the BSP (inside a pinned pool operation, a
//! spin lock held with IF clear) is not caught here; the runner's whole-run timeout is the
//! backstop. A hang on an AP is caught by the bounded waits of [`crate::smp::run_on`].

use core::arch::naked_asm;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// TSC value after which the running test has timed out; 0 when no test is armed.
static DEADLINE: AtomicU64 = AtomicU64::new(0);
/// The armed timeout in seconds, for the report.
static SECONDS: AtomicU64 = AtomicU64::new(0);
/// Whether the LAPIC timer runs (the LAPIC was usable).
static RUNNING: AtomicBool = AtomicBool::new(false);

/// Period of the timer in LAPIC ticks (bus clock / 16): 50 ms under QEMU.
const TIMER_INITIAL_COUNT: u32 = 3_125_000;

/// Starts the BSP's LAPIC timer. Call once, on the BSP, after the LAPIC is enabled.
pub fn start() {
    crate::lapic::start_periodic_timer(crate::idt::TIMER_VECTOR, TIMER_INITIAL_COUNT);
    RUNNING.store(true, Ordering::Release);
}

/// Whether the watchdog can fire (the timer runs).
pub fn available() -> bool {
    RUNNING.load(Ordering::Acquire)
}

/// Arms the watchdog for `seconds` from now and enables interrupts on this CPU (the BSP).
pub fn arm(seconds: u64) {
    let ticks = seconds
        .saturating_mul(1000)
        .saturating_mul(crate::time::tsc_per_ms());
    SECONDS.store(seconds, Ordering::Relaxed);
    DEADLINE.store(crate::cpu::rdtsc().saturating_add(ticks), Ordering::Release);
    if available() {
        x86_64::instructions::interrupts::enable();
    }
}

/// Disables interrupts on this CPU and disarms the watchdog.
pub fn disarm() {
    x86_64::instructions::interrupts::disable();
    DEADLINE.store(0, Ordering::Release);
}

/// Called by the stub once the deadline passed.
extern "C" fn expired() -> ! {
    crate::fatal::test_timed_out(SECONDS.load(Ordering::Relaxed))
}

/// Timer interrupt: if a deadline is armed and the TSC passed it, call [`expired`] (never
/// returns); otherwise EOI and return. Touches only rax, rcx, rdx, saved and restored; runs on
/// the IRQ IST stack.
#[unsafe(naked)]
pub extern "C" fn timer_stub() {
    naked_asm!(
        "push rax",
        "push rcx",
        "push rdx",
        "mov rcx, qword ptr [rip + {deadline}]",
        "test rcx, rcx",
        "jz 2f",
        "rdtsc",
        "shl rdx, 32",
        "or rax, rdx",
        "cmp rax, rcx",
        "jb 2f",
        "and rsp, -16",
        "cld",
        "call {expired}",
        "ud2",
        "2:",
        "mov rax, qword ptr [rip + {eoi}]",
        "mov dword ptr [rax], 0",
        "pop rdx",
        "pop rcx",
        "pop rax",
        "iretq",
        deadline = sym DEADLINE,
        expired = sym expired,
        eoi = sym crate::idt::EOI_ADDRESS,
    );
}
