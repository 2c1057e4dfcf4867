//! Application-processor bring-up ([`start_aps`]), with the job dispatcher ([`dispatch`]) and
//! the latch ([`latch`]) the SMP tests use.
//!
//! The processors come from the ACPI MADT; each AP other than the BSP gets, one at a time,
//! its guarded stacks ([`crate::stacks`]), GDT/TSS and per-CPU block, then INIT-SIPI-SIPI by
//! APIC ID through the trampoline ([`crate::trampoline`]). The BSP waits (bounded) until the
//! AP reports online before starting the next one. Online APs idle in
//! [`dispatch::idle_loop`].

mod dispatch;
mod latch;

pub use dispatch::{Job, run_on};
pub use latch::Latch;

use crate::acpi::{AcpiInfo, MAX_CPUS};
use crate::gdt::CpuTables;
use crate::percpu::{self, PerCpu};
use crate::time::{Deadline, delay_us};
use crate::{idt, lapic, trampoline};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use spin::Mutex;

/// How long an AP may take from INIT to "online".
const AP_ONLINE_TIMEOUT_MS: u64 = 1000;

/// CPUs online (BSP included); indices `0..ONLINE_COUNT` are usable.
static ONLINE_COUNT: AtomicUsize = AtomicUsize::new(1);
/// APIC ID per CPU index.
static APIC_IDS: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
/// Set by an AP once it runs Rust on its own stack.
static ONLINE: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// Per-CPU blocks handed from the BSP to each AP (index = CPU index).
static BLOCKS: Mutex<[Option<ApBoot>; MAX_CPUS]> = Mutex::new([const { None }; MAX_CPUS]);

/// What the BSP prepares for one AP.
struct ApBoot {
    percpu: &'static mut PerCpu,
    tables: &'static mut CpuTables,
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
    /// Why no AP was started at all, if that was the case.
    pub problem: Option<String>,
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
        report.problem = Some(alloc::format!(
            "trampoline page {:#x} is not free RAM; APs not started",
            trampoline::TRAMPOLINE_PHYS
        ));
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
        let stack_top = crate::stacks::kernel_top(index);
        BLOCKS.lock()[index] = Some(ApBoot {
            percpu: Box::leak(Box::new(PerCpu::new(index, apic))),
            tables: Box::leak(Box::new(CpuTables::new())),
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
            dispatch::mark_lost(index);
            BLOCKS.lock()[index] = None;
            break;
        }
    }
    report
}

/// Rust entry of an AP, called by the trampoline on the AP's own stack with SSE/AVX on.
pub extern "C" fn ap_entry(index: u64) -> ! {
    let index = index as usize;
    let Some(boot) = BLOCKS.lock().get_mut(index).and_then(Option::take) else {
        crate::fatal::halt_with_report(format_args!("AP started with unknown index {index}"))
    };
    percpu::install(boot.percpu);
    CpuTables::load(boot.tables, index);
    idt::load();
    lapic::enable();
    ONLINE[index].store(true, Ordering::Release);
    dispatch::idle_loop(index)
}
