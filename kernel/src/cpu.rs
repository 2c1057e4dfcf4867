//! CPU identification and time stamps: CPUID, hypervisor detection, `rdtsc`.

use core::arch::x86_64::{__cpuid_count, _rdtsc, CpuidResult};

/// Executes CPUID for `leaf`/`subleaf`.
pub fn cpuid(leaf: u32, subleaf: u32) -> CpuidResult {
    __cpuid_count(leaf, subleaf)
}

/// Reads the time-stamp counter (under TCG it ticks, but is not a hardware cycle count).
#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` is available on every x86_64 CPU and only reads a counter.
    unsafe { _rdtsc() }
}

/// What runs this kernel, from CPUID.1:ECX.hypervisor and the signature at leaf 0x40000000.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// No hypervisor bit: real hardware.
    BareMetal,
    /// QEMU's TCG binary translator (signature `TCGTCGTCGTCG`): timings are emulated-CPU figures.
    QemuTcg,
    /// KVM (signature `KVMKVMKVM`).
    Kvm,
    /// Another hypervisor, with its 12-byte signature.
    OtherHypervisor([u8; 12]),
}

impl Platform {
    /// Detects the platform.
    pub fn detect() -> Self {
        if cpuid(1, 0).ecx & (1 << 31) == 0 {
            return Self::BareMetal;
        }
        let r = cpuid(0x4000_0000, 0);
        let mut sig = [0u8; 12];
        sig[..4].copy_from_slice(&r.ebx.to_le_bytes());
        sig[4..8].copy_from_slice(&r.ecx.to_le_bytes());
        sig[8..].copy_from_slice(&r.edx.to_le_bytes());
        match &sig {
            b"TCGTCGTCGTCG" => Self::QemuTcg,
            b"KVMKVMKVM\0\0\0" => Self::Kvm,
            _ => Self::OtherHypervisor(sig),
        }
    }

    /// Label for timing diagnostics.
    pub fn timing_label(self) -> &'static str {
        match self {
            Self::BareMetal => "hardware figures",
            Self::QemuTcg => "emulated CPU (TCG) figures",
            Self::Kvm => "virtualised CPU (KVM) figures",
            Self::OtherHypervisor(_) => "virtualised CPU figures",
        }
    }

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Self::BareMetal => "bare metal",
            Self::QemuTcg => "qemu-tcg",
            Self::Kvm => "kvm",
            Self::OtherHypervisor(_) => "other hypervisor",
        }
    }
}

/// The CPU brand string (CPUID 0x80000002..4), trimmed; empty if unsupported.
pub fn brand(buf: &mut [u8; 48]) -> &str {
    if cpuid(0x8000_0000, 0).eax < 0x8000_0004 {
        return "";
    }
    for (i, leaf) in (0x8000_0002u32..=0x8000_0004).enumerate() {
        let r = cpuid(leaf, 0);
        for (j, reg) in [r.eax, r.ebx, r.ecx, r.edx].into_iter().enumerate() {
            let at = i * 16 + j * 4;
            buf[at..at + 4].copy_from_slice(&reg.to_le_bytes());
        }
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(48);
    core::str::from_utf8(&buf[..end]).unwrap_or("").trim()
}

/// Whether the CPU has AVX state enabled by the boot stub (CPUID AVX and OSXSAVE set).
pub fn avx_enabled() -> bool {
    let ecx = cpuid(1, 0).ecx;
    ecx & (1 << 28) != 0 && ecx & (1 << 27) != 0
}
