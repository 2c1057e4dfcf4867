//! IDT for the 32 CPU exception vectors: naked entry stubs that save the registers and call
//! [`exception_report`], which prints `# EXCEPTION ...` lines and exits with the crash code.
//!
//! Stacks ([`crate::stacks::Ist`]): #DF, NMI and #MC each have an IST stack of their own, so a
//! fault while reporting another, or an NMI during a fault, never overwrites a live frame.
//! Other exceptions run on the interrupted stack: they never return, so the red zone they may
//! overwrite is dead, and a kernel stack overflow (a #PF that cannot push its frame) becomes
//! a #DF, reported as an overflow from its guard page ([`crate::stacks::guard_hit`]).
//! The three external interrupts that return — the watchdog timer ([`crate::watchdog`]),
//! the wake-up IPI ([`WAKE_VECTOR`]) and the LAPIC's spurious vector — share the IRQ IST
//! stack (interrupt gates keep IF clear, so they never nest). Every other vector above 31 is
//! not present (#NP or #GP, reported with the vector in the error code).

use crate::stacks::Ist;
use core::arch::naked_asm;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::tables::lidt;
use x86_64::registers::control::Cr2;
use x86_64::structures::DescriptorTablePointer;
use x86_64::structures::idt::Entry;

/// Registers saved by the entry stubs, lowest address first.
#[repr(C)]
#[derive(Debug)]
pub struct ExceptionFrame {
    r15: u64,
    r14: u64,
    r13: u64,
    r12: u64,
    r11: u64,
    r10: u64,
    r9: u64,
    r8: u64,
    rbp: u64,
    rdi: u64,
    rsi: u64,
    rdx: u64,
    rcx: u64,
    rbx: u64,
    rax: u64,
    vector: u64,
    error_code: u64,
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
}

// The stubs push, from high to low: ss..rip (CPU), error code, vector, then rax first and r15
// last; the frame must match that order.
const _: () = {
    use core::mem::offset_of;
    assert!(offset_of!(ExceptionFrame, r15) == 0);
    assert!(offset_of!(ExceptionFrame, rax) == 14 * 8);
    assert!(offset_of!(ExceptionFrame, vector) == 15 * 8);
    assert!(offset_of!(ExceptionFrame, error_code) == 16 * 8);
    assert!(offset_of!(ExceptionFrame, rip) == 17 * 8);
    assert!(offset_of!(ExceptionFrame, ss) == 21 * 8);
};

/// Shared tail of the entry stubs: saves the general registers and calls the reporter with
/// a pointer to the [`ExceptionFrame`] on a 16-byte-aligned stack.
#[unsafe(naked)]
extern "C" fn exception_common() {
    naked_asm!(
        "push rax", "push rbx", "push rcx", "push rdx", "push rsi", "push rdi", "push rbp",
        "push r8", "push r9", "push r10", "push r11", "push r12", "push r13", "push r14",
        "push r15",
        "mov rdi, rsp",
        "and rsp, -16",
        "cld",
        "call {report}",
        "ud2",
        report = sym exception_report,
    );
}

/// Defines one naked entry stub per vector: pushes a dummy error code when the CPU pushes
/// none, then the vector number, and jumps to [`exception_common`].
macro_rules! stubs {
    ($( $name:ident = $vector:literal, $has_error:literal; )*) => {
        $(
            #[unsafe(naked)]
            extern "C" fn $name() {
                naked_asm!(
                    ".if {has_error} == 0",
                    "push 0",
                    ".endif",
                    "push {vector}",
                    "jmp {common}",
                    has_error = const $has_error,
                    vector = const $vector,
                    common = sym exception_common,
                );
            }
        )*
        /// Entry stubs, indexed by vector.
        const STUBS: [extern "C" fn(); 32] = [$($name),*];
    };
}

stubs! {
    stub_0 = 0, 0; stub_1 = 1, 0; stub_2 = 2, 0; stub_3 = 3, 0; stub_4 = 4, 0; stub_5 = 5, 0;
    stub_6 = 6, 0; stub_7 = 7, 0; stub_8 = 8, 1; stub_9 = 9, 0; stub_10 = 10, 1;
    stub_11 = 11, 1; stub_12 = 12, 1; stub_13 = 13, 1; stub_14 = 14, 1; stub_15 = 15, 0;
    stub_16 = 16, 0; stub_17 = 17, 1; stub_18 = 18, 0; stub_19 = 19, 0; stub_20 = 20, 0;
    stub_21 = 21, 1; stub_22 = 22, 0; stub_23 = 23, 0; stub_24 = 24, 0; stub_25 = 25, 0;
    stub_26 = 26, 0; stub_27 = 27, 0; stub_28 = 28, 0; stub_29 = 29, 1; stub_30 = 30, 1;
    stub_31 = 31, 0;
}

/// Mnemonics of the exception vectors.
const NAMES: [&str; 32] = [
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor segment overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    "reserved 15",
    "#MF x87 floating point",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD floating point",
    "#VE virtualization",
    "#CP control protection",
    "reserved 22",
    "reserved 23",
    "reserved 24",
    "reserved 25",
    "reserved 26",
    "reserved 27",
    "#HV hypervisor injection",
    "#VC VMM communication",
    "#SX security",
    "reserved 31",
];

/// Vector of the IPI that wakes an idle application processor.
pub const WAKE_VECTOR: u8 = 0x40;
/// Vector of the BSP's LAPIC timer (the per-test watchdog).
pub const TIMER_VECTOR: u8 = 0x41;
/// Gates in the IDT: exceptions, then up to the LAPIC spurious vector.
const IDT_LEN: usize = crate::lapic::SPURIOUS_VECTOR as usize + 1;

/// Address of the LAPIC EOI register for the wake stub (set by [`set_eoi_address`]).
pub(crate) static EOI_ADDRESS: AtomicU64 = AtomicU64::new(0);

/// Tells the wake stub where the LAPIC EOI register is.
pub fn set_eoi_address(addr: u64) {
    EOI_ADDRESS.store(addr, Ordering::Release);
}

/// Wake-up IPI: acknowledge (EOI) and return to the interrupted `hlt`.
#[unsafe(naked)]
extern "C" fn wake_stub() {
    naked_asm!(
        "push rax",
        "mov rax, qword ptr [rip + {eoi}]",
        "mov dword ptr [rax], 0",
        "pop rax",
        "iretq",
        eoi = sym EOI_ADDRESS,
    );
}

/// Spurious LAPIC interrupt: no EOI, just return.
#[unsafe(naked)]
extern "C" fn spurious_stub() {
    naked_asm!("iretq");
}

/// The IDT, built once.
#[repr(C, align(16))]
struct Idt([Entry<()>; IDT_LEN]);

static IDT: Once<Idt> = Once::new();

/// Builds the IDT (first call) and loads it on this CPU. Call after the GDT is loaded (the
/// gates take the current CS).
pub fn load() {
    let idt = IDT.call_once(|| {
        let mut idt = Idt([const { Entry::missing() }; IDT_LEN]);
        let extra: [(u8, extern "C" fn()); 3] = [
            (WAKE_VECTOR, wake_stub),
            (TIMER_VECTOR, crate::watchdog::timer_stub),
            (crate::lapic::SPURIOUS_VECTOR, spurious_stub),
        ];
        for (vector, stub) in extra {
            let entry = &mut idt.0[usize::from(vector)];
            // SAFETY: the stub preserves every register, returns with `iretq` (or never
            // returns) and is entered only as an external interrupt (no error code).
            let options = unsafe { entry.set_handler_addr(VirtAddr::new(stub as usize as u64)) };
            // SAFETY: IST slot filled in every CPU's TSS before its IDT is loaded.
            unsafe { options.set_stack_index(Ist::Irq.slot()) };
        }
        for (vector, (entry, stub)) in idt.0.iter_mut().zip(STUBS).enumerate() {
            // SAFETY: `stub` is a naked entry stub that follows the exception calling
            // convention for this vector (error code handled per vector) and never returns.
            let options = unsafe { entry.set_handler_addr(VirtAddr::new(stub as usize as u64)) };
            let ist = match vector {
                2 => Some(Ist::Nmi),
                8 => Some(Ist::DoubleFault),
                18 => Some(Ist::MachineCheck),
                _ => None,
            };
            if let Some(ist) = ist {
                // SAFETY: the IST slots are filled with valid stacks in every CPU's TSS
                // before its IDT is loaded (see `gdt::CpuTables::load`).
                unsafe { options.set_stack_index(ist.slot()) };
            }
        }
        idt
    });
    let pointer = DescriptorTablePointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: VirtAddr::from_ptr(idt),
    };
    // SAFETY: `idt` is a `'static` table of valid or not-present gates, never modified again.
    unsafe { lidt(&pointer) };
}

/// What a faulting address means, for the report's first line.
#[derive(Clone, Copy, Debug)]
enum FaultKind {
    /// A stack ran into its guard page.
    StackOverflow { cpu: usize, stack: &'static str },
    /// An access to page 0.
    NullDeref(u64),
}

impl core::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FaultKind::StackOverflow { cpu, stack } => {
                write!(
                    f,
                    "stack overflow: cpu {cpu}'s {stack} ran into its guard page"
                )
            }
            FaultKind::NullDeref(addr) => write!(f, "null pointer dereference (address {addr:#x})"),
        }
    }
}

/// Classifies a #PF (or the #PF behind a #DF) by its CR2.
fn fault_kind(vector: usize, cr2: u64) -> Option<FaultKind> {
    if vector != 8 && vector != 14 {
        return None;
    }
    if let Some((cpu, stack)) = crate::stacks::guard_hit(cr2) {
        return Some(FaultKind::StackOverflow { cpu, stack });
    }
    (vector == 14 && cr2 < 4096).then_some(FaultKind::NullDeref(cr2))
}

/// A [`FaultKind`] or the vector's name.
enum What {
    Kind(FaultKind),
    Name(&'static str),
}

impl core::fmt::Display for What {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            What::Kind(kind) => kind.fmt(f),
            What::Name(name) => f.write_str(name),
        }
    }
}

/// Prints the exception report and exits with the crash code. Runs on the interrupted stack
/// (or the vector's IST stack); a fault inside it is caught by [`crate::fatal`]'s nesting
/// guard.
extern "C" fn exception_report(frame: &ExceptionFrame) -> ! {
    let vector = frame.vector as usize;
    let name = NAMES.get(vector).copied().unwrap_or("?");
    let cpu = crate::percpu::current_cpu_index();
    let cr2 = Cr2::read_raw();
    let what = match fault_kind(vector, cr2) {
        Some(kind) => What::Kind(kind),
        None => What::Name(name),
    };
    crate::fatal::report_and_exit(
        format_args!("{what} on cpu {cpu}"),
        format_args!(
            "# EXCEPTION: vector {vector} ({name}) on cpu {cpu}: {what}\n\
             # EXCEPTION: error code {:#x}, RIP {:#018x}, CS {:#x}, RFLAGS {:#x}, RSP {:#018x}\n\
             # EXCEPTION: CR2 {cr2:#018x}{}\n\
             # EXCEPTION: rax {:#x} rbx {:#x} rcx {:#x} rdx {:#x} rsi {:#x} rdi {:#x} rbp {:#x}\n",
            frame.error_code,
            frame.rip,
            frame.cs,
            frame.rflags,
            frame.rsp,
            match vector {
                14 => " (faulting address)",
                8 => " (address of the last page fault)",
                _ => " (not a page fault)",
            },
            frame.rax,
            frame.rbx,
            frame.rcx,
            frame.rdx,
            frame.rsi,
            frame.rdi,
            frame.rbp,
        ),
    )
}
