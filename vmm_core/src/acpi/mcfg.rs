//! MCFG: one ECAM allocation per PCI Express root complex.

use super::AcpiPlatform;
use acpi_spec::mcfg::McfgAllocation;
use acpi_spec::mcfg::MCFG_REVISION;
use acpi_spec::SdtHeader;
use acpi_spec::Table;

pub(super) fn build(p: &AcpiPlatform) -> Vec<u8> {
    let mut t = Table::new(SdtHeader::new(b"MCFG", MCFG_REVISION));
    t.push(&[0u8; 8]);
    for root in &p.pci_roots {
        t.push(&McfgAllocation {
            // The table gives the address bus 0 would have.
            base_address: root.ecam_base - ((root.start_bus as u64) << 20),
            segment: root.segment,
            start_bus: root.start_bus,
            end_bus: root.end_bus,
            reserved: 0,
        });
    }
    t.finish()
}
