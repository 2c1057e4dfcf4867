/* The smallest guest the runner accepts: a PVH ELF note, a KTAP report on COM1, the success
 * code on the isa-debug-exit port. QEMU enters _start in 32-bit protected mode, paging off.
 *
 *   as --32 -o minimal-guest.o minimal-guest.S
 *   ld -m elf_i386 -Ttext=0x100000 -o minimal-guest.elf minimal-guest.o
 *   cargo run -p qemu --release -- --kernel minimal-guest.elf      # PASSED, exit 0
 */
    .section .note.Xen, "a", @note
    .p2align 2
    .long 4                     /* namesz: "Xen\0" */
    .long 4                     /* descsz */
    .long 18                    /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .p2align 2
    .long _start                /* 32-bit physical entry point */

    .text
    .code32
    .globl _start
_start:
    mov $report, %esi           /* COM1 works unprogrammed under QEMU; real UARTs need setup */
    mov $(report_end - report), %ecx
    mov $0x3f8, %dx
    rep outsb
    mov $0xf4, %dx              /* isa-debug-exit: QEMU exits with (0x10 << 1) | 1 = 33 */
    mov $0x10, %eax
    out %eax, %dx
1:  hlt
    jmp 1b

report:
    .ascii "KTAP version 1\n"
    .ascii "1..1\n"
    .ascii "    KTAP version 1\n"
    .ascii "    # Subtest: example\n"
    .ascii "    1..1\n"
    .ascii "    ok 1 hello\n"
    .ascii "ok 1 example\n"
report_end:
