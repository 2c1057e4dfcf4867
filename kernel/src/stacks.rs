//! Every CPU's stacks, in one static block with an unmapped guard page below each stack, and
//! the lookup that turns a faulting address into "stack overflow of CPU n's <stack>".
//!
//! Layout per CPU (4 KiB pages): `[guard][kernel stack][guard][#DF][guard][NMI][guard][#MC]
//! [guard][IRQ]`. The BSP runs on the boot stub's stack (which has its own guard page,
//! `boot_stack_guard`), so CPU 0's kernel stack here is unused; its IST stacks are used.
//! [`crate::paging`] unmaps every guard page at boot, before any AP starts.
//!
//! # Stack overflow
//! `#PF` has no IST stack: a kernel stack overflow faults on the guard page, the CPU cannot
//! push the `#PF` frame on the overflowed stack, and escalates to `#DF`, which runs on its
//! own IST stack. The `#DF` (and `#PF`) reporter looks CR2 up with [`guard_hit`] and reports
//! the overflow by CPU and stack name.

use crate::acpi::MAX_CPUS;
use core::cell::UnsafeCell;

/// Bytes of a page (guard size).
pub const PAGE: usize = 4096;
/// Bytes of each AP's kernel stack.
pub const KERNEL_STACK_SIZE: usize = 128 * 1024;
/// Bytes of each IST stack.
pub const IST_STACK_SIZE: usize = 16 * 1024;

/// The interrupt-stack-table stacks, in TSS IST slot order (slot = index, 0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ist {
    /// Double fault (also where a kernel stack overflow is reported).
    DoubleFault = 0,
    /// Non-maskable interrupt.
    Nmi = 1,
    /// Machine check.
    MachineCheck = 2,
    /// External interrupts that return (watchdog timer, wake-up IPI, spurious): they may
    /// interrupt code that uses the red zone below `rsp`, so never on the interrupted stack.
    Irq = 3,
}

impl Ist {
    /// Every IST stack, in slot order.
    pub const ALL: [Ist; 4] = [Ist::DoubleFault, Ist::Nmi, Ist::MachineCheck, Ist::Irq];

    /// The TSS slot (0-based, as `set_stack_index` takes it).
    pub const fn slot(self) -> u16 {
        self as u16
    }

    fn name(self) -> &'static str {
        match self {
            Ist::DoubleFault => "#DF IST stack",
            Ist::Nmi => "NMI IST stack",
            Ist::MachineCheck => "#MC IST stack",
            Ist::Irq => "IRQ IST stack",
        }
    }
}

/// Offset of the kernel stack in a CPU's block (after its guard page).
const KERNEL_OFFSET: usize = PAGE;
/// Offset of the first IST stack's guard page.
const IST_OFFSET: usize = KERNEL_OFFSET + KERNEL_STACK_SIZE;
/// One IST stack with its guard page.
const IST_STRIDE: usize = PAGE + IST_STACK_SIZE;
/// Bytes per CPU.
const PER_CPU: usize = IST_OFFSET + Ist::ALL.len() * IST_STRIDE;

const _: () =
    assert!(KERNEL_STACK_SIZE.is_multiple_of(PAGE) && IST_STACK_SIZE.is_multiple_of(PAGE));

/// The stacks of every CPU; memory used only as stacks, through the addresses below.
#[repr(C, align(4096))]
struct Block(UnsafeCell<[u8; PER_CPU * MAX_CPUS]>);

// SAFETY: the block is never read or written through Rust references: each CPU only gets the
// addresses of its own stacks and uses them as its stack pointer.
unsafe impl Sync for Block {}

static STACKS: Block = Block(UnsafeCell::new([0; PER_CPU * MAX_CPUS]));

fn base(cpu: usize) -> u64 {
    assert!(cpu < MAX_CPUS, "cpu index {cpu} beyond MAX_CPUS");
    STACKS.0.get() as u64 + (cpu * PER_CPU) as u64
}

/// Top (initial `rsp`, 16-byte aligned) of CPU `cpu`'s kernel stack.
pub fn kernel_top(cpu: usize) -> u64 {
    base(cpu) + (KERNEL_OFFSET + KERNEL_STACK_SIZE) as u64
}

/// Top of CPU `cpu`'s IST stack `ist`.
pub fn ist_top(cpu: usize, ist: Ist) -> u64 {
    base(cpu) + (IST_OFFSET + ist as usize * IST_STRIDE + IST_STRIDE) as u64
}

/// If `addr` lies in a guard page: the CPU and the name of the stack that overflowed into it.
pub fn guard_hit(addr: u64) -> Option<(usize, &'static str)> {
    let boot = core::ptr::addr_of!(crate::boot::boot_stack_guard) as u64;
    if (boot..boot + PAGE as u64).contains(&addr) {
        return Some((0, "boot (BSP kernel) stack"));
    }
    let start = STACKS.0.get() as u64;
    let offset = usize::try_from(addr.checked_sub(start)?).ok()?;
    if offset >= PER_CPU * MAX_CPUS {
        return None;
    }
    let (cpu, within) = (offset / PER_CPU, offset % PER_CPU);
    if within < PAGE {
        return Some((cpu, "kernel stack"));
    }
    let ist = within.checked_sub(IST_OFFSET)?;
    (ist % IST_STRIDE < PAGE).then(|| (cpu, Ist::ALL[ist / IST_STRIDE].name()))
}
