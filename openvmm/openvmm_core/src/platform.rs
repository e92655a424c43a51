//! The fixed platform every VM gets: where the chipset devices live and the ACPI
//! description of them, derived from the configuration (one source of truth).

use crate::config::VmConfig;
use crate::topology::Topology;
use vmm_core::acpi;
use vmm_core::acpi::AcpiPlatform;
use vmm_core::acpi::PciRootDescription;
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
            .map(|rc| PciRootDescription {
                segment: rc.spec.segment,
                start_bus: rc.spec.start_bus,
                end_bus: rc.spec.end_bus,
                ecam_base: rc.ecam_base,
                low_mmio: rc.low_mmio,
                high_mmio: rc.high_mmio,
            })
            .collect(),
        extra_tables: Vec::new(),
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
