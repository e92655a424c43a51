//! I/O Virtualization Reporting Structure (AMD IOMMU specification #48882, section
//! 5.2), signature "IVRS".

use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;
use zerocopy::Unaligned;

/// IVRS revision 2 (IVHD types 10h, 11h and 40h).
pub const IVRS_REVISION: u8 = 2;
/// IVinfo: EFR image present in type 11h/40h IVHDs (§5.2.1).
pub const IVINFO_EFR_SUP: u32 = 1 << 0;
/// IVHD type 11h (§5.2.2.2): fixed IVHD with the EFR image.
pub const IVHD_TYPE_11: u8 = 0x11;

/// Device entry: select all devices (§5.2.2.3, type 1).
pub const IVHD_DEV_ALL: u8 = 0x01;
/// Device entry: start of a range.
pub const IVHD_DEV_RANGE_START: u8 = 0x03;
/// Device entry: end of a range.
pub const IVHD_DEV_RANGE_END: u8 = 0x04;
/// Device entry: special device (IOAPIC, HPET), 8 bytes.
pub const IVHD_DEV_SPECIAL: u8 = 0x48;
/// Special device variety: IOAPIC.
pub const IVHD_SPECIAL_IOAPIC: u8 = 1;

/// The fixed part after the header.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct IvrsBody {
    /// IVinfo: address sizes, EFRSup.
    pub iv_info: u32,
    /// Reserved.
    pub reserved: u64,
}

/// IVHD type 11h header (40 bytes); device entries follow.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Ivhd11 {
    /// [`IVHD_TYPE_11`].
    pub typ: u8,
    /// Flags (coherent, IOTLB, isochronous, ...).
    pub flags: u8,
    /// Length including device entries.
    pub length: u16,
    /// The IOMMU's own PCI requester id.
    pub device_id: u16,
    /// Offset of its capability block in its configuration space.
    pub capability_offset: u16,
    /// MMIO base.
    pub base_address: u64,
    /// PCI segment.
    pub segment: u16,
    /// IOMMU info: MSI number and unit id.
    pub iommu_info: u16,
    /// IOMMU attributes (feature hints for type 11h).
    pub iommu_attributes: u32,
    /// Image of the extended feature register.
    pub efr_image: u64,
    /// Reserved.
    pub reserved: u64,
}

/// A 4-byte device entry.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct IvhdDeviceEntry {
    /// Entry type.
    pub typ: u8,
    /// Requester id.
    pub device_id: u16,
    /// DTE settings.
    pub dte_setting: u8,
}

/// An 8-byte special-device entry (type 48h).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct IvhdSpecialEntry {
    /// [`IVHD_DEV_SPECIAL`].
    pub typ: u8,
    /// Reserved.
    pub reserved: u16,
    /// DTE settings.
    pub dte_setting: u8,
    /// Handle: the IOAPIC id (MADT) or HPET number.
    pub handle: u8,
    /// Requester id its interrupts carry.
    pub source_id: u16,
    /// Variety ([`IVHD_SPECIAL_IOAPIC`]).
    pub variety: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size_of::<IvrsBody>(), 12);
        assert_eq!(size_of::<Ivhd11>(), 40);
        assert_eq!(size_of::<IvhdDeviceEntry>(), 4);
        assert_eq!(size_of::<IvhdSpecialEntry>(), 8);
    }
}
