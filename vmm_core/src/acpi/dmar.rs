//! DMAR: one DRHD per VT-d unit, scoped to the root ports of the root complex it
//! covers, with the IOAPIC in the scope of the unit covering segment 0.

use acpi_spec::dmar::*;
use acpi_spec::SdtHeader;
use acpi_spec::Table;
use zerocopy::IntoBytes;

/// A device scope entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmarScope {
    /// A bridge and everything below it (a root port).
    SubHierarchy {
        /// Bus of the bridge.
        bus: u8,
        /// Device and function of the bridge.
        path: (u8, u8),
    },
    /// The IOAPIC with MADT id `id`, whose interrupts carry source id `bus:path`.
    Ioapic {
        /// IOAPIC id.
        id: u8,
        /// Source-id bus.
        bus: u8,
        /// Source-id device and function.
        path: (u8, u8),
    },
}

/// A VT-d unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrhdDescription {
    /// PCI segment it covers.
    pub segment: u16,
    /// Register base.
    pub base: u64,
    /// Its scopes.
    pub scopes: Vec<DmarScope>,
}

/// The DMAR table contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarDescription {
    /// Host (guest-physical) address width in bits.
    pub host_address_width: u8,
    /// Interrupt remapping supported.
    pub intr_remap: bool,
    /// The units.
    pub units: Vec<DrhdDescription>,
}

fn scope_bytes(scope: &DmarScope) -> Vec<u8> {
    let (typ, id, bus, path) = match *scope {
        DmarScope::SubHierarchy { bus, path } => (SCOPE_PCI_SUB_HIERARCHY, 0, bus, path),
        DmarScope::Ioapic { id, bus, path } => (SCOPE_IOAPIC, id, bus, path),
    };
    let header = DmarDeviceScope {
        typ,
        length: (size_of::<DmarDeviceScope>() + 2) as u8,
        flags: 0,
        reserved: 0,
        enumeration_id: id,
        start_bus: bus,
    };
    let mut v = header.as_bytes().to_vec();
    v.extend_from_slice(&[path.0, path.1]);
    v
}

/// Builds the DMAR table.
pub fn build(d: &DmarDescription) -> Vec<u8> {
    let mut t = Table::new(SdtHeader::new(b"DMAR", DMAR_REVISION));
    t.push(&DmarBody {
        host_address_width: d.host_address_width - 1,
        // x2APIC opt-out clear: the guest may use x2APIC with interrupt remapping.
        flags: if d.intr_remap { DMAR_INTR_REMAP } else { 0 },
        reserved: [0; 10],
    });
    for unit in &d.units {
        let scopes: Vec<u8> = unit.scopes.iter().flat_map(scope_bytes).collect();
        t.push(&DmarDrhd {
            typ: DMAR_TYPE_DRHD,
            length: (size_of::<DmarDrhd>() + scopes.len()) as u16,
            flags: 0,
            size: 0,
            segment: unit.segment,
            base_address: unit.base,
        });
        t.extend(&scopes);
    }
    t.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_iasl() {
        let d = DmarDescription {
            host_address_width: 39,
            intr_remap: true,
            units: vec![
                DrhdDescription {
                    segment: 0,
                    base: 0xfed9_0000,
                    scopes: vec![
                        DmarScope::SubHierarchy {
                            bus: 0,
                            path: (1, 0),
                        },
                        DmarScope::Ioapic {
                            id: 0,
                            bus: 0,
                            path: (0x14, 0),
                        },
                    ],
                },
                DrhdDescription {
                    segment: 1,
                    base: 0xfed9_1000,
                    scopes: vec![DmarScope::SubHierarchy {
                        bus: 0,
                        path: (1, 0),
                    }],
                },
            ],
        };
        let bytes = build(&d);
        assert_eq!(bytes[36], 38);
        assert_eq!(bytes[37], DMAR_INTR_REMAP);
        assert_eq!(u16::from_le_bytes([bytes[50], bytes[51]]), 16 + 8 + 8);
        assert_eq!(bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)), 0);
        super::super::tests::assert_iasl_clean("DMAR", &bytes);
    }
}
