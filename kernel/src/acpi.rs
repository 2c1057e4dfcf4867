//! Minimal ACPI: RSDP → RSDT/XSDT → MADT (local APICs) and FADT (PM timer port).
//!
//! Only what SMP bring-up and timing need. Every table is checksum-verified and must lie in the
//! identity-mapped first 4 GiB; anything else is a typed error.

use crate::memory::MAPPED_LIMIT;
use alloc::vec::Vec;

/// Most CPUs the kernel handles (the runner allows up to 8).
pub const MAX_CPUS: usize = 16;

/// Why the ACPI tables could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcpiError {
    /// The start info carried no RSDP.
    NoRsdp,
    /// A structure at this address is outside the mapped range.
    Unmapped(u64),
    /// A signature did not match.
    BadSignature(u64),
    /// A checksum did not add up to 0.
    BadChecksum(u64),
    /// No MADT ("APIC") in the RSDT/XSDT.
    NoMadt,
}

/// One processor from the MADT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Processor {
    /// Local APIC ID (the INIT-SIPI target).
    pub apic_id: u32,
    /// ACPI processor UID.
    pub uid: u32,
}

/// What the kernel uses from ACPI.
#[derive(Debug)]
pub struct AcpiInfo {
    /// Physical address of the local APIC registers.
    pub lapic_base: u64,
    /// Enabled processors, in MADT order (the BSP among them).
    pub processors: Vec<Processor>,
    /// I/O port of the ACPI PM timer (3.579545 MHz), if the FADT has one.
    pub pm_timer_port: Option<u16>,
    /// Whether the PM timer counts 32 bits (else 24).
    pub pm_timer_32bit: bool,
}

/// Reads `len` bytes at physical `addr` after checking they are mapped.
fn bytes(addr: u64, len: usize) -> Result<&'static [u8], AcpiError> {
    if addr == 0 || addr.saturating_add(len as u64) > MAPPED_LIMIT {
        return Err(AcpiError::Unmapped(addr));
    }
    // SAFETY: the range is inside the identity map of the first 4 GiB (checked above), which
    // is always readable; ACPI tables are firmware data the kernel never writes, so a shared
    // 'static view of them is never aliased by a mutable one.
    Ok(unsafe { core::slice::from_raw_parts(addr as usize as *const u8, len) })
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from(u32_at(b, off)) | (u64::from(u32_at(b, off + 4)) << 32)
}

fn checksum_ok(b: &[u8]) -> bool {
    b.iter().fold(0u8, |a, &x| a.wrapping_add(x)) == 0
}

/// A whole system description table (header + body), checksum-verified.
fn table(addr: u64) -> Result<&'static [u8], AcpiError> {
    let header = bytes(addr, 36)?;
    let len = u32_at(header, 4) as usize;
    if len < 36 {
        return Err(AcpiError::BadSignature(addr));
    }
    let all = bytes(addr, len)?;
    if !checksum_ok(all) {
        return Err(AcpiError::BadChecksum(addr));
    }
    Ok(all)
}

/// Parses the tables reachable from the RSDP at `rsdp`.
pub fn parse(rsdp: u64) -> Result<AcpiInfo, AcpiError> {
    if rsdp == 0 {
        return Err(AcpiError::NoRsdp);
    }
    let r = bytes(rsdp, 20)?;
    if &r[..8] != b"RSD PTR " {
        return Err(AcpiError::BadSignature(rsdp));
    }
    if !checksum_ok(r) {
        return Err(AcpiError::BadChecksum(rsdp));
    }
    let revision = r[15];
    let (sdt, entry_size) = if revision >= 2 {
        let r2 = bytes(rsdp, 36)?;
        let xsdt = u64_at(r2, 24);
        if xsdt != 0 {
            (xsdt, 8)
        } else {
            (u64::from(u32_at(r, 16)), 4)
        }
    } else {
        (u64::from(u32_at(r, 16)), 4)
    };
    let sdt = table(sdt)?;
    let mut madt = None;
    let mut fadt = None;
    for entry in sdt[36..].chunks_exact(entry_size) {
        let addr = if entry_size == 8 {
            u64_at(entry, 0)
        } else {
            u64::from(u32_at(entry, 0))
        };
        let t = table(addr)?;
        match &t[..4] {
            b"APIC" => madt = Some(t),
            b"FACP" => fadt = Some(t),
            _ => {}
        }
    }
    let madt = madt.ok_or(AcpiError::NoMadt)?;
    let mut info = AcpiInfo {
        lapic_base: u64::from(u32_at(madt, 36)),
        processors: Vec::new(),
        pm_timer_port: None,
        pm_timer_32bit: false,
    };
    let mut at = 44;
    while at + 2 <= madt.len() {
        let (kind, len) = (madt[at], usize::from(madt[at + 1]));
        if len < 2 || at + len > madt.len() {
            break;
        }
        let e = &madt[at..at + len];
        match kind {
            // Processor Local APIC: uid u8, apic id u8, flags u32 (bit 0 enabled).
            0 if len >= 8 && u32_at(e, 4) & 1 != 0 => info.processors.push(Processor {
                apic_id: u32::from(e[3]),
                uid: u32::from(e[2]),
            }),
            // Local APIC address override.
            5 if len >= 12 => info.lapic_base = u64_at(e, 4),
            // Processor Local x2APIC: apic id u32, flags u32, uid u32.
            9 if len >= 16 && u32_at(e, 8) & 1 != 0 => info.processors.push(Processor {
                apic_id: u32_at(e, 4),
                uid: u32_at(e, 12),
            }),
            _ => {}
        }
        at += len;
    }
    if let Some(f) = fadt
        && f.len() >= 116
    {
        let port = u32_at(f, 76);
        if port != 0 && port <= 0xffff {
            info.pm_timer_port = Some(port as u16);
            info.pm_timer_32bit = u32_at(f, 112) & (1 << 8) != 0;
        }
    }
    Ok(info)
}
