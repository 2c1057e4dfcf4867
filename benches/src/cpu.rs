//! The CPU the benchmarks ran on, read from CPUID: vendor, brand string, family, model and
//! stepping, and whether it is a Zen 3 core (the only CPU the SIMD floors are judged on).

use std::fmt;

/// What CPUID says about the processor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuId {
    /// The vendor string of leaf 0, e.g. `AuthenticAMD` or `GenuineIntel`.
    pub vendor: String,
    /// The brand string of leaves 0x8000_0002..=0x8000_0004, trimmed.
    pub brand: String,
    /// The display family (base family plus extended family when the base is 0xF).
    pub family: u32,
    /// The display model (extended model in bits 7:4 when the base family is 6 or 0xF).
    pub model: u32,
    /// The stepping.
    pub stepping: u32,
}

/// Display family, model and stepping from the EAX of CPUID leaf 1, decoded as the AMD and
/// Intel manuals define them.
pub fn decode_signature(eax: u32) -> (u32, u32, u32) {
    let stepping = eax & 0xF;
    let base_model = (eax >> 4) & 0xF;
    let base_family = (eax >> 8) & 0xF;
    let ext_model = (eax >> 16) & 0xF;
    let ext_family = (eax >> 20) & 0xFF;
    let family = if base_family == 0xF {
        base_family + ext_family
    } else {
        base_family
    };
    let model = if base_family == 0x6 || base_family == 0xF {
        (ext_model << 4) | base_model
    } else {
        base_model
    };
    (family, model, stepping)
}

/// The Zen 3 cores by family-25 (19h) model number, from Linux 6.12
/// (`arch/x86/kernel/cpu/amd.c`, which marks models 0x00–0x0F and 0x20–0x5F of family 19h as
/// Zen 3, and `drivers/hwmon/k10temp.c`, which names them). Only models known to ship are
/// listed, so an unknown model is never judged against the Zen 3 floors:
///
/// | models | code name | parts |
/// |---|---|---|
/// | 0x00–0x01 | Milan | EPYC 7003 (and Milan-X) |
/// | 0x08 | Chagall | Threadripper PRO 5000WX |
/// | 0x21 | Vermeer | Ryzen 5000 desktop |
/// | 0x44 | Rembrandt | Ryzen 6000 mobile (Zen 3+, the same core) |
/// | 0x50–0x5F | Cezanne | Ryzen 5000 APUs (Green Sardine, Barceló) |
///
/// Family 25 models 0x10–0x1F and 0x60 and up are Zen 4.
pub const ZEN3_MODELS: [(u32, u32, &str); 5] = [
    (0x00, 0x01, "Milan"),
    (0x08, 0x08, "Chagall"),
    (0x21, 0x21, "Vermeer"),
    (0x44, 0x44, "Rembrandt"),
    (0x50, 0x5F, "Cezanne"),
];

/// The Zen 3 code name of an AMD family-25 model in [`ZEN3_MODELS`], `None` for any other CPU.
pub fn zen3_code_name(vendor: &str, family: u32, model: u32) -> Option<&'static str> {
    if vendor != "AuthenticAMD" || family != 25 {
        return None;
    }
    ZEN3_MODELS
        .iter()
        .find(|&&(lo, hi, _)| (lo..=hi).contains(&model))
        .map(|&(_, _, name)| name)
}

impl CpuId {
    /// Reads CPUID on the current CPU (`None` off x86_64).
    pub fn current() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::__cpuid;
            let leaf0 = __cpuid(0);
            let vendor: Vec<u8> = [leaf0.ebx, leaf0.edx, leaf0.ecx]
                .iter()
                .flat_map(|r| r.to_le_bytes())
                .collect();
            let (family, model, stepping) = decode_signature(__cpuid(1).eax);
            let brand = if __cpuid(0x8000_0000).eax >= 0x8000_0004 {
                let bytes: Vec<u8> = (0x8000_0002..=0x8000_0004u32)
                    .flat_map(|leaf| {
                        let r = __cpuid(leaf);
                        [r.eax, r.ebx, r.ecx, r.edx]
                    })
                    .flat_map(u32::to_le_bytes)
                    .take_while(|&b| b != 0)
                    .collect();
                String::from_utf8_lossy(&bytes).trim().to_owned()
            } else {
                String::new()
            };
            Some(Self {
                vendor: String::from_utf8_lossy(&vendor).into_owned(),
                brand,
                family,
                model,
                stepping,
            })
        }
        #[cfg(not(target_arch = "x86_64"))]
        None
    }

    /// The Zen 3 code name of this CPU, if it is a Zen 3 (see [`zen3_code_name`]).
    pub fn zen3(&self) -> Option<&'static str> {
        zen3_code_name(&self.vendor, self.family, self.model)
    }
}

impl fmt::Display for CpuId {
    /// `brand (vendor family F model M stepping S)`, plus the Zen 3 code name when it is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} family {} model {} (0x{:02x}) stepping {}",
            if self.brand.is_empty() {
                "unknown CPU"
            } else {
                &self.brand
            },
            self.vendor,
            self.family,
            self.model,
            self.model,
            self.stepping
        )?;
        match self.zen3() {
            Some(name) => write!(f, ", Zen 3 {name})"),
            None => write!(f, ")"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_decode_as_the_manuals_say() {
        // EPYC 7763 (Milan B1): family 19h model 01h stepping 1.
        assert_eq!(decode_signature(0x00A0_0F11), (25, 1, 1));
        // Ryzen 5950X (Vermeer): family 19h model 21h stepping 0.
        assert_eq!(decode_signature(0x00A2_0F10), (25, 0x21, 0));
        // Ryzen 5800H (Cezanne): family 19h model 50h stepping 0.
        assert_eq!(decode_signature(0x00A5_0F00), (25, 0x50, 0));
        // Intel family 6 model 0xA7 (Rocket Lake) stepping 1.
        assert_eq!(decode_signature(0x000A_0671), (6, 0xA7, 1));
        // A base family below 6 ignores the extended fields.
        assert_eq!(decode_signature(0x00FF_0543), (5, 4, 3));
    }

    #[test]
    fn zen3_is_family_25_amd_with_a_listed_model() {
        let amd = "AuthenticAMD";
        assert_eq!(zen3_code_name(amd, 25, 0x01), Some("Milan"));
        assert_eq!(zen3_code_name(amd, 25, 0x21), Some("Vermeer"));
        assert_eq!(zen3_code_name(amd, 25, 0x50), Some("Cezanne"));
        assert_eq!(zen3_code_name(amd, 25, 0x5F), Some("Cezanne"));
        // Zen 4 (Genoa 0x11, Raphael 0x61), Zen 2 (family 23), Intel, and unlisted models.
        assert_eq!(zen3_code_name(amd, 25, 0x11), None);
        assert_eq!(zen3_code_name(amd, 25, 0x61), None);
        assert_eq!(zen3_code_name(amd, 25, 0x30), None);
        assert_eq!(zen3_code_name(amd, 23, 0x31), None);
        assert_eq!(zen3_code_name("GenuineIntel", 25, 0x01), None);
    }

    #[test]
    fn display_names_the_zen3_core() {
        let cpu = CpuId {
            vendor: "AuthenticAMD".into(),
            brand: "AMD EPYC 7763 64-Core Processor".into(),
            family: 25,
            model: 1,
            stepping: 1,
        };
        assert_eq!(
            cpu.to_string(),
            "AMD EPYC 7763 64-Core Processor (AuthenticAMD family 25 model 1 (0x01) stepping 1, Zen 3 Milan)"
        );
    }
}
