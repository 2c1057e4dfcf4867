//! Page permissions on top of the boot stub's identity map: page 0 and every stack guard page
//! unmapped, kernel code read-only and executable, read-only data read-only, everything else
//! (data, heap, MMIO) writable and non-executable.
//!
//! The boot stub maps 4 GiB with 2 MiB pages. [`protect`] replaces the 2 MiB entries that
//! cover the kernel image (from address 0) with 4 KiB page tables from `.bss`, and sets the NX
//! bit on every other 2 MiB entry. It runs once on the BSP, before any AP starts; the APs
//! use the same tables (the trampoline enables EFER.NXE, see [`crate::longmode`]).
//! The real-mode trampoline page stays writable and executable: APs execute it.

use crate::boot::{__kernel_end, __kernel_start, __rodata_end, __text_end, __text_start};
use crate::longmode::{EFER_NXE, MSR_EFER};
use core::cell::UnsafeCell;
use x86_64::registers::model_specific::Msr;

const PRESENT: u64 = 1;
const WRITABLE: u64 = 1 << 1;
const NO_EXECUTE: u64 = 1 << 63;
const TWO_MIB: u64 = 2 << 20;
const PAGE: u64 = 4096;

/// Most 2 MiB regions split into 4 KiB pages (the kernel image must end below 16 MiB).
const MAX_SPLIT: usize = 8;

#[repr(C, align(4096))]
struct Tables(UnsafeCell<[[u64; 512]; MAX_SPLIT]>);

// SAFETY: written only by `protect`, once, on the BSP before any other CPU runs; afterwards
// only the MMU reads them.
unsafe impl Sync for Tables {}

static TABLES: Tables = Tables(UnsafeCell::new([[0; 512]; MAX_SPLIT]));

/// The permissions of the 4 KiB page at `addr` inside the split regions.
fn page_entry(addr: u64) -> u64 {
    let addr_of = |p: *const u8| p as u64;
    let text = addr_of(core::ptr::addr_of!(__text_start))..addr_of(core::ptr::addr_of!(__text_end));
    let read_only =
        addr_of(core::ptr::addr_of!(__kernel_start))..addr_of(core::ptr::addr_of!(__rodata_end));
    let trampoline = crate::trampoline::TRAMPOLINE_PHYS as u64;
    if addr == 0 || crate::stacks::guard_hit(addr).is_some() {
        0
    } else if addr == trampoline {
        addr | PRESENT | WRITABLE
    } else if text.contains(&addr) {
        addr | PRESENT
    } else if read_only.contains(&addr) {
        addr | PRESENT | NO_EXECUTE
    } else {
        addr | PRESENT | WRITABLE | NO_EXECUTE
    }
}

/// Applies the permissions described in the module docs and flushes the TLB.
///
/// # Safety
/// Call once, on the BSP, before any AP starts, while the boot stub's page tables are live and
/// before anything runs on a guard page or relies on page 0.
pub unsafe fn protect() {
    let end = core::ptr::addr_of!(__kernel_end) as u64;
    let split = end.div_ceil(TWO_MIB) as usize;
    assert!(
        split <= MAX_SPLIT,
        "kernel image ends at {end:#x}, beyond the split tables"
    );
    // SAFETY: EFER.NXE only makes bit 63 of page-table entries meaningful; no entry has it yet.
    unsafe {
        let mut efer = Msr::new(MSR_EFER);
        let value = efer.read();
        efer.write(value | u64::from(EFER_NXE));
    }
    let tables = TABLES.0.get();
    let pd = core::ptr::addr_of_mut!(crate::boot::boot_pd).cast::<u64>();
    let pd_len = 512 * crate::boot::IDENTITY_MAP_GIB;
    for region in 0..pd_len {
        if region < split {
            // SAFETY: `region < MAX_SPLIT`; the tables are ours (see `Tables`), not yet in use.
            let table = unsafe { &mut (*tables)[region] };
            for (i, entry) in table.iter_mut().enumerate() {
                *entry = page_entry(region as u64 * TWO_MIB + i as u64 * PAGE);
            }
            // SAFETY: `pd` is the live boot page directory (`pd_len` entries); the new entry
            // maps the same physical range with narrower permissions, and nothing running
            // now touches page 0, a guard page or writes code/rodata.
            unsafe {
                pd.add(region)
                    .write_volatile(table.as_ptr() as u64 | PRESENT | WRITABLE)
            };
        } else {
            // SAFETY: as above; adds NX to a 2 MiB data/MMIO mapping (no code lives there).
            unsafe {
                let entry = pd.add(region);
                entry.write_volatile(entry.read_volatile() | NO_EXECUTE);
            }
        }
    }
    x86_64::instructions::tlb::flush_all();
}

/// The leaf entry mapping `addr` (a 2 MiB or 4 KiB page) in the live tables, `None` if a level
/// on the way is not present. For tests of the permissions above.
pub fn leaf_entry(addr: u64) -> Option<u64> {
    const HUGE: u64 = 1 << 7;
    let frame = |entry: u64| entry & 0x000f_ffff_ffff_f000;
    let read = |table: u64, index: u64| {
        // SAFETY: `table` is a page-table page from CR3 or a present non-leaf entry; all page
        // tables lie in the identity-mapped first 4 GiB and are readable; `index` < 512.
        unsafe { ((table + index * 8) as *const u64).read_volatile() }
    };
    let (pml4, _) = x86_64::registers::control::Cr3::read_raw();
    let pml4e = read(pml4.start_address().as_u64(), (addr >> 39) & 511);
    if pml4e & PRESENT == 0 {
        return None;
    }
    let pdpte = read(frame(pml4e), (addr >> 30) & 511);
    if pdpte & PRESENT == 0 {
        return None;
    }
    let pde = read(frame(pdpte), (addr >> 21) & 511);
    if pde & PRESENT == 0 {
        return None;
    }
    if pde & HUGE != 0 {
        return Some(pde);
    }
    let pte = read(frame(pde), (addr >> 12) & 511);
    (pte & PRESENT != 0).then_some(pte)
}

/// Whether a leaf entry allows writes.
pub fn writable(entry: u64) -> bool {
    entry & WRITABLE != 0
}

/// Whether a leaf entry forbids instruction fetches.
pub fn no_execute(entry: u64) -> bool {
    entry & NO_EXECUTE != 0
}
