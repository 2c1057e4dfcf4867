//! Application-processor bring-up, the job dispatcher the SMP tests use, and a latch that
//! names the CPUs that did not check in.
//!
//! Bring-up ([`start_aps`]): the processors come from the ACPI MADT; each AP other than the
//! BSP gets, one at a time, its own stack, GDT/TSS/IST stacks and per-CPU block, then
//! INIT-SIPI-SIPI by APIC ID through the trampoline ([`crate::trampoline`]). The BSP waits
//! (bounded) until the AP reports online before starting the next one.
//!
//! Idle APs wait in `sti; hlt` (race-free: the STI shadow covers the `hlt`), woken by a fixed
//! IPI ([`crate::idt::WAKE_VECTOR`]); [`run_on`] publishes a job (an `Arc`'d closure, so a CPU
//! that overruns its deadline can never see freed data), wakes CPUs `1..n`, runs the job on
//! the BSP as CPU 0 and waits, bounded, for the others.

use crate::acpi::{AcpiInfo, MAX_CPUS};
use crate::gdt::{CpuTables, IstStacks};
use crate::percpu::{self, PerCpu};
use crate::time::{Deadline, delay_us};
use crate::{idt, lapic, trampoline};
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use spin::Mutex;

/// Bytes of each AP's kernel stack.
const AP_STACK_SIZE: usize = 128 * 1024;
/// How long an AP may take from INIT to "online".
const AP_ONLINE_TIMEOUT_MS: u64 = 1000;

/// A job run on several CPUs: called with the CPU index.
pub type Job = Arc<dyn Fn(usize) + Send + Sync>;

/// CPUs online (BSP included); indices `0..ONLINE_COUNT` are usable.
static ONLINE_COUNT: AtomicUsize = AtomicUsize::new(1);
/// APIC ID per CPU index.
static APIC_IDS: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
/// Set by an AP once it runs Rust on its own stack.
static ONLINE: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// A CPU that missed a deadline is never given work again.
static LOST: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// Generation of the published job; bumped for every [`run_on`].
static JOB_GEN: AtomicU64 = AtomicU64::new(0);
/// Last generation each CPU finished.
static DONE_GEN: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// The published job and its participant count.
static JOB: Mutex<Option<(Job, usize)>> = Mutex::new(None);
/// Per-CPU blocks handed from the BSP to each AP (index = CPU index).
static BLOCKS: Mutex<[Option<ApBoot>; MAX_CPUS]> = Mutex::new([const { None }; MAX_CPUS]);

/// What the BSP prepares for one AP.
struct ApBoot {
    percpu: &'static mut PerCpu,
    tables: &'static mut CpuTables,
    stacks: &'static mut IstStacks,
}

/// A CPU that missed a deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Missing {
    /// CPU index.
    pub cpu: usize,
    /// Its local APIC ID.
    pub apic_id: u32,
    /// The bound it missed.
    pub timeout_ms: u64,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cpu < cpu_count() {
            write!(
                f,
                "cpu {} (apic id {}) did not check in within {} ms",
                self.cpu, self.apic_id, self.timeout_ms
            )
        } else {
            write!(
                f,
                "cpu {} (not online) did not check in within {} ms",
                self.cpu, self.timeout_ms
            )
        }
    }
}

/// Result of bring-up.
#[derive(Debug, Default)]
pub struct StartReport {
    /// CPUs online, BSP included.
    pub online: usize,
    /// MADT processors that never came online.
    pub failed: Vec<Missing>,
    /// MADT processors beyond [`MAX_CPUS`] (not started).
    pub skipped: usize,
}

/// Enabled processors the MADT lists (1 until ACPI was read).
static MADT_CPUS: AtomicUsize = AtomicUsize::new(1);

/// Enabled processors the firmware's MADT lists.
pub fn madt_cpu_count() -> usize {
    MADT_CPUS.load(Ordering::Acquire)
}

/// CPUs online and usable (BSP included).
pub fn cpu_count() -> usize {
    ONLINE_COUNT.load(Ordering::Acquire)
}

/// Local APIC ID of CPU `cpu`.
pub fn apic_id(cpu: usize) -> u32 {
    APIC_IDS[cpu].load(Ordering::Relaxed)
}

/// Records the BSP (index 0).
pub fn init_bsp(apic_id: u32) {
    APIC_IDS[0].store(apic_id, Ordering::Relaxed);
    ONLINE[0].store(true, Ordering::Release);
}

/// Starts every enabled MADT processor other than the BSP, one at a time.
///
/// # Safety
/// Call once, on the BSP, after the heap, the LAPIC base and the TSC calibration are set up,
/// with `trampoline_page_free` true only if the trampoline page is unused RAM.
pub unsafe fn start_aps(acpi: &AcpiInfo, trampoline_page_free: bool) -> StartReport {
    let bsp = lapic::id();
    MADT_CPUS.store(acpi.processors.len(), Ordering::Release);
    let mut report = StartReport {
        online: 1,
        ..StartReport::default()
    };
    let aps: Vec<u32> = acpi
        .processors
        .iter()
        .map(|p| p.apic_id)
        .filter(|&id| id != bsp)
        .collect();
    if aps.is_empty() {
        return report;
    }
    if !trampoline_page_free {
        crate::diag!(
            "smp: trampoline page {:#x} is not free RAM; APs not started",
            trampoline::TRAMPOLINE_PHYS
        );
        return report;
    }
    // SAFETY: the page is free RAM (checked by the caller) and no AP runs yet.
    unsafe { trampoline::install() };
    let cr3 = x86_64::registers::control::Cr3::read()
        .0
        .start_address()
        .as_u64();
    for apic in aps {
        let index = report.online;
        if index >= MAX_CPUS {
            report.skipped += 1;
            continue;
        }
        let stack: &'static mut [u8] =
            Box::leak(alloc::vec![0u8; AP_STACK_SIZE].into_boxed_slice());
        let stack_top = (stack.as_ptr_range().end as u64) & !15;
        BLOCKS.lock()[index] = Some(ApBoot {
            percpu: Box::leak(Box::new(PerCpu::new(index, apic))),
            tables: Box::leak(Box::new(CpuTables::new())),
            stacks: new_ist_stacks(),
        });
        APIC_IDS[index].store(apic, Ordering::Relaxed);
        // SAFETY: installed above; the previous AP is online (or given up and lost: it never
        // reached the slots' reader, or it would be online), so nobody reads the slots now.
        unsafe { trampoline::set_slots(cr3, stack_top, index as u64) };
        lapic::send_init(apic);
        delay_us(10_000);
        let page = (trampoline::TRAMPOLINE_PHYS >> 12) as u8;
        lapic::send_sipi(apic, page);
        delay_us(200);
        if !ONLINE[index].load(Ordering::Acquire) {
            lapic::send_sipi(apic, page);
        }
        let deadline = Deadline::after_ms(AP_ONLINE_TIMEOUT_MS);
        while !ONLINE[index].load(Ordering::Acquire) && !deadline.expired() {
            core::hint::spin_loop();
        }
        if ONLINE[index].load(Ordering::Acquire) {
            report.online += 1;
            ONLINE_COUNT.store(report.online, Ordering::Release);
        } else {
            report.failed.push(Missing {
                cpu: index,
                apic_id: apic,
                timeout_ms: AP_ONLINE_TIMEOUT_MS,
            });
            // Never reuse this index: the AP might still wake up later and claim it.
            LOST[index].store(true, Ordering::Release);
            BLOCKS.lock()[index] = None;
            break;
        }
    }
    report
}

/// IST stacks on the heap, zeroed in place (no 32 KiB temporary on the stack).
fn new_ist_stacks() -> &'static mut IstStacks {
    let b: Box<core::mem::MaybeUninit<IstStacks>> = Box::new_zeroed();
    // SAFETY: IstStacks is plain bytes; all-zero is a valid value.
    Box::leak(unsafe { b.assume_init() })
}

/// Rust entry of an AP, called by the trampoline on the AP's own stack with SSE/AVX on.
pub extern "C" fn ap_entry(index: u64) -> ! {
    let index = index as usize;
    let Some(boot) = BLOCKS.lock().get_mut(index).and_then(Option::take) else {
        crate::fatal::halt_with_report(format_args!("AP started with unknown index {index}"))
    };
    percpu::install(boot.percpu);
    CpuTables::load(boot.tables, boot.stacks);
    idt::load();
    lapic::enable();
    ONLINE[index].store(true, Ordering::Release);
    idle_loop(index)
}

/// An AP's life after bring-up: run each published job it takes part in, then sleep.
fn idle_loop(index: usize) -> ! {
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
