//! zenslab test kernel: boots under QEMU, links `alloc-pool` and `simd-kernels`, runs an
//! in-kernel test suite and reports it in nested KTAP version 1 on COM1.
//!
//! # Boot flow
//! 1. QEMU's `-kernel` loads this ELF at 1 MiB and finds the Xen PVH note ([`boot`]); it enters
//!    `pvh_start32` in 32-bit protected mode with `%ebx` = `hvm_start_info`.
//! 2. The assembly stub zeroes `.bss`, checks CPUID for long mode, identity-maps 4 GiB with
//!    2 MiB pages, switches to long mode with the constants shared with the AP trampoline
//!    ([`longmode`]), enables SSE (and XSAVE/AVX state when CPUID has them) and calls [`kmain`].
//! 3. [`kmain`]: per-CPU GS base ([`percpu`]), COM1 ([`serial`]), GDT/TSS with IST stacks
//!    ([`gdt`], [`stacks`]), the IDT ([`idt`]), the 8259s masked ([`pic`]), the PVH start info
//!    ([`pvh`]), page permissions ([`paging`]: page 0 and stack guard pages unmapped, code
//!    read-only, data NX), the heap on the largest usable RAM region ([`memory`], [`heap`]),
//!    then the command line (`kernel_core::cmdline`), refused with `# BOOT ERROR` if anything in it is
//!    not understood.
//! 4. SMP ([`smp`]): the ACPI MADT and FADT ([`acpi`]) give the processors and the PM timer,
//!    which calibrates the TSC ([`time`]); the BSP's LAPIC timer drives the per-test watchdog
//!    ([`watchdog`]); each AP is started by APIC ID with INIT-SIPI-SIPI through a real-mode
//!    trampoline ([`trampoline`]) onto its guarded static stacks, and idles in `sti; hlt` until
//!    the BSP hands it a job ([`smp::run_on`]). Fewer CPUs than `expect_cpus=` refuses the boot.
//! 5. The suites ([`tests`], registered with `kernel_core::suites!`) run under the command line's
//!    selection, print nested KTAP ([`ktap`]) and exit through `isa-debug-exit` ([`exit`],
//!    values in `ktap_abi`): 0x10 all passed, 0x11 some failed, 0x12 panic, CPU exception or
//!    boot error ([`fatal`]), 0x13 the watchdog ended a hung test.
//!
//! # Allocation and interrupts
//! The global allocator is `alloc_pool::SlabPool<KernelCpuHook>` ([`heap`]): the hook returns
//! the CPU index from the per-CPU block and disables interrupts while a CPU's cache is pinned
//! (see [`percpu::KernelCpuHook`]). Interrupts are enabled only on the BSP while a test runs
//! (for the watchdog timer) and inside an idle AP's `sti; hlt`; no interrupt or exception
//! handler allocates.
//!
//! The build is a freestanding ELF for `x86_64-unknown-linux-gnu` (stable Rust keeps AVX2
//! hard-float there); [`libc_shims`] supplies what the prebuilt `core` expects from libc.

#![no_std]
#![no_main]

extern crate alloc;

mod acpi;
mod boot;
mod cpu;
mod exit;
mod fatal;
mod gdt;
mod heap;
mod idt;
mod ktap;
mod lapic;
mod libc_shims;
mod llheap;
mod longmode;
mod memory;
mod paging;
mod percpu;
mod pic;
mod pvh;
mod serial;
mod smp;
mod stacks;
mod tests;
mod time;
mod trampoline;
mod watchdog;

use crate::exit::{ExitCode, exit_qemu};
use crate::gdt::CpuTables;
use crate::pvh::BootInfo;
use core::sync::atomic::{AtomicBool, Ordering};

/// Rust entry, called by the boot stub in long mode with SSE on.
///
/// `start_info` is the physical address of the PVH `hvm_start_info`.
pub extern "C" fn kmain(start_info: u32) -> ! {
    install_bsp_percpu();
    serial::init();
    println!("zenslab-kernel {} booting", env!("CARGO_PKG_VERSION"));
    load_bsp_tables();
    idt::load();
    pic::mask_all();

    // SAFETY: `start_info` is the %ebx value the PVH entry received, passed through unchanged
    // by the boot stub; the firmware's structures lie in the identity-mapped first 4 GiB.
    let info = match unsafe { BootInfo::read(start_info) } {
        Ok(info) => info,
        Err(e) => fatal::boot_error(format_args!("bad PVH start info: {e:?}")),
    };
    // SAFETY: on the BSP before any AP starts, the boot stub's tables are live, and nothing
    // uses page 0 (QEMU's start info there was copied out above) or a guard page.
    unsafe { paging::protect() };
    let image = memory::kernel_image();
    let Some(region) = memory::largest_usable_above(info.memmap(), image.end()) else {
        fatal::boot_error(format_args!("no usable RAM above the kernel image"))
    };
    // SAFETY: `region` is usable RAM (e820 type 1) above the kernel image, identity-mapped, and
    // used by nothing else; the start info was copied out before.
    if let Err(e) = unsafe { heap::init(region.start, region.len) } {
        fatal::boot_error(format_args!("heap init failed: {e}"));
    }
    // SAFETY: called once, right after `init` succeeded; every usable range above the kernel
    // image is RAM that nothing else uses (the start info was copied out, the AP trampoline
    // and every stack lie below the floor or inside the image).
    let extra_regions = unsafe { heap::add_usable_regions(info.memmap(), image.end(), region) };
    boot_report(&info, region, extra_regions);
    let options = match kernel_core::cmdline::parse(info.cmdline()) {
        Ok(options) => options,
        Err(e) => fatal::boot_error(format_args!("{e}")),
    };
    let cpus = bring_up_cpus(&info);
    if let Some(expected) = options.expect_cpus
        && cpus.online < expected
    {
        fatal::boot_error(format_args!(
            "expect_cpus={expected}, but {} CPU(s) online: {}",
            cpus.online, cpus.why_fewer
        ));
    }
    let forced: alloc::vec::Vec<&'static ktap::Suite> =
        options.crash.map(tests::crash::suite).into_iter().collect();
    let selection = match ktap::select(&forced, tests::ALL, &options) {
        Ok(selection) => selection,
        Err(e) => fatal::boot_error(format_args!("{e}")),
    };
    if options.list {
        ktap::list(&selection);
        exit_qemu(ExitCode::Success);
    }
    if !watchdog::available() {
        diag!("watchdog: no LAPIC timer; a hung test is caught only by the runner's timeout");
    }
    let code = ktap::run(&selection, options.test_timeout_s());
    exit_qemu(code);
}

/// Loads the bootstrap processor's GDT/TSS from static storage (no heap yet; the APs get
/// theirs from the heap).
fn load_bsp_tables() {
    static LOADED: AtomicBool = AtomicBool::new(false);
    static mut TABLES: CpuTables = CpuTables::new();
    assert!(
        !LOADED.swap(true, Ordering::AcqRel),
        "BSP tables loaded twice"
    );
    // SAFETY: LOADED makes this run once, so this is the only reference ever made to TABLES.
    let tables = unsafe { &mut *core::ptr::addr_of_mut!(TABLES) };
    CpuTables::load(tables, 0);
}

/// Points the BSP's GS base at its static per-CPU block (index 0).
fn install_bsp_percpu() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    static mut BLOCK: percpu::PerCpu = percpu::PerCpu::new(0, 0);
    assert!(
        !INSTALLED.swap(true, Ordering::AcqRel),
        "BSP per-CPU block installed twice"
    );
    // SAFETY: INSTALLED makes this run once: the only reference ever made to BLOCK.
    let block = unsafe { &mut *core::ptr::addr_of_mut!(BLOCK) };
    block.apic_id = cpu::cpuid(1, 0).ebx >> 24;
    percpu::install(block);
}

/// What bring-up achieved.
struct CpusOnline {
    /// CPUs online, BSP included.
    online: usize,
    /// Why not more: the ACPI/LAPIC error, the APs that did not start, or the MADT's count.
    why_fewer: alloc::string::String,
}

/// ACPI, LAPIC, TSC calibration, the watchdog timer, then the application processors. Every
/// reason for fewer CPUs is printed as a `# smp:` diagnostic and returned.
fn bring_up_cpus(info: &BootInfo) -> CpusOnline {
    use alloc::format;
    let only_bsp = |why: alloc::string::String| {
        println!("# smp: {why}; only the BSP runs");
        println!("# smp: 1 cpu(s) online");
        CpusOnline {
            online: 1,
            why_fewer: why,
        }
    };
    let acpi = match acpi::parse(info.rsdp) {
        Ok(acpi) => acpi,
        Err(e) => return only_bsp(format!("ACPI tables unusable ({e:?})")),
    };
    let per_ms = time::calibrate(acpi.pm_timer_port, acpi.pm_timer_32bit, 10);
    println!(
        "# acpi: {} processor(s) in the MADT, lapic {:#x}, pm timer {:?}; tsc {} kHz",
        acpi.processors.len(),
        acpi.lapic_base,
        acpi.pm_timer_port,
        per_ms
    );
    if let Err(e) = lapic::set_base(acpi.lapic_base) {
        return only_bsp(format!("LAPIC unusable ({e:?})"));
    }
    lapic::enable();
    idt::set_eoi_address(lapic::eoi_address());
    watchdog::start();
    smp::init_bsp(lapic::id());
    let page = trampoline::TRAMPOLINE_PHYS as u64;
    let page_free = info
        .memmap()
        .iter()
        .any(|e| e.kind == pvh::E820_RAM && e.addr <= page && e.addr + e.size >= page + 4096);
    // SAFETY: once, on the BSP, after heap, LAPIC base and TSC calibration; `page_free` says
    // whether the trampoline page is RAM, and nothing of the kernel lives below 1 MiB.
    let report = unsafe { smp::start_aps(&acpi, page_free) };
    println!("# smp: {} cpu(s) online", report.online);
    let mut why_fewer = format!("the MADT lists {} processor(s)", acpi.processors.len());
    for missing in &report.failed {
        println!("# smp: {missing}");
        why_fewer.push_str(&format!("; {missing}"));
    }
    if let Some(problem) = &report.problem {
        println!("# smp: {problem}");
        why_fewer.push_str(&format!("; {problem}"));
    }
    if report.skipped > 0 {
        println!(
            "# smp: {} processor(s) beyond the kernel's limit not started",
            report.skipped
        );
    }
    CpusOnline {
        online: report.online,
        why_fewer,
    }
}

/// Prints the boot banner: CPU, platform, memory.
fn boot_report(info: &BootInfo, heap: memory::Region, extra_regions: usize) {
    let mut buf = [0u8; 48];
    let platform = cpu::Platform::detect();
    println!(
        "# cpu: {} ({}), avx state {}",
        cpu::brand(&mut buf),
        platform.name(),
        if cpu::avx_enabled() { "on" } else { "off" }
    );
    let image = memory::kernel_image();
    println!(
        "# kernel image {:#x}..{:#x}, heap {:#x}..{:#x} ({} MiB), start info v{}: {} e820 entries, rsdp {:#x}",
        image.start,
        image.end(),
        heap.start,
        heap.end(),
        heap.len >> 20,
        info.version,
        info.memmap().len(),
        info.rsdp
    );
    println!("# heap: {extra_regions} further usable range(s) given to the pool");
    println!("# cmdline: `{}`", info.cmdline());
}
