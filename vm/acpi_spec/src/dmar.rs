//! DMA Remapping Reporting table (Intel VT-d Architecture Specification rev 4.x,
//! chapter 8), signature "DMAR".

use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;
use zerocopy::Unaligned;

/// DMAR revision.
pub const DMAR_REVISION: u8 = 1;
/// DMAR flags: interrupt remapping supported (§8.1).
pub const DMAR_INTR_REMAP: u8 = 1 << 0;
/// DMAR flags: platform requests x2APIC opt-out.
pub const DMAR_X2APIC_OPT_OUT: u8 = 1 << 1;
/// DMAR flags: DMA control platform opt-in.
pub const DMAR_DMA_CTRL_PLATFORM_OPT_IN: u8 = 1 << 2;

/// Remapping structure type: DMA remapping hardware unit definition (§8.3).
pub const DMAR_TYPE_DRHD: u16 = 0;
/// DRHD flags: the unit covers every device of its segment not in another scope.
pub const DRHD_INCLUDE_PCI_ALL: u8 = 1 << 0;

/// Device scope type: PCI endpoint (§8.3.1).
pub const SCOPE_PCI_ENDPOINT: u8 = 1;
/// Device scope type: PCI sub-hierarchy (a bridge and everything below it).
pub const SCOPE_PCI_SUB_HIERARCHY: u8 = 2;
/// Device scope type: IOAPIC.
pub const SCOPE_IOAPIC: u8 = 3;

/// The fixed part after the header (§8.1).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmarBody {
    /// Host address width minus one.
    pub host_address_width: u8,
    /// Flags ([`DMAR_INTR_REMAP`], ...).
    pub flags: u8,
    /// Reserved.
    pub reserved: [u8; 10],
}

/// DRHD header (§8.3); device scopes follow.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmarDrhd {
    /// [`DMAR_TYPE_DRHD`].
    pub typ: u16,
    /// Length including device scopes.
    pub length: u16,
    /// Flags ([`DRHD_INCLUDE_PCI_ALL`]).
    pub flags: u8,
    /// Register set size: 2^N 4 KiB pages.
    pub size: u8,
    /// PCI segment.
    pub segment: u16,
    /// Register base address.
    pub base_address: u64,
}

/// Device scope header (§8.3.1); (device, function) path entries follow.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct DmarDeviceScope {
    /// Scope type ([`SCOPE_PCI_SUB_HIERARCHY`], ...).
    pub typ: u8,
    /// Length including the path.
    pub length: u8,
    /// Flags (reserved before rev 3.0).
    pub flags: u8,
    /// Reserved.
    pub reserved: u8,
    /// Enumeration id (the IOAPIC id for IOAPIC scopes).
    pub enumeration_id: u8,
    /// Start bus number of the path.
    pub start_bus: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size_of::<DmarBody>(), 12);
        assert_eq!(size_of::<DmarDrhd>(), 16);
        assert_eq!(size_of::<DmarDeviceScope>(), 6);
    }
}
