//! Parsers for the PCI Express topology flags. Each error is one line naming the forms
//! the flag accepts (clap prefixes the flag itself).

use crate::cli::parse_size;
use openvmm_core::topology::DeviceSpec;
use openvmm_core::topology::EndpointSpec;
use openvmm_core::topology::IommuKind;
use openvmm_core::topology::IommuSpec;
use openvmm_core::topology::RootComplexSpec;
use openvmm_core::topology::RootPortSpec;

const RC_FORMS: &str =
    "expected NAME[,segment=N][,start_bus=N][,end_bus=N][,low_mmio=SIZE][,high_mmio=SIZE]";
const PORT_FORMS: &str = "expected RC:NAME[,acs=MASK] (MASK a number such as 0x5f)";
const DISK_FORMS: &str = "expected file=PATH[,pcie_port=NAME][,ro]";
const DMA_FORMS: &str = "expected pcie_port=NAME or auto";
const AMD_FORMS: &str = "expected RC[,intremap=on|off][,xtsup=on|off]";
const VTD_FORMS: &str =
    "expected RC[,intremap=on|off][,eim=on|off][,aw-bits=39|48][,dma-translation=on|off]";
const SMMU_FORMS: &str = "expected rc=RC[,oas=N]";

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn parse_number<T: TryFrom<u64>>(s: &str) -> Option<T> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => s.parse().ok()?,
    };
    T::try_from(v).ok()
}

/// `--pcie-root-complex`.
pub fn parse_root_complex(s: &str) -> Result<RootComplexSpec, String> {
    let mut parts = s.split(',');
    let name = parts.next().filter(|n| is_name(n)).ok_or(RC_FORMS)?;
    let mut rc = RootComplexSpec::new(name, 0);
    for opt in parts {
        let (k, v) = opt.split_once('=').ok_or(RC_FORMS)?;
        match k {
            "segment" => rc.segment = parse_number(v).ok_or(RC_FORMS)?,
            "start_bus" => rc.start_bus = parse_number(v).ok_or(RC_FORMS)?,
            "end_bus" => rc.end_bus = parse_number(v).ok_or(RC_FORMS)?,
            "low_mmio" => rc.low_mmio = parse_size(v).ok_or(RC_FORMS)?,
            "high_mmio" => rc.high_mmio = parse_size(v).ok_or(RC_FORMS)?,
            _ => return Err(RC_FORMS.into()),
        }
    }
    Ok(rc)
}

/// `--pcie-root-port`.
pub fn parse_root_port(s: &str) -> Result<RootPortSpec, String> {
    let mut parts = s.split(',');
    let (rc, name) = parts
        .next()
        .and_then(|p| p.split_once(':'))
        .filter(|(rc, name)| is_name(rc) && is_name(name))
        .ok_or(PORT_FORMS)?;
    let mut port = RootPortSpec {
        root_complex: rc.into(),
        name: name.into(),
        acs: pci_core_acs_default(),
    };
    for opt in parts {
        match opt.split_once('=') {
            Some(("acs", v)) => {
                port.acs = parse_number::<u16>(v)
                    .filter(|m| *m <= 0x7f)
                    .ok_or(PORT_FORMS)?
            }
            _ => return Err(PORT_FORMS.into()),
        }
    }
    Ok(port)
}

fn pci_core_acs_default() -> u16 {
    openvmm_core::topology::DEFAULT_ACS
}

/// `--disk`.
pub fn parse_disk(s: &str) -> Result<DeviceSpec, String> {
    let mut path = None;
    let mut port = None;
    let mut read_only = false;
    for opt in s.split(',') {
        match opt.split_once('=') {
            Some(("file", p)) if !p.is_empty() => path = Some(p.into()),
            Some(("pcie_port", p)) if is_name(p) => port = Some(p.to_string()),
            None if opt == "ro" => read_only = true,
            _ => return Err(DISK_FORMS.into()),
        }
    }
    Ok(DeviceSpec {
        port,
        endpoint: EndpointSpec::Disk {
            path: path.ok_or(DISK_FORMS)?,
            read_only,
        },
    })
}

/// `--dma-test`.
pub fn parse_dma_test(s: &str) -> Result<DeviceSpec, String> {
    let port = match s.split_once('=') {
        None if s == "auto" => None,
        Some(("pcie_port", p)) if is_name(p) => Some(p.to_string()),
        _ => return Err(DMA_FORMS.into()),
    };
    Ok(DeviceSpec {
        port,
        endpoint: EndpointSpec::DmaTest,
    })
}

fn on_off(v: &str) -> Option<bool> {
    match v {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

/// `--amd-iommu`.
pub fn parse_amd_iommu(s: &str) -> Result<IommuSpec, String> {
    let mut parts = s.split(',');
    let rc = parts.next().filter(|n| is_name(n)).ok_or(AMD_FORMS)?;
    let (mut intremap, mut xtsup) = (true, true);
    for opt in parts {
        match opt.split_once('=') {
            Some(("intremap", v)) => intremap = on_off(v).ok_or(AMD_FORMS)?,
            Some(("xtsup", v)) => xtsup = on_off(v).ok_or(AMD_FORMS)?,
            _ => return Err(AMD_FORMS.into()),
        }
    }
    Ok(IommuSpec {
        root_complex: rc.into(),
        kind: IommuKind::Amd { intremap, xtsup },
    })
}

/// `--intel-vtd`.
pub fn parse_intel_vtd(s: &str) -> Result<IommuSpec, String> {
    let mut parts = s.split(',');
    let rc = parts.next().filter(|n| is_name(n)).ok_or(VTD_FORMS)?;
    let (mut intremap, mut eim, mut aw_bits, mut dma_translation) = (true, true, 48, true);
    for opt in parts {
        match opt.split_once('=') {
            Some(("intremap", v)) => intremap = on_off(v).ok_or(VTD_FORMS)?,
            Some(("eim", v)) => eim = on_off(v).ok_or(VTD_FORMS)?,
            Some(("aw-bits", "39")) => aw_bits = 39,
            Some(("aw-bits", "48")) => aw_bits = 48,
            Some(("dma-translation", v)) => dma_translation = on_off(v).ok_or(VTD_FORMS)?,
            _ => return Err(VTD_FORMS.into()),
        }
    }
    if eim && !intremap {
        return Err("eim=on needs intremap=on (x2APIC destinations are reached through interrupt remapping)".into());
    }
    Ok(IommuSpec {
        root_complex: rc.into(),
        kind: IommuKind::IntelVtd {
            intremap,
            eim,
            aw_bits,
            dma_translation,
        },
    })
}

/// What `--smmu` asked for (validated, then refused on this host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmmuArg {
    /// Root complex.
    pub rc: String,
    /// Output address size.
    pub oas: Option<u8>,
}

/// `--smmu`.
pub fn parse_smmu(s: &str) -> Result<SmmuArg, String> {
    let mut rc = None;
    let mut oas = None;
    for opt in s.split(',') {
        match opt.split_once('=') {
            Some(("rc", v)) if is_name(v) => rc = Some(v.to_string()),
            Some(("oas", v)) => {
                oas = Some(
                    parse_number::<u8>(v)
                        .filter(|n| [32, 36, 40, 42, 44, 48, 52].contains(n))
                        .ok_or("expected rc=RC[,oas=N] with N one of 32, 36, 40, 42, 44, 48, 52")?,
                )
            }
            _ => return Err(SMMU_FORMS.into()),
        }
    }
    Ok(SmmuArg {
        rc: rc.ok_or(SMMU_FORMS)?,
        oas,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_complex() {
        let rc = parse_root_complex(
            "rc1,segment=1,start_bus=0x10,end_bus=31,low_mmio=128M,high_mmio=32G",
        )
        .unwrap();
        assert_eq!((rc.segment, rc.start_bus, rc.end_bus), (1, 16, 31));
        assert_eq!((rc.low_mmio, rc.high_mmio), (128 << 20, 32 << 30));
        for bad in ["", "rc1,segment", "rc1,segment=70000", "rc1,foo=1", "r c"] {
            assert!(parse_root_complex(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn root_port() {
        let p = parse_root_port("rc0:rp7,acs=0x1f").unwrap();
        assert_eq!(
            (p.root_complex.as_str(), p.name.as_str(), p.acs),
            ("rc0", "rp7", 0x1f)
        );
        for bad in ["rp7", "rc0:", "rc0:rp,acs=0x100", "rc0:rp,x=1"] {
            assert!(parse_root_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn disk_and_dma() {
        let d = parse_disk("file=/x.img,pcie_port=rp1,ro").unwrap();
        assert_eq!(d.port.as_deref(), Some("rp1"));
        assert!(matches!(
            d.endpoint,
            EndpointSpec::Disk {
                read_only: true,
                ..
            }
        ));
        assert!(parse_disk("pcie_port=rp1").is_err());
        assert!(parse_disk("file=").is_err());
        assert!(parse_dma_test("auto").unwrap().port.is_none());
        assert!(parse_dma_test("pcie_port=rp0").is_ok());
        assert!(parse_dma_test("rp0").is_err());
    }

    #[test]
    fn iommus() {
        let a = parse_amd_iommu("rc0,xtsup=off").unwrap();
        assert_eq!(
            a.kind,
            IommuKind::Amd {
                intremap: true,
                xtsup: false
            }
        );
        assert!(parse_amd_iommu("rc0,intremap=maybe").is_err());
        let v = parse_intel_vtd("rc1,aw-bits=39,eim=off").unwrap();
        assert!(matches!(
            v.kind,
            IommuKind::IntelVtd {
                aw_bits: 39,
                eim: false,
                ..
            }
        ));
        assert!(parse_intel_vtd("rc1,aw-bits=40").is_err());
        assert!(parse_intel_vtd("rc1,intremap=off").is_err());
        assert!(parse_intel_vtd("rc1,intremap=off,eim=off").is_ok());
    }

    #[test]
    fn smmu() {
        assert_eq!(
            parse_smmu("rc=rc0,oas=48").unwrap(),
            SmmuArg {
                rc: "rc0".into(),
                oas: Some(48)
            }
        );
        assert!(parse_smmu("oas=48").is_err());
        assert!(parse_smmu("rc=rc0,oas=47").is_err());
    }
}
