//! IVRS: one type 11h IVHD per AMD IOMMU with its EFR image, a device range covering its
//! root complex's buses, and the IOAPIC special device on the IVHD covering segment 0.

use acpi_spec::ivrs::*;
use acpi_spec::SdtHeader;
use acpi_spec::Table;
use zerocopy::IntoBytes;

/// The IOAPIC as an IVHD special device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IvrsIoapic {
    /// MADT IOAPIC id.
    pub id: u8,
    /// Requester id its interrupts carry.
    pub source_id: u16,
}

/// One AMD IOMMU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvhdDescription {
    /// Its own requester id.
    pub device_id: u16,
    /// Capability offset in its configuration space.
    pub capability_offset: u16,
    /// MMIO base.
    pub base: u64,
    /// Segment.
    pub segment: u16,
    /// EFR image.
    pub efr: u64,
    /// Buses it covers (first, last).
    pub buses: (u8, u8),
    /// The IOAPIC, on the IVHD covering segment 0.
    pub ioapic: Option<IvrsIoapic>,
}

/// Builds the IVRS table.
pub fn build(units: &[IvhdDescription]) -> Vec<u8> {
    let mut t = Table::new(SdtHeader::new(b"IVRS", IVRS_REVISION));
    // Physical address size 48 bits, virtual 64, guest virtual 48 (code 2), EFRSup.
    let iv_info = IVINFO_EFR_SUP | (48 << 8) | (64 << 15) | (2 << 5);
    t.push(&IvrsBody {
        iv_info,
        reserved: 0,
    });
    for u in units {
        let mut entries = Vec::new();
        entries.extend_from_slice(
            IvhdDeviceEntry {
                typ: IVHD_DEV_RANGE_START,
                device_id: (u.buses.0 as u16) << 8,
                dte_setting: 0,
            }
            .as_bytes(),
        );
        entries.extend_from_slice(
            IvhdDeviceEntry {
                typ: IVHD_DEV_RANGE_END,
                device_id: (u.buses.1 as u16) << 8 | 0xff,
                dte_setting: 0,
            }
            .as_bytes(),
        );
        if let Some(ioapic) = u.ioapic {
            entries.extend_from_slice(
                IvhdSpecialEntry {
                    typ: IVHD_DEV_SPECIAL,
                    reserved: 0,
                    dte_setting: 0,
                    handle: ioapic.id,
                    source_id: ioapic.source_id,
                    variety: IVHD_SPECIAL_IOAPIC,
                }
                .as_bytes(),
            );
        }
        t.push(&Ivhd11 {
            typ: IVHD_TYPE_11,
            // Coherent, IOTLB not supported, isochronous off, PassPW/ResPassPW/PPRSup 0.
            flags: 1 << 5,
            length: (size_of::<Ivhd11>() + entries.len()) as u16,
            device_id: u.device_id,
            capability_offset: u.capability_offset,
            base_address: u.base,
            segment: u.segment,
            iommu_info: 0,
            iommu_attributes: 0,
            efr_image: u.efr,
            reserved: 0,
        });
        t.extend(&entries);
    }
    t.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_iasl() {
        let bytes = build(&[IvhdDescription {
            device_id: 0x0002,
            capability_offset: 0x40,
            base: 0xfed8_0000,
            segment: 0,
            efr: 0x8c4,
            buses: (0, 63),
            ioapic: Some(IvrsIoapic {
                id: 0,
                source_id: 0x00a0,
            }),
        }]);
        assert_eq!(bytes.len(), 36 + 12 + 40 + 8 + 8);
        assert_eq!(bytes[48], IVHD_TYPE_11);
        assert_eq!(bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)), 0);
        super::super::tests::assert_iasl_clean("IVRS", &bytes);
    }
}
