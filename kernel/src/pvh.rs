//! The PVH `hvm_start_info` handed over in `%ebx`: magic, command line, RSDP, e820 memory map.
//!
//! Everything is copied into [`BootInfo`] at once, so the firmware's copies may be overwritten
//! later (the heap never covers them anyway: it lies above the kernel image).

/// `hvm_start_info.magic`.
pub const MAGIC: u32 = 0x336e_c578;
/// e820 type of usable RAM.
pub const E820_RAM: u32 = 1;
/// Memory map entries kept.
pub const MAX_MEMMAP: usize = 64;
/// Command-line bytes kept.
pub const MAX_CMDLINE: usize = 512;

/// `struct hvm_start_info` (Xen public header `arch-x86/hvm/start_info.h`), version >= 1.
#[repr(C)]
struct RawStartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
    memmap_paddr: u64,
    memmap_entries: u32,
    reserved: u32,
}

/// `struct hvm_memmap_table_entry`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MemmapEntry {
    /// Physical start.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// e820 type (1 = usable RAM).
    pub kind: u32,
    reserved: u32,
}

/// What the kernel keeps of the start info.
#[derive(Debug)]
pub struct BootInfo {
    /// Structure version (the memory map needs >= 1).
    pub version: u32,
    /// Physical address of the ACPI RSDP (0 if none).
    pub rsdp: u64,
    memmap: [MemmapEntry; MAX_MEMMAP],
    memmap_len: usize,
    /// Entries the firmware reported beyond [`MAX_MEMMAP`] (dropped).
    pub memmap_dropped: usize,
    cmdline: [u8; MAX_CMDLINE],
    cmdline_len: usize,
}

/// Why the start info could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartInfoError {
    /// `%ebx` was 0.
    Null,
    /// Wrong magic (not booted through PVH?).
    BadMagic(u32),
    /// Version 0 carries no memory map.
    NoMemoryMap,
}

impl BootInfo {
    /// Copies the start info at physical address `phys` (identity-mapped).
    ///
    /// # Safety
    /// `phys` must be the `%ebx` value of a PVH entry: either 0 or the address of a readable
    /// `hvm_start_info` whose command line and memory map pointers, when non-zero, point to
    /// readable memory in the identity-mapped first 4 GiB.
    pub unsafe fn read(phys: u32) -> Result<Self, StartInfoError> {
        if phys == 0 {
            return Err(StartInfoError::Null);
        }
        let raw = phys as usize as *const RawStartInfo;
        // SAFETY: non-null and readable per the caller's contract; read_unaligned makes no
        // alignment assumption about where the firmware put it.
        let raw = unsafe { raw.read_unaligned() };
        if raw.magic != MAGIC {
            return Err(StartInfoError::BadMagic(raw.magic));
        }
        if raw.version < 1 || raw.memmap_paddr == 0 {
            return Err(StartInfoError::NoMemoryMap);
        }
        let mut info = BootInfo {
            version: raw.version,
            rsdp: raw.rsdp_paddr,
            memmap: [MemmapEntry::default(); MAX_MEMMAP],
            memmap_len: 0,
            memmap_dropped: 0,
            cmdline: [0; MAX_CMDLINE],
            cmdline_len: 0,
        };
        let entries = raw.memmap_entries as usize;
        info.memmap_len = entries.min(MAX_MEMMAP);
        info.memmap_dropped = entries - info.memmap_len;
        let table = raw.memmap_paddr as usize as *const MemmapEntry;
        for (i, slot) in info.memmap[..info.memmap_len].iter_mut().enumerate() {
            // SAFETY: the firmware's table holds `memmap_entries` entries (caller's contract);
            // `i` is below that count.
            *slot = unsafe { table.add(i).read_unaligned() };
        }
        if raw.cmdline_paddr != 0 {
            let s = raw.cmdline_paddr as usize as *const u8;
            let mut n = 0;
            while n < MAX_CMDLINE {
                // SAFETY: a NUL-terminated string (caller's contract); we stop at its NUL or
                // at MAX_CMDLINE bytes, never reading past the terminator.
                let b = unsafe { s.add(n).read() };
                if b == 0 {
                    break;
                }
                info.cmdline[n] = b;
                n += 1;
            }
            info.cmdline_len = n;
        }
        Ok(info)
    }

    /// The memory map.
    pub fn memmap(&self) -> &[MemmapEntry] {
        &self.memmap[..self.memmap_len]
    }

    /// The kernel command line (`-append`), lossy on invalid UTF-8 (then empty).
    pub fn cmdline(&self) -> &str {
        core::str::from_utf8(&self.cmdline[..self.cmdline_len]).unwrap_or("")
    }
}
