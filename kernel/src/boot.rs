//! PVH entry: the ELF note QEMU looks for, and the 32-bit stub that reaches Rust in long mode.
//!
//! QEMU's `-kernel` loads this ELF at its link address (1 MiB) and, finding the Xen PVH note
//! (owner `Xen`, type 18 = `XEN_ELFNOTE_PHYS32_ENTRY`), jumps to [`pvh_start32`] in 32-bit
//! protected mode with paging off and `%ebx` = physical address of `hvm_start_info`.
//!
//! The stub, before the first Rust instruction (the prebuilt `core` uses SSE2):
//! 1. zeroes `.bss` (page tables and the boot stack live there);
//! 2. checks CPUID for long mode (reports on COM1 and exits with the crash code if missing);
//! 3. builds identity page tables for the first 4 GiB with 2 MiB pages (RAM, LAPIC, IOAPIC);
//!    [`crate::paging`] later splits the kernel's part into 4 KiB pages with permissions;
//! 4. switches to long mode with the constants of [`crate::longmode`] (shared with the AP
//!    trampoline): CR4.PAE|MCE, EFER.LME|NXE, CR0 = PE|MP|ET|NE|WP|PG, far jump to 64-bit;
//! 5. enables SSE (CR4.OSFXSR|OSXMMEXCPT) and, when CPUID reports XSAVE, CR4.OSXSAVE and
//!    XCR0 = x87|SSE, plus AVX state when CPUID reports AVX;
//! 6. calls `kmain(start_info_phys)` on the boot stack.
//!
//! [`cpu_enable_simd`] (steps 5) is also used by the application processors.

use crate::longmode;
use core::arch::global_asm;

/// Size of the bootstrap processor's stack.
pub const BOOT_STACK_SIZE: usize = 64 * 1024;

/// Number of 2 MiB page-directory entries: 4 GiB identity-mapped.
pub const IDENTITY_MAP_GIB: usize = 4;

unsafe extern "C" {
    /// First byte of the kernel image (linker script).
    pub static __kernel_start: u8;
    /// One past the last byte of the kernel image, `.bss` included (linker script).
    pub static __kernel_end: u8;
    /// First byte of `.text` (linker script).
    pub static __text_start: u8;
    /// One past the last byte of `.text` (linker script).
    pub static __text_end: u8;
    /// One past the last byte of `.rodata` (linker script; `.data` starts on the next page).
    pub static __rodata_end: u8;
    /// The page below the BSP's boot stack, left unmapped (boot stub).
    pub static boot_stack_guard: u8;
    /// The boot page directories: [`IDENTITY_MAP_GIB`] tables of 512 2 MiB entries (boot stub).
    pub static mut boot_pd: [u64; 512 * IDENTITY_MAP_GIB];
}

global_asm!(
    r##"
    .section .note.Xen, "a", @note
    .p2align 2
    .long 4                 /* namesz: "Xen\0" */
    .long 4                 /* descsz */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .p2align 2
    .long pvh_start32
    .p2align 2

    .section .bss.boot, "aw", @nobits
    .p2align 12
    .global boot_pml4
    .global boot_pd
    .global boot_stack_guard
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4096 * {gib}
    .p2align 12
boot_stack_guard:                       /* unmapped by crate::paging: overflow faults */
    .skip 4096
boot_stack_bottom:
    .skip {stack}
boot_stack_top:

    .section .rodata.boot, "a"
    .p2align 3
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* {code64}: 64-bit code, DPL 0 */
    .quad 0x00CF92000000FFFF    /* {data}: data, DPL 0 */
boot_gdt_end:
    .p2align 1
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt
boot_no_lm_msg:
    .ascii "# PANIC: CPU has no long mode (CPUID 0x80000001 EDX.LM)\n"
boot_no_lm_msg_end:

    .section .text.boot32, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld
    mov esi, ebx                        /* keep hvm_start_info */

    /* 1. zero .bss */
    mov edi, offset __bss_start
    mov ecx, offset __bss_end
    sub ecx, edi
    xor eax, eax
    rep stosb

    mov esp, offset boot_stack_top

    /* 2. long mode available? */
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb 90f
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29
    jz 90f

    /* 3. identity map 0..4 GiB with 2 MiB pages */
    mov eax, offset boot_pdpt
    or eax, 0x3
    mov [boot_pml4], eax
    mov edi, offset boot_pdpt
    mov eax, offset boot_pd
    or eax, 0x3
    mov ecx, {gib}
2:
    mov [edi], eax
    add eax, 4096
    add edi, 8
    dec ecx
    jnz 2b
    mov edi, offset boot_pd
    xor eax, eax                        /* low dword of the physical address */
    xor edx, edx                        /* high dword */
    mov ecx, 512 * {gib}
3:
    mov ebx, eax
    or ebx, 0x83                        /* present | writable | 2 MiB page */
    mov [edi], ebx
    mov [edi + 4], edx
    add eax, 0x200000
    adc edx, 0
    add edi, 8
    dec ecx
    jnz 3b

    /* 4. PAE, LME, paging, protected mode, far jump to 64-bit code */
    mov eax, offset boot_pml4
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
    lgdt [boot_gdt_ptr]
    .byte 0xea                          /* ljmp code64:10f (ptr16:32) */
    .long 10f
    .word {code64}

    /* no long mode: report on COM1, exit through isa-debug-exit with the crash code */
90:
    mov esi, offset boot_no_lm_msg
    mov ecx, offset boot_no_lm_msg_end
    sub ecx, esi
    mov dx, 0x3f8
    rep outsb
    mov dx, {exit_port}
    mov eax, {exit_crashed}
    out dx, eax
91:
    hlt
    jmp 91b

    .code64
10:
    mov ax, {data}
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    lea rsp, [rip + boot_stack_top]
    call {enable_simd}
    mov edi, esi                        /* kmain(start_info_phys) */
    xor ebp, ebp
    call {kmain}
11:
    cli
    hlt
    jmp 11b

    .text
    "##,
    gib = const IDENTITY_MAP_GIB,
    stack = const BOOT_STACK_SIZE,
    cr4_bits = const longmode::CR4_BITS,
    msr_efer = const longmode::MSR_EFER,
    efer_bits = const longmode::EFER_BITS,
    cr0_value = const longmode::CR0_VALUE,
    code64 = const longmode::BOOT_CODE64_SELECTOR,
    data = const longmode::BOOT_DATA_SELECTOR,
    exit_port = const ktap_abi::EXIT_PORT,
    exit_crashed = const ktap_abi::ExitCode::Crashed as u32,
    enable_simd = sym cpu_enable_simd,
    kmain = sym crate::kmain,
);

/// Switches on SSE (CR4.OSFXSR/OSXMMEXCPT) and, when the CPU has them, XSAVE and AVX state
/// (CR4.OSXSAVE, XCR0 = x87|SSE[|AVX]). Uses no stack beyond its return address and touches
/// only rax, rbx, rcx, rdx (all caller-saved in this usage except rbx, which it restores), so
/// it can run before any Rust code, on the BSP and on each AP.
#[unsafe(naked)]
pub extern "C" fn cpu_enable_simd() {
    core::arch::naked_asm!(
        "push rbx",
        "mov rax, cr0",
        "and eax, ~((1 << 2) | (1 << 3))", // EM, TS clear
        "or eax, (1 << 1) | (1 << 5)",     // MP, NE
        "mov cr0, rax",
        "mov rax, cr4",
        "or eax, (1 << 9) | (1 << 10)", // OSFXSR | OSXMMEXCPT
        "mov cr4, rax",
        "fninit",
        "mov eax, 1",
        "xor ecx, ecx",
        "cpuid",
        "test ecx, 1 << 26", // XSAVE
        "jz 2f",
        "mov rax, cr4",
        "or eax, 1 << 18", // OSXSAVE
        "mov cr4, rax",
        "mov eax, 3",        // x87 | SSE
        "test ecx, 1 << 28", // AVX
        "jz 1f",
        "or eax, 4", // | AVX (YMM upper halves)
        "1:",
        "xor ecx, ecx",
        "xor edx, edx",
        "xsetbv",
        "2:",
        "pop rbx",
        "ret",
    );
}
