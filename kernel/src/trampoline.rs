//! Real-mode trampoline for the application processors.
//!
//! The code between `trampoline_start` and `trampoline_end` is copied to [`TRAMPOLINE_PHYS`]
//! (below 1 MiB, page aligned) and an AP's start-up IPI points there. It runs 16-bit real mode
//! → 32-bit protected mode → long mode with the BSP's page tables, takes its stack, CPU index
//! and entry from the data slots the BSP filled in, switches SSE/AVX on
//! ([`crate::boot::cpu_enable_simd`]) and calls the Rust AP entry. All addresses inside are
//! absolute (`TRAMPOLINE_PHYS + offset`), since the copy runs away from its link address.

use crate::longmode;
use core::arch::global_asm;

/// Physical address the trampoline is copied to (SIPI vector 0x08).
pub const TRAMPOLINE_PHYS: usize = 0x8000;
/// The trampoline GDT's 32-bit code segment (the other selectors are [`longmode`]'s).
const CODE32_SELECTOR: u16 = 0x18;

unsafe extern "C" {
    static trampoline_start: u8;
    static trampoline_end: u8;
    static trampoline_cr3: u8;
    static trampoline_stack: u8;
    static trampoline_arg: u8;
}

global_asm!(
    r##"
    .section .rodata.trampoline, "a"
    .p2align 12
    .global trampoline_start
    .global trampoline_end
    .global trampoline_cr3
    .global trampoline_stack
    .global trampoline_arg
    .code16
trampoline_start:
    cli
    cld
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    lgdt [abs_tr_gdt_ptr]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    .byte 0x66, 0xea                    /* ljmp code32:tr_pm32 (32-bit offset) */
    .long {tb} + (tr_pm32 - trampoline_start)
    .word {code32}

    .code32
tr_pm32:
    mov ax, {data}
    mov ds, ax
    mov es, ax
    mov ss, ax
    /* the long-mode switch, with the boot stub's constants (crate::longmode) */
    mov eax, dword ptr [abs_trampoline_cr3]
    mov cr3, eax
    mov eax, cr4
    or eax, {cr4_bits}
    mov cr4, eax
    mov ecx, {msr_efer}
    rdmsr
    or eax, {efer_bits}
    wrmsr
    mov eax, {cr0_value}
    mov cr0, eax
    .byte 0xea                          /* ljmp code64:tr_lm64 */
    .long {tb} + (tr_lm64 - trampoline_start)
    .word {code64}

    .code64
tr_lm64:
    mov ax, {data}
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov rsp, qword ptr [abs_trampoline_stack]
    movabs rax, offset {enable_simd}
    call rax
    mov rdi, qword ptr [abs_trampoline_arg]
    xor ebp, ebp
    movabs rax, offset {entry}
    call rax
2:
    cli
    hlt
    jmp 2b

    .p2align 3
tr_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF            /* {code64}: 64-bit code (as in the boot stub's GDT) */
    .quad 0x00CF92000000FFFF            /* {data}: data */
    .quad 0x00CF9A000000FFFF            /* {code32}: 32-bit code */
tr_gdt_ptr:
    .word 31
    .long {tb} + (tr_gdt - trampoline_start)
    .p2align 3
trampoline_cr3:
    .quad 0
trampoline_stack:
    .quad 0
trampoline_arg:
    .quad 0
trampoline_end:
    .set abs_tr_gdt_ptr, {tb} + (tr_gdt_ptr - trampoline_start)
    .set abs_trampoline_arg, {tb} + (trampoline_arg - trampoline_start)
    .set abs_trampoline_cr3, {tb} + (trampoline_cr3 - trampoline_start)
    .set abs_trampoline_stack, {tb} + (trampoline_stack - trampoline_start)
    .text
    "##,
    tb = const TRAMPOLINE_PHYS,
    code32 = const CODE32_SELECTOR,
    code64 = const longmode::BOOT_CODE64_SELECTOR,
    data = const longmode::BOOT_DATA_SELECTOR,
    cr4_bits = const longmode::CR4_BITS,
    msr_efer = const longmode::MSR_EFER,
    efer_bits = const longmode::EFER_BITS,
    cr0_value = const longmode::CR0_VALUE,
    enable_simd = sym crate::boot::cpu_enable_simd,
    entry = sym crate::smp::ap_entry,
);

/// Offsets of the data slots inside the trampoline, and its length.
struct Layout {
    len: usize,
    cr3: usize,
    stack: usize,
    arg: usize,
}

fn layout() -> Layout {
    let start = core::ptr::addr_of!(trampoline_start) as usize;
    let off = |p: *const u8| p as usize - start;
    Layout {
        len: off(core::ptr::addr_of!(trampoline_end)),
        cr3: off(core::ptr::addr_of!(trampoline_cr3)),
        stack: off(core::ptr::addr_of!(trampoline_stack)),
        arg: off(core::ptr::addr_of!(trampoline_arg)),
    }
}

/// Copies the trampoline code to [`TRAMPOLINE_PHYS`].
///
/// # Safety
/// The page at [`TRAMPOLINE_PHYS`] must be usable RAM that nothing else uses, and no AP may be
/// executing the trampoline.
pub unsafe fn install() {
    let l = layout();
    assert!(l.len <= 4096, "trampoline larger than a page");
    // SAFETY: the source is the trampoline in the kernel image (`l.len` bytes); the
    // destination page is free RAM per the caller's contract and does not overlap the image.
    unsafe {
        core::ptr::copy_nonoverlapping(
            core::ptr::addr_of!(trampoline_start),
            TRAMPOLINE_PHYS as *mut u8,
            l.len,
        );
    }
}

/// Fills the slots the next AP reads: page-table root, stack top, argument (CPU index).
///
/// # Safety
/// [`install`] must have run, and no AP may be between its start-up IPI and its arrival in
/// Rust (the slots are read by exactly one AP at a time).
pub unsafe fn set_slots(cr3: u64, stack_top: u64, arg: u64) {
    let l = layout();
    let base = TRAMPOLINE_PHYS as *mut u8;
    // SAFETY: the slots are 8-byte aligned u64s inside the installed trampoline page
    // (offsets from the layout); no AP reads them concurrently (caller's contract).
    unsafe {
        base.add(l.cr3).cast::<u64>().write_volatile(cr3);
        base.add(l.stack).cast::<u64>().write_volatile(stack_top);
        base.add(l.arg).cast::<u64>().write_volatile(arg);
    }
}
