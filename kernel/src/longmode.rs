//! The control-register values of the switch to long mode, shared by the BSP's boot stub
//! ([`crate::boot`]) and the APs' trampoline ([`crate::trampoline`]) so the two cannot drift.
//!
//! Both paths do the same four steps with these constants: load CR3, `CR4 |= CR4_BITS`,
//! `EFER |= EFER_BITS` (MSR [`MSR_EFER`]), `CR0 = CR0_VALUE`, then a far jump to a 64-bit code
//! segment. EFER.NXE is on from the start because [`crate::paging`] marks data non-executable
//! in the page tables every AP enables paging with (an NX bit with NXE clear is a reserved-bit
//! page fault).

#![deny(unsafe_code)]

/// The EFER model-specific register.
pub const MSR_EFER: u32 = 0xC000_0080;
/// EFER.LME (long mode enable).
pub const EFER_LME: u32 = 1 << 8;
/// EFER.NXE (no-execute page-table bit enable).
pub const EFER_NXE: u32 = 1 << 11;
/// EFER bits set by the switch.
pub const EFER_BITS: u32 = EFER_LME | EFER_NXE;

/// CR4.PAE (required by long mode).
pub const CR4_PAE: u32 = 1 << 5;
/// CR4.MCE (machine checks raise #MC instead of shutting the machine down).
pub const CR4_MCE: u32 = 1 << 6;
/// CR4 bits set by the switch.
pub const CR4_BITS: u32 = CR4_PAE | CR4_MCE;

/// CR0: PG | WP | NE | ET | MP | PE, with EM and TS clear (x87/SSE usable, kernel writes
/// honour read-only pages).
pub const CR0_VALUE: u32 = 0x8001_0033;

/// GDT selector of the 64-bit code segment in both early GDTs.
pub const BOOT_CODE64_SELECTOR: u16 = 0x08;
/// GDT selector of the flat data segment in both early GDTs.
pub const BOOT_DATA_SELECTOR: u16 = 0x10;
