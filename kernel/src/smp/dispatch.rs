//! The job dispatcher: idle APs sleep in `sti; hlt` until [`run_on`] publishes a job (an
//! `Arc`'d closure, so a CPU that overruns its deadline can never see freed data) and wakes
//! them with a fixed IPI ([`crate::idt::WAKE_VECTOR`]).

use super::{Missing, apic_id, cpu_count};
use crate::acpi::MAX_CPUS;
use crate::time::Deadline;
use crate::{idt, lapic};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use spin::Mutex;

/// A job run on several CPUs: called with the CPU index.
pub type Job = Arc<dyn Fn(usize) + Send + Sync>;

/// A CPU that missed a deadline is never given work again.
static LOST: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// Generation of the published job; bumped for every [`run_on`].
static JOB_GEN: AtomicU64 = AtomicU64::new(0);
/// Last generation each CPU finished.
static DONE_GEN: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// The published job and its participant count.
static JOB: Mutex<Option<(Job, usize)>> = Mutex::new(None);

/// Marks CPU `cpu` as lost: it never gets work again.
pub(super) fn mark_lost(cpu: usize) {
    LOST[cpu].store(true, Ordering::Release);
}

/// An AP's life after bring-up: run each published job it takes part in, then sleep.
pub(super) fn idle_loop(index: usize) -> ! {
    let mut seen = JOB_GEN.load(Ordering::Acquire);
    DONE_GEN[index].store(seen, Ordering::Release);
    loop {
        x86_64::instructions::interrupts::disable();
        let gen_now = JOB_GEN.load(Ordering::Acquire);
        if gen_now != seen {
            seen = gen_now;
            let job = JOB.lock().clone();
            if let Some((job, participants)) = job
                && index < participants
            {
                job(index);
            }
            DONE_GEN[index].store(seen, Ordering::Release);
            continue;
        }
        // SAFETY: `sti; hlt` with interrupts otherwise off: the STI shadow delays any pending
        // interrupt until `hlt` executes, so a wake IPI sent after the check above always ends
        // the `hlt`. The only deliverable vectors have stubs that return (see `idt`).
        unsafe { core::arch::asm!("sti", "hlt", "cli", options(nomem, nostack)) };
    }
}

/// Runs `job(cpu)` on CPUs `0..n` (0 is this CPU, the BSP) and waits up to `timeout_ms` for
/// the others. A CPU that misses the bound is reported and never given work again.
pub fn run_on(n: usize, timeout_ms: u64, job: Job) -> Result<(), Missing> {
    let n = n.clamp(1, cpu_count());
    if let Some(lost) = (1..n).find(|&i| LOST[i].load(Ordering::Acquire)) {
        return Err(Missing {
            cpu: lost,
            apic_id: apic_id(lost),
            timeout_ms: 0,
        });
    }
    *JOB.lock() = Some((job.clone(), n));
    let generation = JOB_GEN.fetch_add(1, Ordering::AcqRel) + 1;
    for cpu in 1..cpu_count() {
        lapic::send_fixed(apic_id(cpu), idt::WAKE_VECTOR);
    }
    job(0);
    let deadline = Deadline::after_ms(timeout_ms);
    let mut result = Ok(());
    for cpu in 1..cpu_count() {
        while DONE_GEN[cpu].load(Ordering::Acquire) != generation {
            if deadline.expired() {
                LOST[cpu].store(true, Ordering::Release);
                result = Err(Missing {
                    cpu,
                    apic_id: apic_id(cpu),
                    timeout_ms,
                });
                break;
            }
            core::hint::spin_loop();
        }
        if result.is_err() {
            break;
        }
    }
    *JOB.lock() = None;
    result
}
