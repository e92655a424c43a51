//! The PCI Express topology: root complexes, their root ports and the device on each,
//! as configured, then placed (ECAM and MMIO windows) once. Wiring and the ACPI builder
//! both read the placed topology, so the tables and the devices can never disagree.

use std::collections::BTreeSet;
use std::path::PathBuf;
use vmm_core::layout;

/// Register base of the first AMD IOMMU (16 KiB each).
pub const AMD_IOMMU_BASE: u64 = 0xFED8_0000;
const AMD_IOMMU_STRIDE: u64 = 0x4000;
const AMD_IOMMU_MAX: usize = 4;
/// Register base of the first VT-d unit (4 KiB each).
pub const VTD_BASE: u64 = 0xFED9_0000;
const VTD_STRIDE: u64 = 0x1000;
const VTD_MAX: usize = 16;

/// ACS capabilities a root port advertises unless told otherwise.
pub const DEFAULT_ACS: u16 = pci_core::spec::ACS_DEFAULT;

/// A root complex as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootComplexSpec {
    /// Name.
    pub name: String,
    /// PCI segment.
    pub segment: u16,
    /// First bus.
    pub start_bus: u8,
    /// Last bus.
    pub end_bus: u8,
    /// Size of its 32-bit MMIO window.
    pub low_mmio: u64,
    /// Size of its 64-bit MMIO window.
    pub high_mmio: u64,
}

impl RootComplexSpec {
    /// A root complex with the default bus range and windows.
    pub fn new(name: &str, segment: u16) -> Self {
        Self {
            name: name.into(),
            segment,
            start_bus: 0,
            end_bus: 63,
            low_mmio: 64 << 20,
            high_mmio: 16 << 30,
        }
    }
}

/// A root port as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootPortSpec {
    /// Root complex it belongs to.
    pub root_complex: String,
    /// Port name.
    pub name: String,
    /// ACS capabilities advertised.
    pub acs: u16,
}

/// What sits behind a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointSpec {
    /// A virtio-blk disk backed by a raw file.
    Disk {
        /// Backing file.
        path: PathBuf,
        /// Read-only.
        read_only: bool,
    },
    /// The DMA test device.
    DmaTest,
}

/// A device and the port it goes on (`None`: a new port on the first root complex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    /// Port name.
    pub port: Option<String>,
    /// The device.
    pub endpoint: EndpointSpec,
}

/// Which emulated IOMMU covers a root complex, and how it is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IommuKind {
    /// AMD-Vi (a PCI function on the root complex, IVRS).
    Amd {
        /// Interrupt remapping.
        intremap: bool,
        /// x2APIC destinations (XTSup).
        xtsup: bool,
    },
    /// Intel VT-d (an MMIO unit, DMAR).
    IntelVtd {
        /// Interrupt remapping.
        intremap: bool,
        /// Extended interrupt mode (x2APIC).
        eim: bool,
        /// Guest address width: 39 or 48.
        aw_bits: u8,
        /// DMA translation advertised.
        dma_translation: bool,
    },
}

impl IommuKind {
    fn flag(&self) -> &'static str {
        match self {
            IommuKind::Amd { .. } => "--amd-iommu",
            IommuKind::IntelVtd { .. } => "--intel-vtd",
        }
    }
}

/// An IOMMU covering a root complex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IommuSpec {
    /// The root complex it covers.
    pub root_complex: String,
    /// Kind and options.
    pub kind: IommuKind,
}

/// The topology as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopologySpec {
    /// Root complexes (empty: the default `rc0`).
    pub root_complexes: Vec<RootComplexSpec>,
    /// Root ports.
    pub root_ports: Vec<RootPortSpec>,
    /// Devices.
    pub devices: Vec<DeviceSpec>,
    /// IOMMUs, at most one per root complex.
    pub iommus: Vec<IommuSpec>,
}

/// A placed root complex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedRootComplex {
    /// As configured.
    pub spec: RootComplexSpec,
    /// ECAM base of `start_bus`.
    pub ecam_base: u64,
    /// 32-bit window.
    pub low_mmio: (u64, u64),
    /// 64-bit window.
    pub high_mmio: (u64, u64),
    /// Its ports, in device-number order (see `pci_core::root_complex::root_port_device`).
    pub ports: Vec<RootPortSpec>,
    /// The IOMMU covering it, with its register base.
    pub iommu: Option<(IommuKind, u64)>,
}

/// A device with its resolved port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedDevice {
    /// Root complex name.
    pub root_complex: String,
    /// Port name.
    pub port: String,
    /// The device.
    pub endpoint: EndpointSpec,
}

/// The placed topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Root complexes.
    pub root_complexes: Vec<PlacedRootComplex>,
    /// Devices.
    pub devices: Vec<PlacedDevice>,
}

/// A configuration the topology cannot be built from. Each names the flag at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TopologyError {
    /// Two root complexes share a name.
    #[error("--pcie-root-complex: duplicate name {0}")]
    DuplicateRootComplex(String),
    /// Bus range inverted.
    #[error("--pcie-root-complex {0}: start_bus must not exceed end_bus")]
    BadBusRange(String),
    /// Same segment and overlapping buses.
    #[error("--pcie-root-complex {0}: segment {1} buses overlap root complex {2}")]
    Overlap(String, u16, String),
    /// The ECAM windows do not fit.
    #[error("--pcie-root-complex: the bus ranges need {0} MiB of ECAM; at most 256 MiB fit")]
    EcamFull(u64),
    /// The 32-bit windows do not fit.
    #[error(
        "--pcie-root-complex: the low_mmio windows need {0} MiB; at most 512 MiB fit below 4 GiB"
    )]
    LowMmioFull(u64),
    /// A window size is not a multiple of 1 MiB or zero.
    #[error("--pcie-root-complex {0}: low_mmio and high_mmio must be non-zero multiples of 1M")]
    BadWindow(String),
    /// A port names an unknown root complex.
    #[error("--pcie-root-port {0}: no root complex named {1}")]
    UnknownRootComplex(String, String),
    /// Two ports share a name.
    #[error("--pcie-root-port: duplicate port name {0}")]
    DuplicatePort(String),
    /// Too many ports on one root complex.
    #[error("--pcie-root-port: root complex {0} has more than 30 root ports")]
    TooManyPorts(String),
    /// An IOMMU names an unknown root complex.
    #[error("{0}: no root complex named {1}")]
    IommuUnknownRootComplex(&'static str, String),
    /// Two IOMMUs on one root complex.
    #[error("{0}: root complex {1} already has an IOMMU (one of --amd-iommu or --intel-vtd per root complex)")]
    IommuTwice(&'static str, String),
    /// AMD-Vi and VT-d in one VM.
    #[error("--amd-iommu and --intel-vtd cannot be combined in one VM (a guest runs one x86 IOMMU driver)")]
    MixedIommus,
    /// Too many IOMMUs of a kind.
    #[error("{0}: at most {1} units")]
    TooManyIommus(&'static str, usize),
    /// A device names an unknown port.
    #[error("{0}: no root port named {1}")]
    UnknownPort(&'static str, String),
    /// Two devices on one port.
    #[error("{0}: root port {1} already has a device")]
    PortInUse(&'static str, String),
}

fn flag_of(e: &EndpointSpec) -> &'static str {
    match e {
        EndpointSpec::Disk { .. } => "--disk",
        EndpointSpec::DmaTest => "--dma-test",
    }
}

impl TopologySpec {
    /// Validates and places the topology for a guest with `memory_size` bytes of RAM.
    pub fn place(&self, memory_size: u64) -> Result<Topology, TopologyError> {
        let mut rcs = self.root_complexes.clone();
        if rcs.is_empty() {
            rcs.push(RootComplexSpec::new("rc0", 0));
        }
        let mut names = BTreeSet::new();
        for (i, rc) in rcs.iter().enumerate() {
            if !names.insert(rc.name.as_str()) {
                return Err(TopologyError::DuplicateRootComplex(rc.name.clone()));
            }
            if rc.start_bus > rc.end_bus {
                return Err(TopologyError::BadBusRange(rc.name.clone()));
            }
            if rc.low_mmio == 0
                || rc.high_mmio == 0
                || rc.low_mmio % (1 << 20) != 0
                || rc.high_mmio % (1 << 20) != 0
            {
                return Err(TopologyError::BadWindow(rc.name.clone()));
            }
            for other in &rcs[..i] {
                if other.segment == rc.segment
                    && other.start_bus <= rc.end_bus
                    && rc.start_bus <= other.end_bus
                {
                    return Err(TopologyError::Overlap(
                        rc.name.clone(),
                        rc.segment,
                        other.name.clone(),
                    ));
                }
            }
        }

        let mut ports: Vec<RootPortSpec> = Vec::new();
        for p in &self.root_ports {
            if !rcs.iter().any(|rc| rc.name == p.root_complex) {
                return Err(TopologyError::UnknownRootComplex(
                    p.name.clone(),
                    p.root_complex.clone(),
                ));
            }
            if ports.iter().any(|q| q.name == p.name) {
                return Err(TopologyError::DuplicatePort(p.name.clone()));
            }
            ports.push(p.clone());
        }

        let mut devices = Vec::new();
        let mut used = BTreeSet::new();
        let mut auto = 0;
        for d in &self.devices {
            let flag = flag_of(&d.endpoint);
            let port = match &d.port {
                Some(name) => {
                    if !ports.iter().any(|p| &p.name == name) {
                        return Err(TopologyError::UnknownPort(flag, name.clone()));
                    }
                    name.clone()
                }
                None => {
                    let name = loop {
                        let candidate = format!("rp{auto}");
                        auto += 1;
                        if !ports.iter().any(|p| p.name == candidate) {
                            break candidate;
                        }
                    };
                    ports.push(RootPortSpec {
                        root_complex: rcs[0].name.clone(),
                        name: name.clone(),
                        acs: pci_core::spec::ACS_DEFAULT,
                    });
                    name
                }
            };
            if !used.insert(port.clone()) {
                return Err(TopologyError::PortInUse(flag, port));
            }
            let root_complex = ports
                .iter()
                .find(|p| p.name == port)
                .map(|p| p.root_complex.clone())
                .expect("port exists");
            devices.push(PlacedDevice {
                root_complex,
                port,
                endpoint: d.endpoint.clone(),
            });
        }

        let mut iommus: Vec<&IommuSpec> = Vec::new();
        for iommu in &self.iommus {
            let flag = iommu.kind.flag();
            if !rcs.iter().any(|rc| rc.name == iommu.root_complex) {
                return Err(TopologyError::IommuUnknownRootComplex(
                    flag,
                    iommu.root_complex.clone(),
                ));
            }
            if iommus.iter().any(|i| i.root_complex == iommu.root_complex) {
                return Err(TopologyError::IommuTwice(flag, iommu.root_complex.clone()));
            }
            if iommus
                .iter()
                .any(|i| std::mem::discriminant(&i.kind) != std::mem::discriminant(&iommu.kind))
            {
                return Err(TopologyError::MixedIommus);
            }
            iommus.push(iommu);
        }
        let amd_count = iommus
            .iter()
            .filter(|i| matches!(i.kind, IommuKind::Amd { .. }))
            .count();
        if amd_count > AMD_IOMMU_MAX {
            return Err(TopologyError::TooManyIommus("--amd-iommu", AMD_IOMMU_MAX));
        }
        if iommus.len() - amd_count > VTD_MAX {
            return Err(TopologyError::TooManyIommus("--intel-vtd", VTD_MAX));
        }

        let ecam_total: u64 = rcs
            .iter()
            .map(|rc| (rc.end_bus as u64 - rc.start_bus as u64 + 1) << 20)
            .sum();
        if ecam_total > layout::ECAM_END - layout::ECAM_START {
            return Err(TopologyError::EcamFull(ecam_total >> 20));
        }
        let low_total: u64 = rcs.iter().map(|rc| rc.low_mmio).sum();
        if low_total > layout::PCI_LOW_MMIO_END - layout::PCI_LOW_MMIO_START {
            return Err(TopologyError::LowMmioFull(low_total >> 20));
        }

        let mut ecam = layout::ECAM_START;
        let mut low = layout::PCI_LOW_MMIO_START;
        let mut high = layout::pci_high_mmio_start(memory_size);
        let mut placed = Vec::new();
        let (mut amd_index, mut vtd_index) = (0, 0);
        for rc in rcs {
            let iommu = iommus
                .iter()
                .find(|i| i.root_complex == rc.name)
                .map(|i| match i.kind {
                    IommuKind::Amd { .. } => {
                        amd_index += 1;
                        (i.kind, AMD_IOMMU_BASE + (amd_index - 1) * AMD_IOMMU_STRIDE)
                    }
                    IommuKind::IntelVtd { .. } => {
                        vtd_index += 1;
                        (i.kind, VTD_BASE + (vtd_index - 1) * VTD_STRIDE)
                    }
                });
            let rc_ports: Vec<_> = ports
                .iter()
                .filter(|p| p.root_complex == rc.name)
                .cloned()
                .collect();
            if rc_ports.len() > pci_core::root_complex::MAX_ROOT_PORTS {
                return Err(TopologyError::TooManyPorts(rc.name));
            }
            let ecam_size = (rc.end_bus as u64 - rc.start_bus as u64 + 1) << 20;
            let p = PlacedRootComplex {
                ecam_base: ecam,
                low_mmio: (low, rc.low_mmio),
                high_mmio: (high, rc.high_mmio),
                ports: rc_ports,
                iommu,
                spec: rc,
            };
            ecam += ecam_size;
            low += p.spec.low_mmio;
            high = (high + p.spec.high_mmio).next_multiple_of(1 << 30);
            placed.push(p);
        }
        Ok(Topology {
            root_complexes: placed,
            devices,
        })
    }
}

impl PlacedRootComplex {
    /// The root complex's placement, as both the device model and ACPI take it.
    pub fn config(&self) -> pci_core::RootComplexConfig {
        pci_core::RootComplexConfig {
            name: self.spec.name.clone(),
            segment: self.spec.segment,
            start_bus: self.spec.start_bus,
            end_bus: self.spec.end_bus,
            ecam_base: self.ecam_base,
            low_mmio: self.low_mmio,
            high_mmio: self.high_mmio,
        }
    }
}

impl Topology {
    /// ECAM windows, for the memory map's reserved ranges.
    pub fn ecam_ranges(&self) -> Vec<(u64, u64)> {
        self.root_complexes
            .iter()
            .map(|rc| (rc.ecam_base, rc.config().ecam_size()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(port: Option<&str>) -> DeviceSpec {
        DeviceSpec {
            port: port.map(Into::into),
            endpoint: EndpointSpec::Disk {
                path: "/d".into(),
                read_only: false,
            },
        }
    }

    fn port(rc: &str, name: &str) -> RootPortSpec {
        RootPortSpec {
            root_complex: rc.into(),
            name: name.into(),
            acs: pci_core::spec::ACS_DEFAULT,
        }
    }

    #[test]
    fn default_root_complex_and_auto_ports() {
        let t = TopologySpec {
            devices: vec![
                disk(None),
                DeviceSpec {
                    port: None,
                    endpoint: EndpointSpec::DmaTest,
                },
            ],
            ..Default::default()
        }
        .place(1 << 30)
        .unwrap();
        assert_eq!(t.root_complexes.len(), 1);
        let rc = &t.root_complexes[0];
        assert_eq!(rc.spec.name, "rc0");
        assert_eq!(rc.ecam_base, layout::ECAM_START);
        assert_eq!(rc.ports.len(), 2);
        assert_eq!(t.devices[1].port, "rp1");
    }

    #[test]
    fn two_segments_are_placed_apart() {
        let t = TopologySpec {
            root_complexes: vec![RootComplexSpec::new("a", 0), RootComplexSpec::new("b", 1)],
            root_ports: vec![port("a", "pa"), port("b", "pb")],
            devices: vec![disk(Some("pa")), disk(Some("pb"))],
            iommus: vec![IommuSpec {
                root_complex: "b".into(),
                kind: IommuKind::Amd {
                    intremap: true,
                    xtsup: true,
                },
            }],
        }
        .place(1 << 30)
        .unwrap();
        let (a, b) = (&t.root_complexes[0], &t.root_complexes[1]);
        assert_eq!(b.ecam_base, a.ecam_base + (64 << 20));
        assert_eq!(b.low_mmio.0, a.low_mmio.0 + a.low_mmio.1);
        assert!(b.high_mmio.0 >= a.high_mmio.0 + a.high_mmio.1);
        assert_eq!(t.devices[1].root_complex, "b");
        assert_eq!(a.iommu, None);
        assert_eq!(b.iommu.unwrap().1, AMD_IOMMU_BASE);
    }

    #[test]
    fn errors_name_the_flag() {
        let bad = |spec: TopologySpec| spec.place(1 << 30).unwrap_err().to_string();
        let rc = |n: &str, seg| RootComplexSpec::new(n, seg);
        assert!(bad(TopologySpec {
            root_complexes: vec![rc("a", 0), rc("a", 1)],
            ..Default::default()
        })
        .starts_with("--pcie-root-complex"));
        assert!(bad(TopologySpec {
            root_complexes: vec![rc("a", 0), rc("b", 0)],
            ..Default::default()
        })
        .contains("overlap"));
        assert!(bad(TopologySpec {
            root_ports: vec![port("nope", "p")],
            ..Default::default()
        })
        .starts_with("--pcie-root-port"));
        assert!(bad(TopologySpec {
            devices: vec![disk(Some("zz"))],
            ..Default::default()
        })
        .starts_with("--disk"));
        assert!(bad(TopologySpec {
            root_ports: vec![port("rc0", "p")],
            devices: vec![
                disk(Some("p")),
                DeviceSpec {
                    port: Some("p".into()),
                    endpoint: EndpointSpec::DmaTest
                }
            ],
            ..Default::default()
        })
        .starts_with("--dma-test"));
        let amd = |rc: &str| IommuSpec {
            root_complex: rc.into(),
            kind: IommuKind::Amd {
                intremap: true,
                xtsup: false,
            },
        };
        let vtd = |rc: &str| IommuSpec {
            root_complex: rc.into(),
            kind: IommuKind::IntelVtd {
                intremap: true,
                eim: true,
                aw_bits: 48,
                dma_translation: true,
            },
        };
        assert!(bad(TopologySpec {
            iommus: vec![amd("nope")],
            ..Default::default()
        })
        .starts_with("--amd-iommu"));
        assert!(bad(TopologySpec {
            iommus: vec![amd("rc0"), vtd("rc0")],
            ..Default::default()
        })
        .starts_with("--intel-vtd: root complex rc0 already"));
        assert!(bad(TopologySpec {
            root_complexes: vec![rc("a", 0), rc("b", 1)],
            iommus: vec![amd("a"), vtd("b")],
            ..Default::default()
        })
        .contains("cannot be combined"));
        let mut big = rc("a", 0);
        big.end_bus = 255;
        assert!(bad(TopologySpec {
            root_complexes: vec![big, rc("b", 1)],
            ..Default::default()
        })
        .contains("ECAM"));
    }
}
