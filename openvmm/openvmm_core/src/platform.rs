//! The fixed platform every VM gets: where the chipset devices live and the ACPI
//! description of them, derived from the configuration (one source of truth).

use crate::config::VmConfig;
use crate::topology::IommuKind;
use crate::topology::PlacedRootComplex;
use crate::topology::Topology;
use vmm_core::acpi;
use vmm_core::acpi::dmar::DmarDescription;
use vmm_core::acpi::dmar::DmarScope;
use vmm_core::acpi::dmar::DrhdDescription;
use vmm_core::acpi::ivrs::IvhdDescription;
use vmm_core::acpi::ivrs::IvrsIoapic;
use vmm_core::acpi::AcpiPlatform;
use vmm_core::acpi::SerialDescription;
use vmm_core::chipset::cmos;
use vmm_core::chipset::power;
use vmm_core::chipset::serial;
use vmm_core::layout;

/// The requester id the IOAPIC's interrupts carry (00:14.0, what Linux's AMD-Vi driver
/// expects of an IVRS IOAPIC special device; VT-d scopes name it the same way).
pub const IOAPIC_REQUESTER: iommu_common::RequesterId = iommu_common::RequesterId::new(0, 0x00a0);

/// IOAPIC id in the MADT.
pub const IOAPIC_ID: u8 = 0;

/// The platform the ACPI tables describe for `config` with its placed `topology`.
pub fn acpi_platform(config: &VmConfig, topology: &Topology) -> AcpiPlatform {
    AcpiPlatform {
        apic_ids: config.apic_ids(),
        ioapic_id: IOAPIC_ID,
        ioapic_address: layout::IOAPIC_BASE as u32,
        serial_ports: vec![
            SerialDescription {
                io_base: serial::COM1_BASE,
                irq: serial::COM1_IRQ,
            },
            SerialDescription {
                io_base: serial::COM2_BASE,
                irq: serial::COM2_IRQ,
            },
        ],
        rtc_io_base: cmos::CMOS_BASE,
        rtc_irq: cmos::CMOS_IRQ,
        sleep_port: power::SLEEP_PORT,
        reset_port: power::RESET_PORT,
        reset_value: power::RESET_VALUE,
        s5_slp_typ: power::S5_SLP_TYP,
        pci_roots: topology
            .root_complexes
            .iter()
            .map(PlacedRootComplex::config)
            .collect(),
        extra_tables: iommu_tables(topology),
    }
}

/// The ACPI tables `config` gives the guest, at their guest addresses.
pub fn acpi_tables(config: &VmConfig) -> anyhow::Result<acpi::AcpiTables> {
    let topology = config.topology.place(config.memory)?;
    Ok(tables_for(config, &topology))
}

/// The ACPI tables for `config` with its already placed `topology`.
pub fn tables_for(config: &VmConfig, topology: &Topology) -> acpi::AcpiTables {
    acpi::build(&acpi_platform(config, topology), layout::ACPI_START)
}

/// Where the AMD IOMMU function sits on its root complex's first bus (00:00.2, as on
/// AMD platforms).
pub const AMD_IOMMU_DEVFN: u8 = 0x02;

/// The AMD IOMMU configuration of a placed root complex.
pub fn amd_iommu_config(rc: &PlacedRootComplex) -> Option<amd_iommu::AmdIommuConfig> {
    match rc.iommu {
        Some((IommuKind::Amd { intremap, xtsup }, _)) => Some(amd_iommu::AmdIommuConfig {
            intremap,
            xtsup,
            segment: rc.spec.segment,
            iommu_bdf: (rc.spec.start_bus as u16) << 8 | AMD_IOMMU_DEVFN as u16,
        }),
        _ => None,
    }
}

/// Whether `rc` holds the IOAPIC's source id (segment 0, bus 0).
pub fn covers_ioapic(rc: &PlacedRootComplex) -> bool {
    rc.spec.segment == IOAPIC_REQUESTER.segment && rc.spec.start_bus == 0
}

/// DMAR or IVRS for the IOMMUs in `topology`.
fn iommu_tables(topology: &Topology) -> Vec<Vec<u8>> {
    let mut tables = Vec::new();
    let ioapic_bus = (IOAPIC_REQUESTER.bdf >> 8) as u8;
    let ioapic_path = (
        ((IOAPIC_REQUESTER.bdf >> 3) & 0x1f) as u8,
        (IOAPIC_REQUESTER.bdf & 7) as u8,
    );

    let ivhds: Vec<_> = topology
        .root_complexes
        .iter()
        .filter_map(|rc| {
            let config = amd_iommu_config(rc)?;
            Some(IvhdDescription {
                device_id: config.iommu_bdf,
                capability_offset: amd_iommu::pci_function::CAP_OFFSET,
                base: rc.iommu?.1,
                segment: rc.spec.segment,
                efr: config.efr(),
                buses: (rc.spec.start_bus, rc.spec.end_bus),
                // Linux remaps interrupts only when every IOAPIC is an IVHD special
                // device; without interrupt remapping the IOAPIC is left out, so the
                // guest programs it (and MSIs) the ordinary way.
                ioapic: (covers_ioapic(rc) && config.intremap).then_some(IvrsIoapic {
                    id: IOAPIC_ID,
                    source_id: IOAPIC_REQUESTER.bdf,
                }),
            })
        })
        .collect();
    if !ivhds.is_empty() {
        tables.push(vmm_core::acpi::ivrs::build(&ivhds));
    }

    let mut haw = 0;
    let mut intr_remap = false;
    let mut units = Vec::new();
    for rc in &topology.root_complexes {
        let Some((
            IommuKind::IntelVtd {
                intremap, aw_bits, ..
            },
            base,
        )) = rc.iommu
        else {
            continue;
        };
        haw = haw.max(aw_bits);
        intr_remap |= intremap;
        let mut scopes: Vec<_> = (0..rc.ports.len())
            .map(|i| DmarScope::SubHierarchy {
                bus: rc.spec.start_bus,
                path: (pci_core::root_complex::root_port_device(i), 0),
            })
            .collect();
        if covers_ioapic(rc) {
            scopes.push(DmarScope::Ioapic {
                id: IOAPIC_ID,
                bus: ioapic_bus,
                path: ioapic_path,
            });
        }
        units.push(DrhdDescription {
            segment: rc.spec.segment,
            base,
            scopes,
        });
    }
    if !units.is_empty() {
        tables.push(vmm_core::acpi::dmar::build(&DmarDescription {
            host_address_width: haw,
            intr_remap,
            units,
        }));
    }
    tables
}

/// Register base of the first SMMUv3 in an aarch64 layout (128 KiB: two 64 KiB pages).
pub const SMMU_BASE: u64 = 0x0900_0000;

/// The IORT an aarch64 guest of this topology would get with SMMUv3s covering the
/// root complexes named in `smmu_rcs`: built from the same placed topology the wiring
/// and the other tables use. (This x86 VMM refuses `--smmu`; the description is what
/// the SMMU crate's tests and `--dump-acpi` on an aarch64 port start from.)
pub fn iort_description(topology: &Topology, smmu_rcs: &[&str]) -> smmu::iort::IortDesc {
    let mut desc = smmu::iort::IortDesc {
        its_ids: vec![0],
        ..Default::default()
    };
    for rc in &topology.root_complexes {
        let smmu = smmu_rcs.contains(&rc.spec.name.as_str()).then(|| {
            desc.smmus.push(smmu::iort::IortSmmu {
                base: SMMU_BASE + desc.smmus.len() as u64 * 0x2_0000,
                irqs: smmu::iort::SmmuIrqs::Msi {
                    device_id: 0xffff_0000 + desc.smmus.len() as u32,
                },
            });
            desc.smmus.len() - 1
        });
        desc.root_complexes.push(smmu::iort::IortRootComplex {
            segment: rc.spec.segment,
            bus_start: rc.spec.start_bus,
            bus_end: rc.spec.end_bus,
            smmu,
        });
    }
    desc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::RootComplexSpec;
    use crate::topology::TopologySpec;

    #[test]
    fn iort_follows_the_placed_topology() {
        let topology = TopologySpec {
            root_complexes: vec![
                RootComplexSpec::new("rc0", 0),
                RootComplexSpec::new("rc1", 1),
            ],
            ..Default::default()
        }
        .place(1 << 30)
        .unwrap();
        let desc = iort_description(&topology, &["rc1"]);
        assert_eq!(desc.smmus.len(), 1);
        assert_eq!(desc.root_complexes[0].smmu, None);
        assert_eq!(desc.root_complexes[1].smmu, Some(0));
        assert_eq!(desc.root_complexes[1].segment, 1);
        let bytes = smmu::iort::build_iort(&desc).unwrap();
        assert_eq!(&bytes[..4], b"IORT");
        assert_eq!(bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)), 0);
    }
}
