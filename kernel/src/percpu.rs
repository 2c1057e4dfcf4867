//! Per-CPU data reached through the GS base, and the pool's CPU hook built on it.
//!
//! Each CPU's `IA32_GS_BASE` points at its [`PerCpu`] block, set before that CPU runs any
//! code that allocates or can panic: the BSP at the top of `kmain`, an AP at the top of its
//! Rust entry. `gs:[8]` is then the CPU's index (0 = BSP, then MADT order).

use core::arch::asm;
use x86_64::VirtAddr;
use x86_64::registers::model_specific::GsBase;

/// A CPU's private block. `#[repr(C)]`: the `index` field is read at `gs:[8]`.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct PerCpu {
    /// Address of this block (so `gs:[0]` yields a pointer to it).
    self_addr: u64,
    /// Dense CPU index (0 = BSP).
    pub index: usize,
    /// Local APIC ID.
    pub apic_id: u32,
}

impl PerCpu {
    /// A block for CPU `index` with APIC ID `apic_id`.
    pub const fn new(index: usize, apic_id: u32) -> Self {
        Self {
            self_addr: 0,
            index,
            apic_id,
        }
    }
}

/// Points this CPU's GS base at `block`.
pub fn install(block: &'static mut PerCpu) {
    block.self_addr = block as *const PerCpu as u64;
    GsBase::write(VirtAddr::new(block.self_addr));
}

/// Index of the running CPU (0 = bootstrap processor).
#[inline]
pub fn current_cpu_index() -> usize {
    let index: usize;
    // SAFETY: every CPU installs its `PerCpu` (GS base) before running code that calls this
    // (see the module docs); `gs:[8]` is then its `index` field, never written after install.
    unsafe {
        asm!("mov {}, qword ptr gs:[8]", out(reg) index, options(nostack, readonly, preserves_flags));
    }
    index
}

/// This CPU's block.
pub fn current() -> &'static PerCpu {
    let addr: u64;
    // SAFETY: as in `current_cpu_index`; `gs:[0]` holds the block's own address.
    unsafe {
        asm!("mov {}, qword ptr gs:[0]", out(reg) addr, options(nostack, readonly, preserves_flags));
    }
    // SAFETY: the block is `'static` (installed from a `&'static mut` and never mutated again).
    unsafe { &*(addr as *const PerCpu) }
}

/// The pool's "which CPU am I" hook: the CPU index from the per-CPU block, claimed with
/// interrupts disabled.
///
/// # Interrupt story
/// `pin` saves the interrupt flag and disables interrupts; `unpin` restores it. While a cache
/// is pinned nothing else can run on this CPU (the kernel has no preemption, and no interrupt
/// handler allocates: the only ones that can fire at all are the idle wake-up IPI, the
/// spurious vector and the BSP's watchdog timer, whose stubs touch no memory but the LAPIC
/// and two atomics, or end the run), and no other CPU uses the same
/// index (each CPU reads its own index from its own GS base). Exceptions and panics do not
/// allocate either (their reports are formatted straight to the serial port).
#[derive(Debug, Clone, Copy)]
pub struct KernelCpuHook;

// SAFETY: index `i` is returned only on CPU `i` (its GS-based block), and only with interrupts
// disabled until `unpin`; nothing else runs on that CPU meanwhile (see the type's docs).
unsafe impl alloc_pool::CpuHook for KernelCpuHook {
    type Token = bool;

    #[inline]
    fn pin() -> Option<(usize, bool)> {
        let was_enabled = x86_64::instructions::interrupts::are_enabled();
        x86_64::instructions::interrupts::disable();
        Some((current_cpu_index(), was_enabled))
    }

    #[inline]
    fn unpin(was_enabled: bool) {
        if was_enabled {
            x86_64::instructions::interrupts::enable();
        }
    }
}
